"""Camunda 7's JUEL, the subset process designers write in `${...}`, translated once at deploy
into the Python expression the sandbox (engine/scripting/sandbox.py) evaluates at run time.

The subset: `!`/`not`, `&&`/`and`, `||`/`or`, `==`/`eq`, `!=`/`ne`, `<`/`lt`, `>`/`gt`,
`<=`/`le`, `>=`/`ge`, `empty`, `null`, `true`/`false`, `a ? b : c`, `a.b` and `a[b]` property
access, parentheses, string and number literals, and `+ - * / div % mod`. Meaning as in Camunda
7: `empty x` is true for null, "" and an empty list or map; `a.b` on a map is its entry `b`, null
when absent; on null it is null; on anything else (a date) it is the attribute, so `${d.year}`
means what it meant as Python.

JUEL or Python: the text inside `${...}` is read as JUEL first; if it is within the subset, its
translation is used (where both languages read the same, the translation is the same text).
If it is not, and it has none of JUEL's own marks (`&&`, `||`, a lone `!`, `?`, the words
`eq ne lt gt le ge empty null true false div mod`, Camunda's `execution` or `task`, a Java
method call such as `.size()` or a camelCase one such as `.plusDays(3)`), it is a
Python expression, as it always was. Otherwise it is JUEL outside the subset, and `JuelError`
names the construct (a method call, a function, `#{...}`...)."""
from __future__ import annotations

import keyword
import re
from dataclasses import dataclass

