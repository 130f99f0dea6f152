"""Specification of engine.xmlsafe: untrusted BPMN/DMN bytes become an lxml tree only when they
are small enough, declare no DOCTYPE and are well-formed; BPMN trees are checked against the
OMG BPMN 2.0 XSD, with problems pointing at a line and an element id."""
from __future__ import annotations

import csv
import threading
import time
from pathlib import Path

import pytest
from lxml import etree

from engine.definitions import xmlsafe
from engine.core.errors import DefinitionInvalid, Problem
from engine.definitions.xmlsafe import MAX_DEFINITION_BYTES, bpmn_schema_problems, is_bpmn, is_dmn, parse_xml

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "bpmn-corpus"

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"

CAMUNDA_BPMN = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI"
    xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
    xmlns:di="http://www.omg.org/spec/DD/20100524/DI"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
    xmlns:modeler="http://camunda.org/schema/modeler/1.0"
    id="Definitions_1" targetNamespace="http://bpmn.io/schema/bpmn"
    exporter="Camunda Modeler" exporterVersion="5.20.0"
    modeler:executionPlatform="Camunda Platform" modeler:executionPlatformVersion="7.20.0">
  <bpmn:process id="Review" name="Review" isExecutable="true" camunda:historyTimeToLive="180">
    <bpmn:startEvent id="Start" camunda:initiator="applicant">
      <bpmn:outgoing>Flow_1</bpmn:outgoing>
    </bpmn:startEvent>
    <bpmn:userTask id="Approve" name="Approve" camunda:assignee="${reviewer}">
      <bpmn:extensionElements>
        <camunda:formData>
          <camunda:formField id="approved" label="Approved?" type="boolean" />
        </camunda:formData>
      </bpmn:extensionElements>
      <bpmn:incoming>Flow_1</bpmn:incoming>
      <bpmn:outgoing>Flow_2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:scriptTask id="Notify" scriptFormat="python">
      <bpmn:incoming>Flow_2</bpmn:incoming>
      <bpmn:outgoing>Flow_3</bpmn:outgoing>
      <bpmn:script><![CDATA[html = "<!DOCTYPE html><p>done</p>"]]></bpmn:script>
    </bpmn:scriptTask>
    <bpmn:endEvent id="End">
      <bpmn:incoming>Flow_3</bpmn:incoming>
    </bpmn:endEvent>
    <bpmn:sequenceFlow id="Flow_1" sourceRef="Start" targetRef="Approve" />
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Approve" targetRef="Notify" />
    <bpmn:sequenceFlow id="Flow_3" sourceRef="Notify" targetRef="End" />
  </bpmn:process>
  <bpmndi:BPMNDiagram id="Diagram_1">
    <bpmndi:BPMNPlane id="Plane_1" bpmnElement="Review">
      <bpmndi:BPMNShape id="Start_di" bpmnElement="Start">
        <dc:Bounds x="152" y="102" width="36" height="36" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNEdge id="Flow_1_di" bpmnElement="Flow_1">
        <di:waypoint x="188" y="120" />
        <di:waypoint x="240" y="120" />
      </bpmndi:BPMNEdge>
    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
</bpmn:definitions>
"""


def _bpmn(process_body: str) -> bytes:
    """A minimal BPMN document whose process holds `process_body`; line 4 is its first line."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<bpmn:definitions xmlns:bpmn="{BPMN_NS}" id="D" targetNamespace="http://example.org">\n'
        '<bpmn:process id="P" isExecutable="true">\n'
        f"{process_body}\n"
        "</bpmn:process>\n"
        "</bpmn:definitions>\n"
    ).encode()


def _refusal(data: bytes, filename: str = "upload.bpmn") -> Problem:
    """The single Problem parse_xml refuses `data` with."""
    with pytest.raises(DefinitionInvalid) as caught:
        parse_xml(data, filename)
    assert len(caught.value.problems) == 1
    problem = caught.value.problems[0]
    assert problem.file == filename
    return problem


# --- parsing ------------------------------------------------------------------------------------

def test_camunda_modeler_bpmn_parses_and_passes_the_omg_schema() -> None:
    # given a typical Camunda Modeler file with camunda: extension attributes and elements
    # when it is parsed and validated
    tree = parse_xml(CAMUNDA_BPMN, "review.bpmn")
    # then it is a BPMN tree with no schema problems, comments and CDATA text intact
    assert isinstance(tree, etree._ElementTree)
    assert is_bpmn(tree) and not is_dmn(tree)
    assert bpmn_schema_problems(tree, "review.bpmn") == []


