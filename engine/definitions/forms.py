"""Camunda Forms (form-js JSON) for user tasks. This module owns everything about a `*.form`
file: parsing and checking the definition (`parse_form`, refusing a bad file with every problem
listed at once), turning it into a marshmallow schema (`schema_for`, cached per form content),
and checking the data a user submits against it (`validate_submission`, which returns cleaned,
JSON-serialisable values or raises `InvalidData` naming every bad field). Layout components
(text, html, spacer, ...) carry no data and are ignored; groups are flattened; dynamic lists
become lists of nested objects. Labels are kept as given, and any `properties` (for example our
`label_en` / `label_zh` convention) stay available untouched in `FormField.raw`.

Two rules of a form live in its fields' `properties` (so the form-js editor's custom properties
can set them): `prefill: "none"` marks a field that belongs to one completion of its task (a
decision, an opinion, a score): it is never offered prefilled from the process data, and a
completion that leaves it out records it as empty, so no round of a loop, and no other task using
the same key, inherits an earlier judgement (`offered_values`, `completion_blanks`); and
`requiredWhen: "decision = return, reject"` makes a field required when another field of the same
form (or list item) holds one of those values, checked here with the other rules."""
from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator, Mapping

from marshmallow import RAISE, Schema, ValidationError, fields, pre_load, validate

from engine.core.errors import DefinitionInvalid, InvalidData, Problem

MAX_FORM_BYTES = 1024 * 1024

INPUT_TYPES = frozenset({"textfield", "textarea", "number", "select", "radio", "checkbox",
                         "checklist", "datetime", "taglist", "expression"})
# Components that only render something; any `key` they carry (old form-js buttons had one)
# is not a submitted value.
LAYOUT_TYPES = frozenset({"text", "html", "spacer", "separator", "image", "button", "iframe",
                          "table", "documentPreview"})
CONTAINER_TYPES = frozenset({"group", "dynamiclist"})
KNOWN_TYPES = INPUT_TYPES | LAYOUT_TYPES | CONTAINER_TYPES
OPTION_TYPES = frozenset({"select", "radio", "checklist", "taglist"})
TEXT_TYPES = frozenset({"textfield", "textarea"})
DATETIME_SUBTYPES = frozenset({"date", "time", "datetime"})
VALIDATION_TYPES = frozenset({"", "email", "phone", "custom"})
REQUIRED_MESSAGE = "This field is required."
_MAX_NESTING = 32

# form-js's own phone check is a long per-country table; an E.164-ish shape is what matters
# server-side (optional +, digits, common separators, 6-20 digits in all).
_PHONE_RE = re.compile(r"^\+?[0-9][0-9 ()./-]{4,24}[0-9]$")
_TZ = r"(Z|[+-]\d{2}:\d{2})?"
_TIME = r"\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?"
_NUMBER_RE = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIME_RE = re.compile(rf"^{_TIME}{_TZ}$")
_DATETIME_RE = re.compile(rf"^\d{{4}}-\d{{2}}-\d{{2}}[T ]{_TIME}{_TZ}$")


# ---------------------------------------------------------------------------------------------
# Definitions


@dataclass(frozen=True)
class FormField:
    """One data-carrying component. `options` is None when the choices are dynamic
    (`valuesKey` / `valuesExpression`) or the type has none; `children` is only used by
    dynamic lists, whose value is a list of objects shaped by those children."""

    key: str
    type: str
    label: str
    required: bool
    raw: dict = field(hash=False)
    options: tuple[Any, ...] | None = None
    subtype: str | None = None
    readonly: bool = False
    disabled: bool = False
    children: tuple["FormField", ...] = ()
    required_when: tuple[str, tuple[str, ...]] | None = None  # (field key, values) from properties

    @property
    def starts_empty(self) -> bool:
        """`properties.prefill: "none"`: the field is this completion's own (see the module)."""
        return str(self.properties.get("prefill", "")).strip().lower() == "none"

    @property
    def validate(self) -> dict:
        rules = self.raw.get("validate")
        return rules if isinstance(rules, dict) else {}

    @property
    def properties(self) -> dict:
        props = self.raw.get("properties")
        return props if isinstance(props, dict) else {}


