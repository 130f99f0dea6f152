"""Camunda Forms (form-js JSON) rendered on the server as plain, accessible HTML, and the
browser's submitted fields turned back into the data the engine checks. The engine's
`validate_submission` stays the only judge: this module never decides what is valid, it only
shows the form (labels in the chosen language, required marks, help text, the values typed so
far and each field's errors) and maps HTML inputs to values of the right shape (a checkbox to a
boolean, a checklist to a list, a number option back to its number)."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup, escape
from werkzeug.datastructures import MultiDict

from engine.definitions.forms import FormDefinition, FormField

from web.i18n import field_error, pick, pick_field_label

MAX_LIST_ROWS = 50


@dataclass
class Node:
    kind: str                      # text, field, group, list
    key: str = ""
    name: str = ""                 # the HTML input name
    type: str = ""
    label: str = ""
    description: str = ""
    required: bool = False
    readonly: bool = False
    subtype: str = ""
    options: list[tuple[str, str]] = field(default_factory=list)
    value: Any = None
    errors: list[str] = field(default_factory=list)
    html: Markup = Markup("")
    children: list["Node"] = field(default_factory=list)
    rows: list[list["Node"]] = field(default_factory=list)
    attrs: dict[str, Any] = field(default_factory=dict)
    fixed_rows: bool = False       # a list whose form says allowAddRemove: false (one row per item)

    @property
    def input_id(self) -> str:
        return "f-" + re.sub(r"[^A-Za-z0-9_-]", "_", self.name)

    def selected(self, option_value: str) -> bool:
        if isinstance(self.value, list):
            return option_value in [_as_text(v) for v in self.value]
        return _as_text(self.value) == option_value


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def render_nodes(form: FormDefinition, values: dict[str, Any] | None = None,
                 errors: dict[str, list[str]] | None = None, readonly: bool = False) -> list[Node]:
    return _nodes(form.raw.get("components") or [], form, values or {}, errors or {}, "", readonly)


def _nodes(components: list[Any], form: FormDefinition | None, values: dict[str, Any],
           errors: dict[str, list[str]], prefix: str, readonly: bool,
           scope: dict[str, FormField] | None = None) -> list[Node]:
    scope = scope if scope is not None else ({f.key: f for f in form.fields} if form else {})
    nodes: list[Node] = []
    for comp in components:
        if not isinstance(comp, dict):
            continue
        ctype = comp.get("type")
        if ctype == "text":
            nodes.append(Node("text", html=markdown_lite(str(comp.get("text", "")))))
        elif ctype == "group":
            nodes.append(Node("group", label=pick_field_label(comp), children=_nodes(
                comp.get("components") or [], form, values, errors, prefix, readonly, scope)))
        elif ctype == "dynamiclist":
            nodes.append(_list_node(comp, scope, values, errors, prefix, readonly))
        elif comp.get("key") in scope and ctype != "expression":
            nodes.append(_field_node(scope[comp["key"]], values, errors, prefix, readonly))
    return nodes


def _field_node(form_field: FormField, values: dict[str, Any], errors: dict[str, list[str]],
                prefix: str, readonly: bool) -> Node:
    raw = form_field.raw
    name = f"{prefix}{form_field.key}"
    rules = form_field.validate
    attrs = {k: rules[k] for k in ("min", "max", "minLength", "maxLength") if k in rules}
    if form_field.required_when:  # shown as required in the page while it applies (app.js)
        attrs["required_when"] = (f"{prefix}{form_field.required_when[0]}", " ".join(form_field.required_when[1]))
    return Node(
        "field", key=form_field.key, name=name, type=form_field.type, label=pick_field_label(raw),
        description=pick(raw.get("description") or ""), required=form_field.required,
        readonly=readonly or form_field.readonly or form_field.disabled,
        subtype=form_field.subtype or "", attrs=attrs,
        options=[(_as_text(o.get("value")), pick(str(o.get("label", o.get("value")))))
                 for o in raw.get("values") or [] if isinstance(o, dict)],
        value=values.get(form_field.key, raw.get("defaultValue")),
        errors=[field_error(m) for m in errors.get(name, [])])


def _list_node(comp: dict, scope: dict[str, FormField], values: dict[str, Any],
               errors: dict[str, list[str]], prefix: str, readonly: bool) -> Node:
    key = comp.get("path") or comp.get("key") or ""
    form_field = scope.get(key)
    children = {f.key: f for f in form_field.children} if form_field else {}
    items = values.get(key) if isinstance(values.get(key), list) else []
    # the items as they are, one empty row only to start an empty list: a saved draft must not
    # come back with a blank row each time (rows are added and removed in the page, app.js)
    count = max(len(items), 1)
    rows = []
    for index in range(min(count, MAX_LIST_ROWS)):
        item = items[index] if index < len(items) and isinstance(items[index], dict) else {}
        rows.append(_nodes(comp.get("components") or [], None, item, errors,
                           f"{prefix}{key}.{index}.", readonly, children))
    return Node("list", key=key, name=f"{prefix}{key}", label=pick_field_label(comp), rows=rows,
                readonly=readonly, errors=[field_error(m) for m in errors.get(f"{prefix}{key}", [])],
                fixed_rows=comp.get("allowAddRemove") is False)


def markdown_lite(text: str) -> Markup:
    """The little Markdown our form texts use: headings, paragraphs, **bold**; all escaped."""
    out = []
    for block in re.split(r"\n\s*\n", text.strip()):
        lines = [line for line in block.splitlines() if line.strip()]
        if not lines:
            continue
        heading = re.match(r"^(#{1,6})\s+(.*)$", lines[0])
        if heading and len(lines) == 1:
            level = min(len(heading.group(1)) + 1, 6)
            out.append(Markup(f"<h{level}>{_inline(pick(heading.group(2)))}</h{level}>"))
        else:
            out.append(Markup("<p>") + Markup("<br>").join(_inline(pick(line)) for line in lines)
                       + Markup("</p>"))
    return Markup("").join(out)


def _inline(text: str) -> Markup:
    escaped = str(escape(text))
    return Markup(re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", escaped))


# ---------------------------------------------------------------------------------------------
# From the browser back to data


def data_from_request(form: FormDefinition, submitted: MultiDict) -> dict[str, Any]:
    """The values of the form's own fields, shaped for `validate_submission`; anything else
    the browser sent (the CSRF token, buttons) is left out, so it can't reach the process."""
    return _collect(form.fields, submitted, "")