_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<number>\d+\.\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?|\d+(?:[eE][+-]?\d+)?)
  | (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
  | (?P<ident>[A-Za-z_$][A-Za-z0-9_$]*)
  | (?P<op>&&|\|\||==|!=|<=|>=|[<>!?:.\[\]()+\-*/%,{}#=&|;])
""", re.VERBOSE)
_WORD_OPS = {"and": "and", "or": "or", "not": "not", "eq": "==", "ne": "!=", "lt": "<", "gt": ">",
             "le": "<=", "ge": ">=", "div": "/", "mod": "%", "empty": "empty",
             "instanceof": "instanceof"}
_LITERALS = {"true": "True", "false": "False", "null": "None"}
_JUEL_WORDS = set(_WORD_OPS) - {"and", "or", "not"} | set(_LITERALS)
_CAMUNDA_BEANS = {"execution", "task", "authenticatedUserId", "camunda"}
# Java methods Camunda users call in JUEL whose names could pass for Python's
_JAVA_METHODS = {"size", "isEmpty", "equals", "contains", "length", "toString", "startsWith",
                 "endsWith", "toUpperCase", "toLowerCase", "getValue", "containsKey"}
_MAX_CHAIN = 4
_COMPARE = {"==": "==", "!=": "!=", "<": "<", ">": ">", "<=": "<=", ">=": ">="}


class JuelError(Exception):
    """A `${...}` expression that is JUEL but outside the supported subset."""


@dataclass
class _Token:
    kind: str  # number, string, ident, op, end
    text: str
    pos: int


def _tokens(text: str) -> list[_Token]:
    found: list[_Token] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            raise JuelError(f"the character {text[pos]!r} at position {pos + 1}")
        kind = match.lastgroup or "ws"
        if kind != "ws":
            found.append(_Token(kind, match.group(), pos))
        pos = match.end()
    found.append(_Token("end", "", len(text)))
    return found


class _Parser:
    """Recursive descent over JUEL's precedence levels, producing Python source."""

    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.at = 0
        self.depth = 0  # property accesses so far; each one repeats its base three times

    @property
    def tok(self) -> _Token:
        return self.tokens[self.at]

    def take(self) -> _Token:
        token = self.tokens[self.at]
        self.at += 1
        return token

    def word(self, *ops: str) -> str | None:
        """The operator at this position (symbol or JUEL word), consumed, if it is one of ops."""
        token = self.tok
        if token.kind == "op" and token.text in ops:
            self.at += 1
            return token.text
        if token.kind == "ident" and token.text in _WORD_OPS and _WORD_OPS[token.text] in ops:
            self.at += 1
            return _WORD_OPS[token.text]
        return None

    def expect(self, text: str) -> None:
        if self.tok.kind != "op" or self.tok.text != text:
            raise JuelError(self.describe(self.tok, f"'{text}' expected"))
        self.at += 1

    @staticmethod
    def describe(token: _Token, what: str | None = None) -> str:
        if token.kind == "end":
            return what or "an incomplete expression"
        return f"{what + ': ' if what else ''}'{token.text}' at position {token.pos + 1}"

    def parse(self) -> str:
        result = self.ternary()
        if self.tok.kind != "end":
            raise JuelError(self.unexpected(self.tok))
        return result

    def unexpected(self, token: _Token) -> str:
        if token.text == "(":
            return self.describe(token, "a method or function call")
        if token.text in ("#", "{"):
            return self.describe(token, "a nested or deferred expression")
        if token.text == "instanceof":
            return self.describe(token, "the instanceof operator")
        return self.describe(token, "unexpected")

    def ternary(self) -> str:
        condition = self.disjunction()
        if self.tok.kind == "op" and self.tok.text == "?":
            self.take()
            then = self.ternary()
            self.expect(":")
            otherwise = self.ternary()
            return f"({then} if {condition} else {otherwise})"
        return condition

    def disjunction(self) -> str:
        left = self.conjunction()
        while self.word("||", "or"):
            left = f"({left} or {self.conjunction()})"
        return left

    def conjunction(self) -> str:
        left = self.equality()
        while self.word("&&", "and"):
            left = f"({left} and {self.equality()})"
        return left

    def equality(self) -> str:
        left = self.relation()
        while (op := self.word("==", "!=")):
            left = f"({left} {_COMPARE[op]} {self.relation()})"
        return left

    def relation(self) -> str:
        left = self.additive()
        while (op := self.word("<", ">", "<=", ">=")):
            left = f"({left} {_COMPARE[op]} {self.additive()})"
        return left

    def additive(self) -> str:
        left = self.multiplicative()
        while (op := self.word("+", "-")):
            left = f"({left} {op} {self.multiplicative()})"
        return left

    def multiplicative(self) -> str:
        left = self.unary()
        while (op := self.word("*", "/", "%")):
            left = f"({left} {op} {self.unary()})"
        return left

    def unary(self) -> str:
        if self.word("!", "not"):
            return f"(not {self.unary()})"
        if self.word("empty"):
            operand = self.unary()
            return f"({operand} is None or {operand} == '' or {operand} == [] or {operand} == {{}})"
        if self.word("-"):
            return f"(-{self.unary()})"
        return self.value()

    def value(self) -> str:
        result = self.primary()
        while self.tok.kind == "op" and self.tok.text in (".", "["):
            if self.take().text == ".":
                name = self.take()
                if name.kind != "ident" or name.text.startswith("_"):
                    raise JuelError(self.describe(name, "a property name expected"))
                result = self.prop(result, repr(name.text))
            else:
                index = self.ternary()
                self.expect("]")
                result = f"{result}[{index}]"
            if self.tok.kind == "op" and self.tok.text == "(":
                raise JuelError(self.describe(self.tok, "a method call"))
        return result

    def prop(self, base: str, key: str) -> str:
        """`a.b` as Camunda reads it: a map's entry (null when absent), a bean's property, and
        null on null."""
        self.depth += 1
        if self.depth > _MAX_CHAIN:
            raise JuelError(f"a property chain longer than {_MAX_CHAIN} (use a script task)")
        return (f"({base}.get({key}) if isinstance({base}, dict) else None if {base} is None "
                f"else getattr({base}, {key}))")

    def primary(self) -> str:
        token = self.take()
        if token.kind == "number":
            return token.text
        if token.kind == "string":
            return repr(_unquote(token.text))
        if token.kind == "ident":
            return self.identifier(token)
        if token.kind == "op" and token.text == "(":
            inner = self.ternary()
            self.expect(")")
            return f"({inner})"
        raise JuelError(self.unexpected(token))

    def identifier(self, token: _Token) -> str:
        name = token.text
        if name in _LITERALS:
            return _LITERALS[name]
        if name in _WORD_OPS:
            raise JuelError(self.describe(token, "an operator where a value was expected"))
        if name in _CAMUNDA_BEANS:
            raise JuelError(self.describe(token, f"Camunda's '{name}' object"))
        if self.tok.kind == "op" and self.tok.text == "(":
            raise JuelError(self.describe(token, "a function call"))
        if "$" in name or (keyword.iskeyword(name) and name not in ("True", "False", "None")):
            raise JuelError(self.describe(token, "not a variable name"))
        return name


def _unquote(literal: str) -> str:
    return re.sub(r"\\(.)", r"\1", literal[1:-1])


def _looks_like_juel(text: str) -> bool:
    try:
        tokens = _tokens(text)
    except JuelError:
        return False
    for before, token, after in zip([None, *tokens], tokens, [*tokens[1:], None]):
        if token.kind == "op" and token.text in ("&&", "||", "!", "?", "#"):
            return True
        if before is not None and before.text == "." and after is not None and after.text == "(" \
                and (token.text in _JAVA_METHODS or token.text != token.text.lower()):
            return True  # a Java method: `x.size()`, `d.plusDays(3)`
        if token.kind == "ident" and (token.text in _JUEL_WORDS or token.text in _CAMUNDA_BEANS):
            return True
    return False


def to_python(expression: str) -> str:
    """The Python expression for the text inside `${...}`: its JUEL translation, or the text
    itself if it is Python. Raises JuelError naming the construct for JUEL outside the subset."""
    try:
        return _Parser(expression).parse()
    except JuelError:
        if _looks_like_juel(expression):
            raise
        return expression


def unwrap(text: str) -> str | None:
    """The inside of a whole `${...}` (or `#{...}`) value, or None if it is not one."""
    stripped = text.strip()
    if len(stripped) >= 3 and stripped[:2] in ("${", "#{") and stripped.endswith("}"):
        return stripped[2:-1]
    return None


def split_names(value: str) -> list[str]:
    """A comma-separated attribute value (`reviewers, ${lead}`) split at the commas outside
    `${...}`, so that an expression keeps its own commas."""
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    i = 0
    while i < len(value):
        if depth == 0 and value.startswith("${", i):
            depth, i = 1, i + 2
            current.append("${")
            continue
        char = value[i]
        if depth:
            depth += {"{": 1, "}": -1}.get(char, 0)
        elif char == ",":
            parts.append("".join(current))
            current = []
            i += 1
            continue
        current.append(char)
        i += 1
    parts.append("".join(current))
    return [part.strip() for part in parts if part.strip()]
