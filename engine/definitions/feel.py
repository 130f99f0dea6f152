"""FEEL as Camunda Modeler writes it in decision tables, translated once at deploy into the
sandboxed Python the engine already evaluates: unary tests of input entries (`< 10`, `>= 5`,
`[1..5]`, `]1..5[`, `(1..5)`, `"a","b"`, `1, 2`, strings, numbers, `true`/`false`, `null`,
`not(...)`, `date("2024-01-31")`, variable names, and `-` or nothing for any value) and output
literals (numbers, strings, booleans, `null`, dates, variable names). A unary test becomes a
Python expression over `INPUT` (the input expression's value); a comparison with a missing value
is false, as in FEEL, rather than an error (the decision engine also takes a comparison of
values of different types as no match, FEEL's null). Dates become ISO strings, and the decision engine
compares date inputs by their ISO text. Anything else (arithmetic, function calls, `?`,
`matches(...)`) raises `FeelError` naming the construct, so a table is refused at deploy
instead of failing in a running instance."""
from __future__ import annotations

import re
from dataclasses import dataclass

# the name the translated tests use for the input's value (no leading underscore: the sandbox)
INPUT = "dmninputexpr"

_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<string>"(?:[^"\\]|\\.)*")
  | (?P<range>\.\.)
  | (?P<number>\d+(?:\.\d+)?|\.\d+)
  | (?P<op><=|>=|!=|<|>|=)
  | (?P<punct>[\[\]\(\),\-.])
  | (?P<name>[^\W\d]\w*)