def _collect(form_fields: tuple[FormField, ...], submitted: MultiDict, prefix: str) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for form_field in form_fields:
        if form_field.readonly or form_field.disabled or form_field.type == "expression":
            continue
        name = f"{prefix}{form_field.key}"
        if form_field.type == "dynamiclist":
            data[form_field.key] = _collect_list(form_field, submitted, name)
            continue
        value = _value(form_field, submitted, name)
        if value is not _MISSING:
            data[form_field.key] = value
    return data


_MISSING = object()


def _value(form_field: FormField, submitted: MultiDict, name: str) -> Any:
    ftype = form_field.type
    if ftype == "checkbox":
        return submitted.get(name) in ("on", "true", "1")
    if ftype in ("checklist", "taglist"):
        return [_option(form_field, v) for v in submitted.getlist(name)]
    if name not in submitted:
        return _MISSING
    text = submitted.get(name, "")
    if ftype in ("select", "radio"):
        return _option(form_field, text) if text != "" else ""
    return text


def _option(form_field: FormField, text: str) -> Any:
    """The option whose text form matches: number options come back as numbers."""
    for option in form_field.options or ():
        if _as_text(option) == text:
            return option
    return text


def _collect_list(form_field: FormField, submitted: MultiDict, name: str) -> list[dict[str, Any]]:
    indices = sorted({int(m.group(1)) for key in submitted.keys()
                      if (m := re.match(rf"^{re.escape(name)}\.(\d+)\.", key))})
    items = []
    for index in indices[:MAX_LIST_ROWS]:
        item = _collect(form_field.children, submitted, f"{name}.{index}.")
        if any(v not in ("", None, [], False) for v in item.values()):
            items.append(item)
    return items


def labels_by_name(nodes: list[Node]) -> dict[str, str]:
    """Input name -> label, for the error summary at the top of a form."""
    found: dict[str, str] = {}
    for node in nodes:
        if node.kind == "field":
            found[node.name] = node.label
        found.update(labels_by_name(node.children))
        for row in node.rows:
            found.update(labels_by_name(row))
        if node.kind == "list":
            found[node.name] = node.label
    return found
