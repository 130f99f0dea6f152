"""Dumping a response schema without marshmallow's per-field machinery, for the schemas the hot
answers use (a task, a task page, an instance): every field of theirs is a plain conversion
(String, Integer, DateTime in ISO, Dict without inner fields, and List or Nested of those), and
marshmallow spends about fifteen function calls on each field of each object, which made the
task list's dump most of what the web layer did for an inbox page. `plain(schema)` gives a
function that returns what `schema.dump(obj)` returns, key for key and in the same order, or
`schema.dump` itself when any field, option or hook is outside that set (the schema then stays
the one definition of the shape, for the OpenAPI document too)."""
from __future__ import annotations

from typing import Any, Callable

from marshmallow import Schema, fields
from marshmallow.utils import missing

Dump = Callable[[Any], Any]


def _value(obj: Any, key: str) -> Any:
    """marshmallow.utils.get_value for a plain key: an item first when the object has items."""
    if not hasattr(obj, "__getitem__"):
        return getattr(obj, key, missing)
    try:
        return obj[key]
    except (KeyError, IndexError, TypeError, AttributeError):
        return getattr(obj, key, missing)


def _text(value: Any) -> Any:
    if value is None:
        return None
    return str(value.decode("utf-8") if isinstance(value, bytes) else value)


def _integer(value: Any) -> Any:
    return None if value is None else int(value)


def _iso(value: Any) -> Any:
    return None if value is None else value.isoformat()


def _mapping(value: Any) -> Any:
    return None if value is None else dict(value)


def _each(inner: Dump) -> Dump:
    return lambda value: None if value is None else [inner(each) for each in value]


def _converter(field: fields.Field) -> Dump | None:
    """The field's `_serialize` as a plain function, or None when it is not a plain one."""
    if field.data_key is not None or field.attribute is not None or field.dump_default is not missing:
        return None
    kind = type(field)
    if kind is fields.String:
        return _text
    if kind is fields.Integer and not field.as_string:
        return _integer
    if kind is fields.DateTime and (field.format or field.DEFAULT_FORMAT) in ("iso", "iso8601"):
        return _iso
    if kind is fields.Dict and field.key_field is None and field.value_field is None:
        return _mapping
    if kind is fields.List:
        inner = _converter(field.inner)
        return _each(inner) if inner is not None else None
    if kind is fields.Nested and field.only is None and not field.exclude:
        nested = _plan(field.schema)
        if nested is None:
            return None
        return _each(nested) if (field.many or field.schema.many) else \
            (lambda value: None if value is None else nested(value))
    return None


def _plan(schema: Schema) -> Dump | None:
    if schema.many or schema.only or schema.exclude or any(schema._hooks.values()) \
            or schema.dict_class is not dict:
        return None
    steps = []
    for name, field in schema.dump_fields.items():
        convert = _converter(field)
        if convert is None or "." in name:
            return None
        steps.append((name, convert))

    def dump(obj: Any) -> dict[str, Any]:
        # an object without items (a row, a dataclass) is read by attribute alone, as _value
        # would, without asking it again for every field
        read = _value if hasattr(obj, "__getitem__") else (lambda o, key: getattr(o, key, missing))
        out = {}
        for name, convert in steps:
            value = read(obj, name)
            if value is not missing:
                out[name] = convert(value)
        return out

    return dump


def plain(schema: Schema) -> Dump:
    """`schema.dump`, the same result for one object, without marshmallow where it can."""
    return _plan(schema) or schema.dump