@dataclass(frozen=True)
class FormDefinition:
    """A parsed, checked form. Equality and hashing go by id and content digest, so equal
    files share one cached schema and a changed file never reuses a stale one."""

    id: str
    raw: dict = field(compare=False, hash=False)
    fields: tuple[FormField, ...] = field(compare=False, hash=False)
    digest: str = ""

    def __post_init__(self) -> None:
        if not self.digest:
            object.__setattr__(self, "digest", _digest(self.raw))

    def field(self, key: str) -> FormField | None:
        return next((f for f in self.fields if f.key == key), None)

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(f.key for f in self.fields)


def _digest(raw: object) -> str:
    text = json.dumps(raw, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# ---------------------------------------------------------------------------------------------
# Parsing


def parse_form(data: bytes | str, filename: str) -> FormDefinition:
    """Parse and check one form file; raise DefinitionInvalid listing every problem found."""
    doc = _load_json(data, filename)
    problems: list[Problem] = []
    if not isinstance(doc.get("id"), str) or not doc["id"].strip():
        problems.append(Problem(filename, "form has no 'id' (a non-empty string is required)"))
    components = doc.get("components")
    if not isinstance(components, list):
        problems.append(Problem(filename, "'components' must be a list",
                                element_id=_str_or_none(doc.get("id"))))
        components = []
    found = _collect_fields(components, filename, problems, path="components", depth=0)
    if problems:
        raise DefinitionInvalid(problems)
    return FormDefinition(id=doc["id"], raw=doc, fields=tuple(found))


def load_forms_dir(path: str | Path) -> dict[str, FormDefinition]:
    """Parse every *.form file in a folder, keyed by form id; all files' problems together."""
    forms: dict[str, FormDefinition] = {}
    problems: list[Problem] = []
    for file in sorted(Path(path).glob("*.form")):
        try:
            form = parse_form(file.read_bytes(), str(file))
        except DefinitionInvalid as exc:
            problems.extend(exc.problems)
            continue
        if form.id in forms:
            problems.append(Problem(str(file), f"form id {form.id!r} is used by more than one file",
                                    element_id=form.id))
        forms[form.id] = form
    if problems:
        raise DefinitionInvalid(problems)
    return forms


def _load_json(data: bytes | str, filename: str) -> dict:
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if len(raw) > MAX_FORM_BYTES:
        raise DefinitionInvalid([Problem(filename, f"form file is {len(raw)} bytes; "
                                                   f"the limit is {MAX_FORM_BYTES} (1 MB)")])
    try:
        doc = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise DefinitionInvalid([Problem(filename, f"form file is not UTF-8 text: {exc}")]) from exc
    except json.JSONDecodeError as exc:
        raise DefinitionInvalid([Problem(filename, f"not valid JSON: {exc.msg} (column {exc.colno})",
                                         line=exc.lineno)]) from exc
    except RecursionError as exc:
        raise DefinitionInvalid([Problem(filename, "JSON is nested too deeply")]) from exc
    if not isinstance(doc, dict):
        raise DefinitionInvalid([Problem(filename, "a form file must be a JSON object, "
                                                   f"not {type(doc).__name__}")])
    return doc


def _collect_fields(components: list, filename: str, problems: list[Problem], path: str,
                    depth: int) -> list[FormField]:
    """Walk one scope (the form or a dynamic list), flattening groups; keys must be unique
    within the scope because they share one submitted object."""
    found: list[FormField] = []
    seen: set[str] = set()
    for where, comp in _flatten(components, filename, problems, path, depth):
        form_field = _component_field(comp, where, filename, problems, depth)
        if form_field is None:
            continue
        if form_field.key in seen:
            problems.append(Problem(filename, f"duplicate key {form_field.key!r}",
                                    element_id=form_field.key))
            continue
        seen.add(form_field.key)
        found.append(form_field)
    _check_required_when_targets(found, filename, problems)
    return found


def _flatten(components: list, filename: str, problems: list[Problem], path: str,
             depth: int) -> Iterator[tuple[str, dict]]:
    """Yield every non-group component with a readable location, descending into groups."""
    if depth > _MAX_NESTING:
        problems.append(Problem(filename, "components are nested too deeply", element_id=path))
        return
    for index, comp in enumerate(components):
        where = f"{path}[{index}]"
        if not isinstance(comp, dict):
            problems.append(Problem(filename, "a component must be a JSON object", element_id=where))
            continue
        ctype = comp.get("type")
        if not isinstance(ctype, str) or not ctype:
            problems.append(Problem(filename, "component has no 'type'", element_id=_ref(comp, where)))
            continue
        if ctype not in KNOWN_TYPES:
            problems.append(Problem(filename, f"unknown component type {ctype!r}",
                                    element_id=_ref(comp, where)))
            continue
        if ctype == "group":
            children = comp.get("components", [])
            if not isinstance(children, list):
                problems.append(Problem(filename, "group 'components' must be a list",
                                        element_id=_ref(comp, where)))
                continue
            yield from _flatten(children, filename, problems, f"{where}.components", depth + 1)
        elif ctype not in LAYOUT_TYPES:
            yield where, comp


VISIBILITIES = ("applicant", "experts", "internal", "confidential")  # engine/runtime/access.py gives their meaning


def _check_visibility(comp: dict, key: str, filename: str, problems: list[Problem]) -> None:
    """A misspelt visibility would silently fall back to the default: refuse it at deploy time."""
    props = comp.get("properties")
    if isinstance(props, dict) and "visibility" in props and props["visibility"] not in VISIBILITIES:
        problems.append(Problem(filename, f"field '{key}': properties.visibility must be one of "
                                          f"{', '.join(VISIBILITIES)}, not {props['visibility']!r}", element_id=key))


PREFILLS = ("data", "none")  # properties.prefill: from the process data (the default), or never
_REQUIRED_WHEN_RE = re.compile(r"^\s*([^\s=]+)\s*=\s*(.+?)\s*$")


def _props(comp: dict) -> dict:
    props = comp.get("properties")
    return props if isinstance(props, dict) else {}


def _check_prefill(comp: dict, key: str, filename: str, problems: list[Problem]) -> None:
    props = _props(comp)
    if "prefill" in props and str(props["prefill"]).strip().lower() not in PREFILLS:
        problems.append(Problem(filename, f"field '{key}': properties.prefill must be one of "
                                          f"{', '.join(PREFILLS)}, not {props['prefill']!r}", element_id=key))


def _required_when(comp: dict, key: str, filename: str,
                   problems: list[Problem]) -> tuple[str, tuple[str, ...]] | None:
    """`requiredWhen: "other = a, b"` -> ("other", ("a", "b")); the other field is checked
    once its scope is known (`_check_required_when_targets`)."""
    declared = _props(comp).get("requiredWhen")
    if declared is None or declared == "":
        return None
    match = _REQUIRED_WHEN_RE.match(declared) if isinstance(declared, str) else None
    values = tuple(v.strip() for v in match.group(2).split(",")) if match else ()
    if match is None or not all(values):
        problems.append(Problem(filename, f"field '{key}': properties.requiredWhen must read "
                                          f"'field = value, value' (the field whose values make this one "
                                          f"required), not {declared!r}", element_id=key))
        return None
    return match.group(1), values


def _check_required_when_targets(found: list[FormField], filename: str, problems: list[Problem]) -> None:
    """A condition names another field of the same form (or list item) and values it can hold."""
    scope = {f.key: f for f in found}
    for form_field in found:
        if form_field.required_when is None:
            continue
        target_key, values = form_field.required_when
        target = scope.get(target_key)
        if target is None or target is form_field:
            problems.append(Problem(filename, f"field '{form_field.key}': properties.requiredWhen names "
                                              f"'{target_key}', which is not another field of this form",
                                    element_id=form_field.key))
            continue
        offered = {_as_text(o) for o in target.options} if target.options is not None else None
        for value in values:
            if offered is not None and value not in offered:
                problems.append(Problem(filename, f"field '{form_field.key}': properties.requiredWhen names "
                                                  f"value '{value}', which field '{target_key}' does not offer",
                                        element_id=form_field.key))


def _as_text(value: object) -> str:
    """A value as a form's option text: True -> "true", 2.0 -> "2"."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value)


def _component_field(comp: dict, where: str, filename: str, problems: list[Problem],
                     depth: int) -> FormField | None:
    ctype = comp["type"]
    if ctype == "dynamiclist":
        return _dynamiclist_field(comp, where, filename, problems, depth)
    key = comp.get("key")
    if not isinstance(key, str) or not key.strip():
        problems.append(Problem(filename, f"{ctype} component has no 'key'",
                                element_id=_ref(comp, where)))
        return None
    before = len(problems)
    rules = _check_validate(comp, key, filename, problems)
    options = _check_options(comp, key, filename, problems) if ctype in OPTION_TYPES else None
    subtype = _check_subtype(comp, key, filename, problems) if ctype == "datetime" else None
    if ctype == "number":
        _check_decimal_digits(comp, key, filename, problems)
    _check_visibility(comp, key, filename, problems)
    _check_prefill(comp, key, filename, problems)
    condition = _required_when(comp, key, filename, problems)
    if len(problems) > before:
        return None
    return FormField(key=key, type=ctype, label=_label(comp), required=rules.get("required") is True,
                     raw=comp, options=options, subtype=subtype,
                     readonly=comp.get("readonly") is True, disabled=comp.get("disabled") is True,
                     required_when=condition)


def _dynamiclist_field(comp: dict, where: str, filename: str, problems: list[Problem],
                       depth: int) -> FormField | None:
    # form-js stores a dynamic list's value under its `path`; its children are keyed per item.
    key = comp.get("path") or comp.get("key")
    if not isinstance(key, str) or not key.strip():
        problems.append(Problem(filename, "dynamiclist component has no 'path'",
                                element_id=_ref(comp, where)))
        return None
    children = comp.get("components", [])
    if not isinstance(children, list):
        problems.append(Problem(filename, "dynamiclist 'components' must be a list", element_id=key))
        return None
    found = _collect_fields(children, filename, problems, f"{where}.components", depth + 1)
    return FormField(key=key, type="dynamiclist", label=_label(comp), required=False, raw=comp,
                     readonly=comp.get("readonly") is True, disabled=comp.get("disabled") is True,
                     children=tuple(found))


def _check_validate(comp: dict, key: str, filename: str, problems: list[Problem]) -> dict:
    rules = comp.get("validate", {})
    if rules is None:
        return {}
    if not isinstance(rules, dict):
        problems.append(Problem(filename, "'validate' must be an object", element_id=key))
        return {}

    def bad(message: str) -> None:
        problems.append(Problem(filename, message, element_id=key))

    if "required" in rules and not isinstance(rules["required"], bool):
        bad("validate.required must be true or false")
    for name in ("min", "max"):
        if name in rules and rules[name] is not None and not _is_number(rules[name]):
            bad(f"validate.{name} must be a number, not {rules[name]!r}")
    for name in ("minLength", "maxLength"):
        value = rules.get(name)
        if value is not None and (not _is_int(value) or value < 0):
            bad(f"validate.{name} must be a non-negative integer, not {value!r}")
    if _is_number(rules.get("min")) and _is_number(rules.get("max")) and rules["min"] > rules["max"]:
        bad(f"validate.min ({rules['min']}) is greater than validate.max ({rules['max']})")
    low, high = rules.get("minLength"), rules.get("maxLength")
    if _is_int(low) and _is_int(high) and low > high:
        bad(f"validate.minLength ({low}) is greater than validate.maxLength ({high})")
    _check_pattern(rules.get("pattern"), bad)
    vtype = rules.get("validationType")
    if vtype is not None and vtype not in VALIDATION_TYPES:
        bad(f"unknown validate.validationType {vtype!r} (expected 'email' or 'phone')")
    return rules


def _check_pattern(pattern: object, bad: Any) -> None:
    if pattern is None or pattern == "":
        return
    if not isinstance(pattern, str):
        bad(f"validate.pattern must be a string, not {pattern!r}")
        return
    try:
        re.compile(pattern)
    except re.error as exc:
        bad(f"validate.pattern {pattern!r} is not a valid regular expression: {exc}")
        return
    if _NESTED_REPETITION.search(pattern):
        bad(f"validate.pattern {pattern!r} repeats a group that itself repeats (like (a+)+): such a "
            "pattern can take minutes on one bad value; write it without the nested repetition")


# a quantified group whose body also holds a quantifier: the shape of catastrophic backtracking
# in Python's `re`, which has no time limit; refused when the form is deployed
_NESTED_REPETITION = re.compile(r"\((?:[^()\\]|\\.)*[+*}](?:[^()\\]|\\.)*\)(?:[+*]|\{\d*,)")


def _check_options(comp: dict, key: str, filename: str,
                   problems: list[Problem]) -> tuple[Any, ...] | None:
    """Static choices as a tuple of values; None when the choices come from process data."""
    values = comp.get("values")
    if values is None and (comp.get("valuesKey") or comp.get("valuesExpression")):
        return None
    if not isinstance(values, list) or not values:
        problems.append(Problem(filename, f"{comp['type']} needs a non-empty 'values' list "
                                          "(or 'valuesKey' / 'valuesExpression')", element_id=key))
        return None
    options: list[Any] = []
    for index, entry in enumerate(values):
        value = entry.get("value") if isinstance(entry, dict) else None
        if not isinstance(value, (str, int, float)) or (isinstance(value, float)
                                                         and not math.isfinite(value)):
            problems.append(Problem(filename, f"values[{index}] must be an object with a string "
                                              "or number 'value'", element_id=key))
        elif any(_same_choice(value, seen) for seen in options):
            problems.append(Problem(filename, f"values[{index}]: duplicate value {value!r}",
                                    element_id=key))
        else:
            options.append(value)
    return tuple(options)


def _check_subtype(comp: dict, key: str, filename: str, problems: list[Problem]) -> str:
    subtype = comp.get("subtype", "date")  # form-js's default datetime subtype
    if subtype not in DATETIME_SUBTYPES:
        problems.append(Problem(filename, f"unknown datetime subtype {subtype!r} "
                                          "(expected date, time or datetime)", element_id=key))
    return subtype


def _check_decimal_digits(comp: dict, key: str, filename: str, problems: list[Problem]) -> None:
    digits = comp.get("decimalDigits")
    if digits is not None and (not _is_int(digits) or digits < 0):
        problems.append(Problem(filename, f"decimalDigits must be a non-negative integer, "
                                          f"not {digits!r}", element_id=key))


def _label(comp: dict) -> str:
    label = comp.get("label")
    return label if isinstance(label, str) else ""


def _ref(comp: dict, where: str) -> str:
    """Best name for a component in a Problem: its key, else its modeler id, else its position."""
    for name in ("key", "id", "path"):
        if isinstance(comp.get(name), str) and comp[name]:
            return comp[name]
    return where


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _same_choice(submitted: object, option: object) -> bool:
    # Python says True == 1; a form's options do not, so booleans only match booleans.
    if isinstance(submitted, bool) or isinstance(option, bool):
        return type(submitted) is type(option) and submitted == option
    if isinstance(submitted, str) or isinstance(option, str):
        return submitted == option
    return _is_number(submitted) and submitted == option


# ---------------------------------------------------------------------------------------------
# Marshmallow fields


class _Text(fields.String):
    """A string whose rules are skipped when it is empty: an optional text field left blank
    is fine; a required one never gets here (empties are removed before loading)."""

    def _validate(self, value: Any) -> None:
        if value != "":
            super()._validate(value)


class _Number(fields.Field):
    """A number that loads as plain int/float (never Decimal) so results serialise as JSON."""

    default_error_messages = {"invalid": "Not a valid number.",
                              "too_large": "Number is too large.",
                              "whole": "Must be a whole number.",
                              "digits": "Must have at most {digits} decimal place(s)."}

    def __init__(self, decimal_digits: int | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.decimal_digits = decimal_digits

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None,
                     **kwargs: Any) -> int | float:
        exact = self._to_decimal(value)
        places = max(0, -exact.as_tuple().exponent) if exact != exact.to_integral_value() else 0
        if self.decimal_digits is not None and places > self.decimal_digits:
            raise self.make_error("digits" if self.decimal_digits else "whole",
                                  digits=self.decimal_digits)
        if places == 0 and not self.decimal_digits:
            return int(exact)
        return float(exact)

    def _to_decimal(self, value: Any) -> Decimal:
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise self.make_error("invalid")
        # Decimal() alone would also take "1_000", "NaN" and " Infinity ".
        if isinstance(value, str) and not _NUMBER_RE.match(value.strip()):
            raise self.make_error("invalid")
        try:
            # str() of a float is its shortest repr, so 0.1 counts as one decimal place.
            exact = Decimal(value.strip() if isinstance(value, str) else str(value))
        except InvalidOperation as exc:
            raise self.make_error("invalid") from exc
        if not exact.is_finite():
            raise self.make_error("invalid")
        # "1e999999999" is a valid Decimal but int() of it would eat all memory.
        if exact and exact.adjusted() > 300:
            raise self.make_error("too_large")
        return exact.normalize() if exact != exact.to_integral_value() else exact

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return value


class _Choice(fields.Field):
    """One of a fixed set of option values; returns the option itself (original type)."""

    default_error_messages = {"invalid": "Must be one of: {choices}."}

    def __init__(self, options: tuple[Any, ...] | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.options = options

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None,
                     **kwargs: Any) -> Any:
        return self.choose(value)

    def choose(self, value: Any) -> Any:
        if self.options is None:  # dynamic options are only known at runtime: accept scalars
            if isinstance(value, (str, int, float, bool)):
                return value
            raise self.make_error("invalid", choices="a string or number")
        for option in self.options:
            if _same_choice(value, option):
                return option
        raise self.make_error("invalid", choices=", ".join(map(str, self.options)))


class _ChoiceList(_Choice):
    """A list of option values; errors stay under the field's own key, naming the bad items."""

    default_error_messages = {"not_list": "Not a valid list.",
                              "invalid": "Must be one of: {choices}.",
                              "item": "Item {index}: {message}"}

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None,
                     **kwargs: Any) -> list[Any]:
        if not isinstance(value, list):
            raise self.make_error("not_list")
        chosen, errors = [], []
        for index, item in enumerate(value):
            try:
                chosen.append(self.choose(item))
            except ValidationError as exc:
                errors.append(self.error_messages["item"].format(
                    index=index, message=" ".join(map(str, exc.messages))))
        if errors:
            raise ValidationError(errors)
        return chosen