def test_doctype_mentioned_inside_a_cdata_script_is_not_mistaken_for_a_declaration() -> None:
    # given a script whose text contains "<!DOCTYPE html>" (see CAMUNDA_BPMN)
    # when parsed, then it is accepted and the script text is unchanged
    tree = parse_xml(CAMUNDA_BPMN, "review.bpmn")
    script = tree.find(f".//{{{BPMN_NS}}}script")
    assert script is not None and "<!DOCTYPE html>" in script.text


@pytest.mark.timeout(5)
def test_xxe_reading_etc_passwd_is_refused_without_expansion() -> None:
    # given an external entity pointing at /etc/passwd
    data = (b'<?xml version="1.0"?>\n'
            b'<!DOCTYPE definitions [ <!ENTITY xxe SYSTEM "file:///etc/passwd"> ]>\n'
            b'<definitions xmlns="' + BPMN_NS.encode() + b'">&xxe;</definitions>\n')
    # when parsed, then it is refused for its DOCTYPE and nothing of the file leaks out
    problem = _refusal(data)
    assert "DOCTYPE declarations are not allowed" in problem.message
    assert "root:" not in str(problem)


@pytest.mark.timeout(5)
def test_xxe_in_utf16_is_refused_too() -> None:
    # given the same attack encoded as UTF-16 (a byte scan for "<!DOCTYPE" would miss it)
    text = ('<?xml version="1.0" encoding="UTF-16"?>\n'
            '<!DOCTYPE d [ <!ENTITY xxe SYSTEM "file:///etc/passwd"> ]>\n<d>&xxe;</d>\n')
    # when parsed, then it is refused without expansion
    problem = _refusal(text.encode("utf-16"))
    assert "DOCTYPE declarations are not allowed" in problem.message
    assert "root:" not in str(problem)


@pytest.mark.timeout(5)
def test_external_dtd_reference_is_refused() -> None:
    # given a DOCTYPE naming an external DTD, after a comment in the prolog
    data = b'<?xml version="1.0"?>\n<!-- x -->\n<!DOCTYPE d SYSTEM "file:///etc/passwd">\n<d/>'
    # when parsed, then it is refused
    assert "DOCTYPE declarations are not allowed" in _refusal(data).message


@pytest.mark.timeout(5)
def test_billion_laughs_is_refused_quickly_without_expansion() -> None:
    # given ten levels of entities each referencing the previous ten times (10^9 "lol"s)
    decls = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)]
    data = ('<?xml version="1.0"?>\n<!DOCTYPE lolz [\n' + "\n".join(decls) + "\n]>\n"
            '<lolz a="&lol9;">&lol9;</lolz>\n').encode()
    # when parsed
    started = time.monotonic()
    problem = _refusal(data)
    # then it is refused at once (the bound only guards against a hang) for its DOCTYPE
    assert time.monotonic() - started < 2
    assert "DOCTYPE declarations are not allowed" in problem.message
    assert "lollol" not in problem.message


