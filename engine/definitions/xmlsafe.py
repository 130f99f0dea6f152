"""Safe handling of untrusted BPMN/DMN XML: this module owns turning uploaded definition bytes
into an lxml tree without letting the XML reach the file system, the network or unbounded
memory (size limit, no DOCTYPE/DTD/entities, hardened parser), and checking BPMN documents
against the OMG BPMN 2.0 XSD that SpiffWorkflow ships. Every refusal is a `DefinitionInvalid`
carrying `Problem`s that point at the file, the line and, where known, the BPMN element id."""
from __future__ import annotations

import copy
import io
import re
import threading
from pathlib import Path
from typing import Callable

from lxml import etree

import SpiffWorkflow.bpmn.parser as _spiff_bpmn_parser

from engine.core.errors import DefinitionInvalid, Problem

MAX_DEFINITION_BYTES: int = 5 * 1024 * 1024

_BPMN_MODEL_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
# The namespaces SpiffWorkflow's DMN parser has schemas for (DMN 1.1, 1.2, 1.3).
_DMN_NAMESPACES = frozenset({
    "http://www.omg.org/spec/DMN/20151101/dmn.xsd",
    "http://www.omg.org/spec/DMN/20180521/MODEL/",
    "https://www.omg.org/spec/DMN/20191111/MODEL/",
})

_DOCTYPE_MESSAGE = "DOCTYPE declarations are not allowed (XML entities can read files or exhaust memory)"
_MAX_SCHEMA_PROBLEMS = 50

_BPMN_XSD_PATH = Path(_spiff_bpmn_parser.__file__).resolve().parent / "schema" / "BPMN20.xsd"

# Prefixes people know from the modelers, used to shorten lxml's "{namespace}name" in messages
# regardless of which prefix the uploaded file happened to declare.
_WELL_KNOWN_PREFIXES = {
    _BPMN_MODEL_NS: "bpmn",
    "http://www.omg.org/spec/BPMN/20100524/DI": "bpmndi",
    "http://www.omg.org/spec/DD/20100524/DC": "dc",
    "http://www.omg.org/spec/DD/20100524/DI": "di",
    "http://camunda.org/schema/1.0/bpmn": "camunda",
    "http://www.w3.org/2001/XMLSchema": "xsd",
    "http://www.w3.org/2001/XMLSchema-instance": "xsi",
}

_schema: etree.XMLSchema | None = None
_schema_load_lock = threading.Lock()
# An XMLSchema object keeps one error_log that every validate() call resets and fills, so
# concurrent validations through the shared schema would read each other's errors.
_schema_validate_lock = threading.Lock()


def _problem(filename: str, message: str, line: int | None = None,
             element_id: str | None = None) -> Problem:
    return Problem(file=filename, message=message, line=line or None, element_id=element_id)


def _refuse(filename: str, message: str, line: int | None = None) -> DefinitionInvalid:
    return DefinitionInvalid([_problem(filename, message, line)])


def _hardened_parser() -> etree.XMLParser:
    # A fresh parser per call: lxml parser objects must not be shared between threads.
    # resolve_entities=False keeps entity references unexpanded, load_dtd=False and
    # no_network=True keep libxml2 from fetching anything, and huge_tree=False leaves libxml2's
    # own depth/size/amplification limits on. The DOCTYPE refusal below is a second line.
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        attribute_defaults=False,
        huge_tree=False,
        remove_comments=False,
        remove_pis=False,
        strip_cdata=False,
        recover=False,
        collect_ids=False,
    )


def _prolog_text(data: bytes) -> str | bytes:
    """The document as something `_declares_doctype` can scan with ASCII markup. UTF-8 and the
    other ASCII-compatible encodings are scanned as bytes; UTF-16/32 must be decoded first or a
    DOCTYPE would slip past the scan (the parser-level check would still catch it, later)."""
    head = data[:4]
    for bom, codec in ((b"\x00\x00\xfe\xff", "utf-32-be"), (b"\xff\xfe\x00\x00", "utf-32-le"),
                       (b"\xfe\xff", "utf-16-be"), (b"\xff\xfe", "utf-16-le")):
        if head.startswith(bom):
            return data[len(bom):].decode(codec, errors="replace")
    for sniff, codec in ((b"\x00\x00\x00<", "utf-32-be"), (b"<\x00\x00\x00", "utf-32-le"),
                         (b"\x00<\x00?", "utf-16-be"), (b"<\x00?\x00", "utf-16-le")):
        if head == sniff:
            return data.decode(codec, errors="replace")
    return data