class _Temporal(fields.Field):
    """An ISO date / time / date-time string, returned in normalised ISO form."""

    default_error_messages = {"date": "Not a valid date (expected YYYY-MM-DD).",
                              "time": "Not a valid time (expected HH:MM or HH:MM:SS).",
                              "datetime": "Not a valid ISO 8601 date-time."}

    def __init__(self, subtype: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.subtype = subtype

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None,
                     **kwargs: Any) -> str:
        pattern = {"date": _DATE_RE, "time": _TIME_RE, "datetime": _DATETIME_RE}[self.subtype]
        parse = {"date": date.fromisoformat, "time": time.fromisoformat,
                 "datetime": datetime.fromisoformat}[self.subtype]
        if not isinstance(value, str) or not pattern.match(value.strip()):
            raise self.make_error(self.subtype)
        try:
            return parse(value.strip()).isoformat()
        except ValueError as exc:  # right shape, impossible value (Feb 30, 25:00)
            raise self.make_error(self.subtype) from exc

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return value


# ---------------------------------------------------------------------------------------------
# Schemas


class _FormSchema(Schema):
    """Base for generated schemas: unknown keys are refused, and for required fields an empty
    string or list counts as not given (form-js treats them so)."""

    _required_keys: frozenset[str] = frozenset()
    _empty_as_none: frozenset[str] = frozenset()

    class Meta:
        unknown = RAISE

    @pre_load
    def _blank_to_missing(self, data: Any, **kwargs: Any) -> Any:
        if not isinstance(data, dict):
            return data
        cleaned = {}
        for key, value in data.items():
            if key in self._required_keys and value in ("", []):
                continue
            # An optional non-text field left blank in a browser arrives as "": that means
            # "no answer", not "invalid number/date".
            cleaned[key] = None if key in self._empty_as_none and value == "" else value
        return cleaned