@pytest.mark.timeout(5)
@pytest.mark.parametrize("attack", [
    b'<!DOCTYPE d [ <!ENTITY xxe SYSTEM "file:///etc/passwd"> ]><d a="&xxe;">&xxe;</d>',
    b'<!DOCTYPE d [ <!ENTITY % p SYSTEM "file:///etc/passwd"> %p; ]><d/>',
    b'<!DOCTYPE d [<!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">'
    + b"".join(b'<!ENTITY %s "%s">' % (bytes([98 + i]), (b"&%s;" % bytes([97 + i])) * 16)
               for i in range(8))
    + b']><d a="&i;">&i;</d>',
], ids=["xxe", "parameter-entity", "billion-laughs"])
def test_parser_alone_never_expands_entities_even_if_the_doctype_scan_missed_them(
        attack: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    # given the cheap prolog scan switched off, leaving only the hardened parser
    monkeypatch.setattr(xmlsafe, "_declares_doctype", lambda data: False)
    # when an entity attack is parsed, then it is still refused, quickly and unexpanded
    started = time.monotonic()
    problem = _refusal(attack)
    assert time.monotonic() - started < 2
    assert "root:" not in problem.message and "aaaa" not in problem.message


@pytest.mark.timeout(5)
def test_file_over_the_size_limit_is_refused_by_size_before_parsing() -> None:
    # given 50 MB (not even XML: it must never reach the parser)
    data = b"\0" * (50 * 1024 * 1024)
    # when parsed, then the message states both sizes
    problem = _refusal(data)
    assert problem.message == "file is 52,428,800 bytes; the limit is 5,242,880"


def test_file_exactly_at_the_size_limit_is_accepted() -> None:
    # given well-formed XML of exactly MAX_DEFINITION_BYTES
    head, tail = b"<d>", b"</d>"
    data = head + b" " * (MAX_DEFINITION_BYTES - len(head) - len(tail)) + tail
    # when parsed, then it is not refused
    assert parse_xml(data, "big.xml").getroot().tag == "d"


def test_malformed_xml_is_refused_with_the_line_of_the_error() -> None:
    # given a tag mismatch on line 4
    data = b'<?xml version="1.0"?>\n<a>\n  <b>\n</a>\n'
    # when parsed, then the problem names the line and says what is wrong
    problem = _refusal(data, "broken.bpmn")
    assert problem.line == 4
    assert problem.message.startswith("not well-formed XML: ")
    assert "mismatch" in problem.message


def test_empty_file_is_refused_as_not_well_formed() -> None:
    assert _refusal(b"").message.startswith("not well-formed XML: ")


# --- schema validation --------------------------------------------------------------------------

def test_sequence_flow_without_source_ref_is_a_schema_problem_with_its_id_and_line() -> None:
    # given a sequenceFlow lacking the required sourceRef, on line 5
    data = _bpmn('<bpmn:startEvent id="S"/>\n<bpmn:sequenceFlow id="Flow_bad" targetRef="S"/>')
    # when validated
    problems = bpmn_schema_problems(parse_xml(data, "p.bpmn"), "p.bpmn")
    # then one problem points at the flow, with a readable message
    assert [(p.file, p.line, p.element_id) for p in problems] == [("p.bpmn", 5, "Flow_bad")]
    assert "sourceRef" in problems[0].message
    assert "bpmn:sequenceFlow" in problems[0].message


def test_unknown_bpmn_element_is_a_schema_problem_with_its_id_and_line() -> None:
    # given an element the BPMN namespace does not define, on line 4
    data = _bpmn('<bpmn:approvalTask id="Mystery"/>')
    # when validated, then the problem names it by prefix, with its id and line
    problems = bpmn_schema_problems(parse_xml(data, "p.bpmn"), "p.bpmn")
    assert len(problems) == 1
    assert (problems[0].line, problems[0].element_id) == (4, "Mystery")
    assert "bpmn:approvalTask" in problems[0].message


def test_schema_messages_use_prefixes_instead_of_namespace_braces() -> None:
    # given a schema error whose lxml message lists many expected BPMN elements
    data = _bpmn('<bpmn:userTask id="T"><bpmn:bogus/></bpmn:userTask>')
    # when validated, then no "{namespace}" survives in any message
    problems = bpmn_schema_problems(parse_xml(data, "p.bpmn"), "p.bpmn")
    assert problems
    assert all("{" not in p.message and BPMN_NS not in p.message for p in problems)


def test_the_right_element_is_named_when_several_share_a_line() -> None:
    # given a minified document: every flow on one line, only the third one broken
    flows = "".join(f'<bpmn:sequenceFlow id="F{i}" sourceRef="S" targetRef="S"/>' for i in (1, 2))
    data = _bpmn('<bpmn:startEvent id="S"/>' + flows + '<bpmn:sequenceFlow id="F3" targetRef="S"/>')
    # when validated, then the problem names F3, not the first flow on that line
    problems = bpmn_schema_problems(parse_xml(data, "p.bpmn"), "p.bpmn")
    assert [p.element_id for p in problems] == ["F3"]


def test_schema_problems_are_capped_at_50() -> None:
    # given 80 broken flows
    data = _bpmn("\n".join(f'<bpmn:sequenceFlow id="F{i}"/>' for i in range(80)))
    # when validated, then at most 50 problems come back, the last saying more were left out
    problems = bpmn_schema_problems(parse_xml(data, "p.bpmn"), "p.bpmn")
    assert len(problems) == 50
    assert "more schema errors not shown" in problems[-1].message


def test_bpmn_js_correlation_formal_expression_is_accepted_and_the_tree_left_as_uploaded() -> None:
    # given bpmn-js's formalExpression where the XSD says messagePath (SpiffWorkflow tolerates it)
    data = (
        '<?xml version="1.0"?>\n'
        f'<bpmn:definitions xmlns:bpmn="{BPMN_NS}" id="D" targetNamespace="http://example.org">\n'
        '<bpmn:message id="M" name="m"/>\n'
        '<bpmn:correlationProperty id="C" name="c">\n'
        '<bpmn:correlationPropertyRetrievalExpression messageRef="M">\n'
        "<bpmn:formalExpression>order_id</bpmn:formalExpression>\n"
        "</bpmn:correlationPropertyRetrievalExpression>\n"
        "</bpmn:correlationProperty>\n"
        "</bpmn:definitions>\n").encode()
    tree = parse_xml(data, "m.bpmn")
    # when validated, then it passes and the caller's tree still says formalExpression
    assert bpmn_schema_problems(tree, "m.bpmn") == []
    assert tree.find(f".//{{{BPMN_NS}}}formalExpression") is not None


def test_a_non_bpmn_document_gets_one_problem_instead_of_schema_noise() -> None:
    problems = bpmn_schema_problems(parse_xml(b"<html><body/></html>", "x.bpmn"), "x.bpmn")
    assert len(problems) == 1 and "not a BPMN document" in problems[0].message


def test_concurrent_validations_do_not_mix_up_their_errors() -> None:
    # given one valid and one invalid document validated from many threads at once
    good = parse_xml(CAMUNDA_BPMN, "good.bpmn")
    bad = parse_xml(_bpmn('<bpmn:sequenceFlow id="Flow_bad" targetRef="x"/>'), "bad.bpmn")
    results: list[tuple[str, list[Problem]]] = []

    def validate(tree: etree._ElementTree, name: str) -> None:
        for _ in range(20):
            results.append((name, bpmn_schema_problems(tree, name)))

    threads = [threading.Thread(target=validate, args=(t, n))
               for t, n in [(good, "good.bpmn"), (bad, "bad.bpmn")] * 4]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then each result belongs to its own document
    assert len(results) == 160
    for name, problems in results:
        if name == "good.bpmn":
            assert problems == []
        else:
            assert [p.element_id for p in problems] == ["Flow_bad"]


# --- document kind ------------------------------------------------------------------------------

@pytest.mark.parametrize("namespace", [
    "http://www.omg.org/spec/DMN/20151101/dmn.xsd",
    "http://www.omg.org/spec/DMN/20180521/MODEL/",
    "https://www.omg.org/spec/DMN/20191111/MODEL/",
])
def test_dmn_is_recognised_by_the_root_namespace_of_each_supported_version(namespace: str) -> None:
    tree = parse_xml(f'<definitions xmlns="{namespace}" id="d" name="d"/>'.encode(), "d.dmn")
    assert is_dmn(tree) and not is_bpmn(tree)


def test_a_document_in_another_namespace_is_neither_bpmn_nor_dmn() -> None:
    tree = parse_xml(b'<definitions xmlns="http://example.org/other"/>', "x.xml")
    assert not is_bpmn(tree) and not is_dmn(tree)


# --- conformance corpus -------------------------------------------------------------------------

def _corpus_cases() -> list:
    if not (CORPUS / "manifest.csv").is_file():
        return [pytest.param(None, None, marks=pytest.mark.skip(reason=f"no corpus at {CORPUS}"))]
    with open(CORPUS / "manifest.csv", newline="", encoding="utf-8") as f:
        xsd_column = {row["file"]: row["xsd_valid_omg"] for row in csv.DictReader(f)}
    return [pytest.param(path, xsd_column.get(path.relative_to(CORPUS).as_posix(), ""),
                         id=path.relative_to(CORPUS).as_posix())
            for path in sorted(CORPUS.rglob("*.bpmn"))]


@pytest.mark.timeout(30)
@pytest.mark.parametrize(("path", "expected"), _corpus_cases())
def test_corpus_file_is_parsed_or_refused_and_agrees_with_the_manifest(
        path: Path, expected: str) -> None:
    # given a file from the corpus, some broken on purpose
    name = path.relative_to(CORPUS).as_posix()
    # when parsed, then it is either a tree or a DefinitionInvalid, never another exception
    try:
        tree = parse_xml(path.read_bytes(), name)
    except DefinitionInvalid as refused:
        assert refused.problems and all(p.file == name for p in refused.problems)
        assert expected != "valid", f"manifest says valid, but refused: {refused.problems}"
        return
    # and where the manifest says the OMG XSD accepts it, so do we
    problems = bpmn_schema_problems(tree, name)
    if expected == "valid":
        assert problems == [], [str(p) for p in problems]
    elif expected.startswith("invalid"):
        assert problems