def _declares_doctype(data: bytes) -> bool:
    """Whether the prolog holds a DOCTYPE. Only the prolog is scanned: a DOCTYPE can appear
    nowhere else, and scanning the whole file would refuse scripts that mention `<!DOCTYPE`
    inside CDATA. Entity declarations can only live inside a DOCTYPE, so this covers them."""
    text = _prolog_text(data)
    if isinstance(text, bytes):
        pi_open, pi_close, c_open, c_close, doctype, bom = (
            b"<?", b"?>", b"<!--", b"-->", b"<!DOCTYPE", b"\xef\xbb\xbf")
        space = b" \t\r\n"
    else:
        pi_open, pi_close, c_open, c_close, doctype, bom = (
            "<?", "?>", "<!--", "-->", "<!DOCTYPE", "\ufeff")
        space = " \t\r\n"
    pos = len(bom) if text.startswith(bom) else 0
    while True:
        while pos < len(text) and text[pos:pos + 1] in space:
            pos += 1
        if text.startswith(pi_open, pos):
            end, closer = text.find(pi_close, pos + 2), pi_close
        elif text.startswith(c_open, pos):
            end, closer = text.find(c_close, pos + 4), c_close
        else:
            return text.startswith(doctype, pos)
        if end < 0:
            return False  # unterminated: the parser reports it as not well-formed
        pos = end + len(closer)


_POSITION_SUFFIX = re.compile(r", line \d+, column (\d+)$")


def parse_xml(data: bytes, filename: str) -> etree._ElementTree:
    """Parse an untrusted definition file. Raises DefinitionInvalid (one Problem, `file=filename`)
    when the file is too large, declares a DOCTYPE, or is not well-formed XML."""
    # Size first: the cheapest check, and it bounds the cost of everything after it.
    if len(data) > MAX_DEFINITION_BYTES:
        raise _refuse(filename, f"file is {len(data):,} bytes; the limit is {MAX_DEFINITION_BYTES:,}")
    if _declares_doctype(data):
        raise _refuse(filename, _DOCTYPE_MESSAGE)
    try:
        tree = etree.parse(io.BytesIO(data), _hardened_parser())
    except etree.XMLSyntaxError as exc:
        raw = (exc.msg or str(exc)).strip()
        match = _POSITION_SUFFIX.search(raw)
        detail = raw[:match.start()] + f" (column {match.group(1)})" if match else raw
        raise _refuse(filename, f"not well-formed XML: {detail}", exc.lineno) from None
    # Backstop for encodings the prolog scan cannot read: the parser never expanded anything,
    # but a document that declares a DTD is refused all the same.
    if tree.docinfo.internalDTD is not None or tree.docinfo.doctype:
        raise _refuse(filename, _DOCTYPE_MESSAGE)
    return tree


def _root(tree: etree._ElementTree | etree._Element) -> etree._Element:
    return tree.getroot() if isinstance(tree, etree._ElementTree) else tree


def _root_namespace(tree: etree._ElementTree | etree._Element) -> str | None:
    root = _root(tree)
    if not isinstance(root.tag, str):
        return None
    return etree.QName(root).namespace


def is_bpmn(tree: etree._ElementTree | etree._Element) -> bool:
    """Whether the document's root element is in the BPMN 2.0 MODEL namespace."""
    return _root_namespace(tree) == _BPMN_MODEL_NS


def is_dmn(tree: etree._ElementTree | etree._Element) -> bool:
    """Whether the document's root element is in a DMN 1.1, 1.2 or 1.3 namespace."""
    return _root_namespace(tree) in _DMN_NAMESPACES


def _bpmn_schema() -> etree.XMLSchema:
    global _schema
    if _schema is None:
        with _schema_load_lock:
            if _schema is None:
                # The XSD is our own trusted file, and its imports are resolved relative to it.
                _schema = etree.XMLSchema(etree.parse(str(_BPMN_XSD_PATH)))
    return _schema


def _prepared_for_validation(root: etree._Element) -> etree._Element:
    """bpmn-js writes correlation retrieval expressions as `formalExpression`, which the OMG XSD
    calls `messagePath`; SpiffWorkflow's own validator renames them before validating, and so do
    we (on a copy, so the caller's tree stays as uploaded) to agree with what SpiffWorkflow
    accepts."""
    path = ".//bpmn:correlationPropertyRetrievalExpression/bpmn:formalExpression"
    if not root.xpath(path, namespaces={"bpmn": _BPMN_MODEL_NS}):
        return root
    prepared = copy.deepcopy(root)
    for expr in prepared.xpath(path, namespaces={"bpmn": _BPMN_MODEL_NS}):
        expr.tag = f"{{{_BPMN_MODEL_NS}}}messagePath"
    return prepared