@lru_cache(maxsize=512)
def schema_for(form: FormDefinition) -> Schema:
    """The marshmallow schema for a form, cached per form content (FormDefinition hashes by
    id + digest). Schemas keep no per-call state, so one instance is shared across threads."""
    return _schema_class(form.id, form.fields)(unknown=RAISE)


def _schema_class(name: str, form_fields: tuple[FormField, ...]) -> type[_FormSchema]:
    # Attribute names are positional (f0, f1, ...) with data_key = the form key, because form
    # keys may be anything ("load", "a-b", "fields") and must not collide with Schema members.
    attrs: dict[str, Any] = {f"f{i}": _marshmallow_field(f) for i, f in enumerate(form_fields)}
    attrs["_required_keys"] = frozenset(f.key for f in form_fields if _is_required(f))
    attrs["_empty_as_none"] = frozenset(f.key for f in form_fields
                                        if f.type not in TEXT_TYPES and not _is_required(f))
    safe = re.sub(r"\W", "_", name) or "form"
    return type(f"FormSchema_{safe}", (_FormSchema,), attrs)


def _is_required(form_field: FormField) -> bool:
    # Read-only and disabled fields can't be filled in by the user, so they may be absent.
    return form_field.required and not (form_field.readonly or form_field.disabled)


def _marshmallow_field(form_field: FormField) -> fields.Field:
    required = _is_required(form_field)
    common: dict[str, Any] = {
        "data_key": form_field.key,
        "required": required,
        "allow_none": not required,
        "error_messages": {"required": REQUIRED_MESSAGE, "null": REQUIRED_MESSAGE},
    }
    rules = form_field.validate
    ftype = form_field.type
    if ftype in TEXT_TYPES:
        return _Text(validate=_text_validators(rules), **common)
    if ftype == "number":
        return _Number(form_field.raw.get("decimalDigits"), validate=_range(rules), **common)
    if ftype == "checkbox":
        # form-js: a required checkbox must be ticked ("I accept"), not merely answered.
        checks = [validate.Equal(True, error=REQUIRED_MESSAGE)] if required else []
        return fields.Boolean(validate=checks, **common)
    if ftype in ("select", "radio"):
        return _Choice(form_field.options, **common)
    if ftype in ("checklist", "taglist"):
        return _ChoiceList(form_field.options, **common)
    if ftype == "datetime":
        return _Temporal(form_field.subtype or "date", **common)
    if ftype == "dynamiclist":
        item_schema = _schema_class(form_field.key, form_field.children)
        return fields.List(fields.Nested(item_schema, unknown=RAISE), **common)
    return fields.Raw(**common)  # "expression": computed client-side, any JSON value