""", re.VERBOSE | re.UNICODE)
_KEYWORDS = {"true": "True", "false": "False", "null": "None"}
_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "t": "\t", "r": "\r", "'": "'"}


class FeelError(ValueError):
    """A FEEL text outside the supported subset; the message names the construct."""


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str


def _tokens(text: str) -> list[_Token]:
    found, pos = [], 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            raise FeelError(f"unsupported FEEL: '{text[pos:pos + 12]}' (at character {pos + 1})")
        if match.lastgroup != "space":
            found.append(_Token(match.lastgroup or "", match.group()))
        pos = match.end()
    return found


def _string_value(literal: str) -> str:
    body, out, i = literal[1:-1], [], 0
    while i < len(body):
        if body[i] == "\\":
            code = body[i + 1]
            if code == "u" and re.match(r"[0-9a-fA-F]{4}", body[i + 2:i + 6]):
                out.append(chr(int(body[i + 2:i + 6], 16)))
                i += 6
                continue
            if code not in _ESCAPES:
                raise FeelError(f"unsupported escape '\\{code}' in a FEEL string")
            out.append(_ESCAPES[code])
            i += 2
            continue
        out.append(body[i])
        i += 1
    return "".join(out)


class _Reader:
    """A recursive-descent reader of one FEEL text; each method returns Python source."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.items = _tokens(text)
        self.pos = 0

    def peek(self, offset: int = 0) -> _Token | None:
        index = self.pos + offset
        return self.items[index] if index < len(self.items) else None

    def take(self, text: str | None = None) -> _Token:
        token = self.peek()
        if token is None or (text is not None and token.text != text):
            expected = f"'{text}'" if text else "more"
            raise FeelError(f"expected {expected} in '{self.text}'")
        self.pos += 1
        return token

    def at(self, text: str) -> bool:
        token = self.peek()
        return token is not None and token.text == text

    def done(self) -> None:
        token = self.peek()
        if token is not None:
            raise FeelError(f"unsupported FEEL: '{token.text}' in '{self.text}'")

    def endpoint(self) -> tuple[str, str]:
        """A literal or a name: (Python source, what it is: number, string, bool, null, name)."""
        token = self.take()
        if token.kind == "number":
            return repr(_number(token.text)), "number"
        if token.text == "-" and self.peek() is not None and self.peek().kind == "number":  # type: ignore[union-attr]
            return repr(-_number(self.take().text)), "number"
        if token.kind == "string":
            return repr(_string_value(token.text)), "string"
        if token.kind == "name":
            return self.name(token)
        raise FeelError(f"unsupported FEEL: '{token.text}' in '{self.text}'")

    def name(self, token: _Token) -> tuple[str, str]:
        if token.text in _KEYWORDS:
            return _KEYWORDS[token.text], ("null" if token.text == "null" else "bool")
        if token.text in ("date", "time") and (self.at("(") or self.at("and")):
            return self.temporal(token)
        if self.at("("):
            raise FeelError(f"function '{token.text}(...)' is not supported in '{self.text}'")
        if token.text.startswith("_"):
            raise FeelError(f"name '{token.text}' may not start with '_'")
        source = token.text
        while self.at("."):
            self.take(".")
            part = self.take()
            if part.kind != "name":
                raise FeelError(f"expected a name after '.' in '{self.text}'")
            source += f"[{part.text!r}]"
        return source, "name"

    def temporal(self, token: _Token) -> tuple[str, str]:
        function = token.text
        if function == "date" and self.at("and"):
            self.take("and")
            self.take("time")
            function = "date and time"
        self.take("(")
        literal = self.take()
        if literal.kind != "string":
            raise FeelError(f"{function}(...) needs a string in '{self.text}'")
        self.take(")")
        value = _string_value(literal.text)
        pattern = {"date": r"\d{4}-\d{2}-\d{2}", "time": r"\d{2}:\d{2}(:\d{2}(\.\d+)?)?",
                   "date and time": r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?"}[function]
        if not re.fullmatch(pattern, value):
            raise FeelError(f"{function}(\"{value}\") is not an ISO {function} without a zone")
        return repr(value), "string"


def _number(text: str) -> int | float:
    return float(text) if "." in text else int(text)


def unary_tests(text: str | None) -> str | None:
    """The Python test over `INPUT` for a FEEL input entry; None when any value matches."""
    if text is None or text.strip() in ("", "-"):
        return None
    reader = _Reader(text)
    if reader.at("not") and reader.peek(1) is not None and reader.peek(1).text == "(":  # type: ignore[union-attr]
        reader.take("not")
        reader.take("(")
        inner = _positive_tests(reader)
        reader.take(")")
        reader.done()
        return f"not ({inner})"
    result = _positive_tests(reader)
    reader.done()
    return result


def _positive_tests(reader: _Reader) -> str:
    tests = [_test(reader)]
    while reader.at(","):
        reader.take(",")
        tests.append(_test(reader))
    return tests[0] if len(tests) == 1 else " or ".join(f"({t})" for t in tests)


def _test(reader: _Reader) -> str:
    token = reader.peek()
    if token is None:
        raise FeelError(f"a test is missing in '{reader.text}'")
    if token.kind == "op":
        op = reader.take().text
        value, what = reader.endpoint()
        if op in ("=", "!="):
            return _equality(value, what, negate=op == "!=")
        _comparable(what, reader)
        return f"{_guard(what)} and {INPUT} {op} {value}"
    if token.text in ("[", "]", "("):
        return _interval(reader)
    value, what = reader.endpoint()
    return _equality(value, what)


def _guard(what: str) -> str:
    """The input is comparable: not null, and for a number not a boolean (true is not 1)."""
    if what == "number":
        return f"{INPUT} is not None and {INPUT} is not True and {INPUT} is not False"
    return f"{INPUT} is not None"


def _equality(value: str, what: str, negate: bool = False) -> str:
    if what in ("bool", "null"):
        return f"{INPUT} is {'not ' if negate else ''}{value}"
    test = f"{INPUT} == {value}" if what != "number" else f"({_guard(what)} and {INPUT} == {value})"
    return f"not ({test})" if negate else test


def _comparable(what: str, reader: _Reader) -> None:
    if what in ("bool", "null"):
        raise FeelError(f"'{reader.text}' compares with true, false or null by order")


def _interval(reader: _Reader) -> str:
    opening = reader.take().text
    low, low_kind = reader.endpoint()
    reader.take("..")
    high, high_kind = reader.endpoint()
    closing = reader.take()
    if closing.text not in ("]", "[", ")"):
        raise FeelError(f"an interval must end with ']', '[' or ')' in '{reader.text}'")
    _comparable(low_kind, reader)
    _comparable(high_kind, reader)
    low_op = "<=" if opening == "[" else "<"
    high_op = "<=" if closing.text == "]" else "<"
    return f"{_guard(low_kind)} and {low} {low_op} {INPUT} {high_op} {high}"


def output_literal(text: str | None) -> str:
    """The Python expression for a FEEL output entry: a literal or a variable name; an empty
    entry is null."""
    if text is None or not text.strip():
        return "None"
    reader = _Reader(text)
    value, _ = reader.endpoint()
    reader.done()
    return value


def is_unary_tests(text: str | None) -> bool:
    """Whether the text is FEEL this module translates (for tables in either language)."""
    try:
        unary_tests(text)
    except (FeelError, IndexError):
        return False
    return True


def is_output_literal(text: str | None) -> bool:
    try:
        output_literal(text)
    except (FeelError, IndexError):
        return False
    return True


def literal_list(text: str | None) -> list[object]:
    """The values of a FEEL list of literals, as an output's allowed values are written
    (`"high","medium","low"`), in their order."""
    import ast
    if text is None or not text.strip():
        return []
    reader = _Reader(text)
    values = []
    while True:
        source, what = reader.endpoint()
        if what == "name":
            raise FeelError(f"output values must be literals, not '{source}'")
        values.append(ast.literal_eval(source))
        if not reader.at(","):
            break
        reader.take(",")
    reader.done()
    return values
