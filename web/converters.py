"""URL converters for ids. A number in a URL is looked up in a database column of fixed width
(INTEGER is 32-bit on PostgreSQL, BIGINT 64-bit; SQLite refuses Python ints past 64 bits with an
OverflowError), so an id outside the column's range can name nothing: the route does not match
and the answer is 404, before any view or query runs. Registered under the name `int`, so
every `<int:...>` route is bounded without naming it; `<bigid:...>` is for BIGINT keys. The
bound is in the converter's regex, not only in `to_python`: werkzeug checks a rule's method
before converting, so a path that merely failed conversion would be a 405 on a path that
other methods share."""
from __future__ import annotations

from flask import Flask
from werkzeug.routing import IntegerConverter, Map

INTEGER_MAX = 2**31 - 1
BIGINT_MAX = 2**63 - 1


def at_most(limit: int) -> str:
    """A regex (no capturing groups) for the decimal numbers 0..limit, leading zeros allowed."""
    digits = str(limit)
    alternatives = [f"[0-9]{{1,{len(digits) - 1}}}"] if len(digits) > 1 else []
    for i, digit in enumerate(map(int, digits)):
        low = 1 if i == 0 and len(digits) > 1 else 0
        rest = len(digits) - i - 1
        if digit - 1 >= low:
            alternatives.append(digits[:i] + f"[{low}-{digit - 1}]" + (f"[0-9]{{{rest}}}" if rest else ""))
    alternatives.append(digits)
    return "0*(?:" + "|".join(alternatives) + ")"


class IdConverter(IntegerConverter):
    """A non-negative number no larger than an INTEGER column holds (unless `max` is given)."""

    column_max = INTEGER_MAX

    def __init__(self, map: Map, fixed_digits: int = 0, min: int | None = None,  # noqa: A002
                 max: int | None = None, signed: bool = False) -> None:  # noqa: A002
        bound = self.column_max if max is None else max
        self.regex = at_most(bound)
        super().__init__(map, fixed_digits, min, bound, signed)


class BigIdConverter(IdConverter):
    column_max = BIGINT_MAX


def bounded_id(value: str) -> int:
    """An id from a query string or a form (`request.args.get(name, type=bounded_id)`): a
    ValueError past an INTEGER column's range, which werkzeug turns into the default."""
    number = int(value)
    if not 0 <= number <= INTEGER_MAX:
        raise ValueError(f"{value} is not an id")
    return number


def register(app: Flask) -> None:
    """Before any blueprint is registered: rules pick their converter when they are added."""
    app.url_map.converters["int"] = IdConverter
    app.url_map.converters["bigid"] = BigIdConverter