def _text_validators(rules: dict) -> list[validate.Validator]:
    checks: list[validate.Validator] = []
    low, high = rules.get("minLength"), rules.get("maxLength")
    if low is not None or high is not None:
        checks.append(validate.Length(min=low, max=high))
    if rules.get("pattern"):
        checks.append(_Search(rules["pattern"], error="Must match the pattern {regex}."))
    if rules.get("validationType") == "email":
        checks.append(validate.Email())
    elif rules.get("validationType") == "phone":
        checks.append(validate.Regexp(_PHONE_RE, error="Not a valid phone number."))
    return checks


class _Search(validate.Regexp):
    """A pattern that may match anywhere, like form-js's `new RegExp(pattern).test(value)`;
    marshmallow's Regexp anchors at the start. Anchor with ^...$ in the form when needed."""

    def __call__(self, value: str) -> str:
        if self.regex.search(value) is None:
            raise ValidationError(self._format_error(value))
        return value


def _range(rules: dict) -> list[validate.Validator]:
    low, high = rules.get("min"), rules.get("max")
    if low is None and high is None:
        return []
    return [validate.Range(min=low, max=high)]


# ---------------------------------------------------------------------------------------------
# Submissions


def validate_submission(form: FormDefinition, data: object) -> dict:
    """Check submitted data against the form; return the cleaned values (submitted keys only)
    or raise InvalidData naming every bad field at once."""
    if not isinstance(data, dict):
        raise InvalidData("data must be a JSON object",
                          {"_schema": [f"Expected a JSON object, got {_json_type(data)}."]})
    schema = schema_for(form)
    loaded, errors = None, {}
    try:
        loaded = schema.load(data)
    except ValidationError as exc:
        errors = _flatten_errors(exc.normalized_messages())
    for name, messages in _conditional_errors(form.fields, data, "").items():
        errors.setdefault(name, messages)
    if errors or loaded is None:
        raise InvalidData(f"{len(errors)} field(s) are invalid", errors)
    return _by_form_key(loaded, form.fields)