def _document_prefixes(root: etree._Element) -> dict[str, str]:
    """prefix -> namespace for every prefix declared anywhere, first declaration winning,
    to evaluate the prefixed paths libxml2 reports in schema errors."""
    prefixes: dict[str, str] = {}
    for el in root.iter(tag=etree.Element):
        for prefix, uri in el.nsmap.items():
            if prefix and prefix not in prefixes:
                prefixes[prefix] = uri
    return prefixes


class _ElementLocator:
    """Finds the element a schema error is about: by the error's path when it resolves
    unambiguously, otherwise by line and tag (several elements can share a line)."""

    def __init__(self, root: etree._Element) -> None:
        self._root = root
        self._prefixes: dict[str, str] | None = None
        self._by_line: dict[int, list[etree._Element]] | None = None

    def find(self, error: etree._LogEntry) -> etree._Element | None:
        found = self._by_path(error.path)
        if found is not None and (not error.line or found.sourceline == error.line):
            return found
        return self._by_line_and_tag(error.line, error.message)

    def _by_path(self, path: str | None) -> etree._Element | None:
        if not path:
            return None
        if self._prefixes is None:
            self._prefixes = _document_prefixes(self._root)
        try:
            hits = self._root.getroottree().xpath(path, namespaces=self._prefixes)
        except (etree.XPathError, ValueError, TypeError):
            return None
        if isinstance(hits, list) and len(hits) == 1 and isinstance(hits[0], etree._Element):
            return hits[0]
        return None

    def _by_line_and_tag(self, line: int, message: str) -> etree._Element | None:
        if not line:
            return None
        if self._by_line is None:
            self._by_line = {}
            for el in self._root.iter(tag=etree.Element):
                self._by_line.setdefault(el.sourceline or 0, []).append(el)
        candidates = self._by_line.get(line, [])
        named = re.match(r"Element '([^']+)'", message)
        if named:
            tagged = [el for el in candidates if el.tag == named.group(1)]
            candidates = tagged or candidates
        return candidates[0] if candidates else None


def _shortener(root: etree._Element) -> Callable[[str], str]:
    """A function replacing lxml's `{namespace}name` with `prefix:name` so messages fit on a
    screen: well-known prefixes first, then whatever prefix the document itself declared."""
    declared = {uri: prefix for prefix, uri in reversed(list(_document_prefixes(root).items()))}

    def prefix_for(uri: str) -> str | None:
        return _WELL_KNOWN_PREFIXES.get(uri) or declared.get(uri)

    def other(match: re.Match[str]) -> str:
        prefix = prefix_for(match.group(1))
        return f"any element outside {prefix}:" if prefix else match.group(0)

    def qualified(match: re.Match[str]) -> str:
        prefix = prefix_for(match.group(1))
        return f"{prefix}:{match.group(2)}" if prefix else match.group(0)

    def shorten(message: str) -> str:
        message = re.sub(r"##other\{([^}]*)\}\*", other, message)
        return re.sub(r"\{([^}]*)\}([\w.\-*]+)", qualified, message).strip()

    return shorten


def bpmn_schema_problems(tree: etree._ElementTree | etree._Element, filename: str) -> list[Problem]:
    """Validate a BPMN document against the OMG BPMN 2.0 XSD. Returns one Problem per schema
    error (line, and the element's id when it has one), at most 50; empty means valid."""
    root = _root(tree)
    if not is_bpmn(root):
        tag = root.tag if isinstance(root.tag, str) else "?"
        return [_problem(filename, f"not a BPMN document: the root element is "
                         f"{_shortener(root)(tag)}, expected bpmn:definitions", root.sourceline)]
    prepared = _prepared_for_validation(root)
    schema = _bpmn_schema()
    with _schema_validate_lock:
        valid = schema.validate(prepared)
        errors = [e for e in schema.error_log if e.level >= etree.ErrorLevels.ERROR]
    if valid:
        return []
    if not errors:
        return [_problem(filename, "does not conform to the BPMN 2.0 schema")]
    locator = _ElementLocator(prepared)
    shorten = _shortener(root)
    shown = errors if len(errors) <= _MAX_SCHEMA_PROBLEMS else errors[:_MAX_SCHEMA_PROBLEMS - 1]
    problems = []
    for error in shown:
        element = locator.find(error)
        element_id = element.get("id") if element is not None else None
        problems.append(_problem(filename, shorten(error.message), error.line, element_id))
    if len(errors) > len(shown):
        problems.append(_problem(
            filename, f"{len(errors) - len(shown)} more schema errors not shown; fix the ones "
                      f"above and validate again"))
    return problems