def _conditional_errors(form_fields: tuple[FormField, ...], data: dict, prefix: str) -> dict[str, list[str]]:
    """`requiredWhen`: a field left blank while the field it names holds one of its values.
    Read from the submitted data, so it is reported beside every other problem at once."""
    errors: dict[str, list[str]] = {}
    scope = {f.key: f for f in form_fields}
    for form_field in form_fields:
        if form_field.type == "dynamiclist" and isinstance(data.get(form_field.key), list):
            for index, item in enumerate(data[form_field.key]):
                if isinstance(item, dict):
                    errors.update(_conditional_errors(form_field.children, item,
                                                      f"{prefix}{form_field.key}.{index}."))
        if form_field.required_when is None or form_field.readonly or form_field.disabled:
            continue
        target_key, values = form_field.required_when
        chosen = data.get(target_key)
        hit = next((_as_text(v) for v in (chosen if isinstance(chosen, list) else [chosen])
                    if _as_text(v) in values), None)
        if hit is not None and _is_blank(data.get(form_field.key)):
            errors[f"{prefix}{form_field.key}"] = [_required_when_message(scope[target_key], hit)]
    return errors


def _required_when_message(target: FormField, value: str) -> str:
    """English with the form's own labels (bilingual in our forms); web/i18n.py translates it."""
    label = next((str(o.get("label")) for o in target.raw.get("values") or []
                  if isinstance(o, dict) and _as_text(o.get("value")) == value and o.get("label")), value)
    return f"Required when “{target.label or target.key}” is “{label}”."


def _is_blank(value: object) -> bool:
    return value is None or value is False or value == [] or (isinstance(value, str) and not value.strip())


def offered_values(form: FormDefinition, data: Mapping[str, Any]) -> dict[str, Any]:
    """What a task's form shows when it is offered: the process data under the form's keys,
    except fields that start empty (`prefill: "none"`), which are this completion's own."""
    return {f.key: data[f.key] for f in form.fields if f.key in data and not f.starts_empty}


def completion_blanks(form: FormDefinition) -> dict[str, Any]:
    """The fields that start empty, each as the value an untouched browser form sends (False for
    a checkbox, [] for a checklist or taglist, else None): laid under a completion's values, so a
    key it leaves out does not keep an earlier round's (or another task's) value in the data."""
    return {f.key: _BLANKS.get(f.type) for f in form.fields if f.starts_empty}


_BLANKS: dict[str, Any] = {"checkbox": False, "checklist": [], "taglist": []}


def _by_form_key(loaded: dict, form_fields: tuple[FormField, ...]) -> dict:
    """Map positional attribute names back to form keys, recursing into dynamic lists."""
    result: dict[str, Any] = {}
    for i, form_field in enumerate(form_fields):
        attr = f"f{i}"
        if attr not in loaded:
            continue
        value = loaded[attr]
        if form_field.type == "dynamiclist" and isinstance(value, list):
            value = [_by_form_key(item, form_field.children) for item in value]
        result[form_field.key] = value
    return result


def _flatten_errors(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """marshmallow nests errors for lists of objects ({"items": {0: {"name": [...]}}});
    callers get one flat map, with nested places spelled "items.0.name"."""
    if isinstance(messages, list):
        return {prefix or "_schema": [str(m) for m in messages]}
    if not isinstance(messages, dict):
        return {prefix or "_schema": [str(messages)]}
    flat: dict[str, list[str]] = {}
    for key, inner in messages.items():
        flat.update(_flatten_errors(inner, f"{prefix}.{key}" if prefix else str(key)))
    return flat


def _json_type(value: object) -> str:
    names = {list: "an array", str: "a string", bool: "a boolean", int: "a number",
             float: "a number", type(None): "null"}
    return names.get(type(value), type(value).__name__)
