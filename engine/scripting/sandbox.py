"""Compiling and running untrusted BPMN scripts and expressions safely. Process designers write
script tasks, gateway conditions and `${expr}` expressions; this module is the only place they
are compiled (RestrictedPython plus our own policy pass and AST rewrites) and where it is decided
where they run. `LocalEnvironment` runs restricted code in the current process: a curated
builtins dict, guards for attribute/item/iteration access, a per-run deadline checked by
`_tick_()` on every loop iteration and every function or lambda call, and size caps on `*`,
`**`, `<<`, `+`, `%`, format specs and growing string/list methods. Those bounds are
cooperative: a single long C call (`sum` of lists, `str` of a huge nesting) ignores them and,
holding the GIL, would stall every thread of the server. So `RestrictedEnvironment`, the one
SpiffWorkflow's script engine uses, runs every script and every expression that is not
provably bounded (see `is_bounded_expression`) in a worker process (engine/scripting/script_worker.py)
that is killed past its limit and has an OS memory limit; `LocalEnvironment` is what runs inside
that worker, and in the server only for bounded expressions. `check_expression` /
`check_script` serve deploy-time validation."""
from __future__ import annotations

import _string  # CPython's format-field parser, the one str.format itself uses
import ast
import contextvars
import copy
import functools
import operator
import re
import string
import time
from dataclasses import dataclass
from datetime import date, datetime, time as clock_time, timedelta, timezone
from decimal import Decimal
from types import CodeType
from typing import Any, Callable, Iterable, Iterator
from uuid import UUID

from RestrictedPython import compile_restricted_eval, compile_restricted_exec
from RestrictedPython.Guards import (guarded_iter_unpack_sequence, guarded_unpack_sequence,
                                     safe_builtins)
from RestrictedPython.transformer import INSPECT_ATTRIBUTES, RestrictingNodeTransformer
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

TIME_LIMIT_SECONDS: float = 2.0
MAX_SEQUENCE_LENGTH = 10_000_000  # items/characters one operation may produce
MAX_RANGE_LENGTH = 10_000_000
MAX_INT_BITS = 100_000  # ~30,000 decimal digits: far beyond any business number
MAX_FORMAT_WIDTH = 10_000  # widths/precisions in format specs and %-formatting
COMPILE_CACHE_SIZE = 2048

_FILENAME = "<string>"  # SpiffWorkflow finds the failing script line by this frame name
SCRIPT_FILENAME = _FILENAME


class ScriptRejected(Exception):
    """The script or expression does something scripts may not do (at compile or run time)."""

    def __init__(self, message: str, lineno: int | None = None) -> None:
        super().__init__(message)
        self.lineno = lineno


class ScriptTimeout(Exception):
    """The script or expression ran longer than its time limit."""


class ScriptLimitExceeded(ScriptRejected):
    """The script used more memory than its worker may, or handed back more than may be kept."""


def timeout_message(limit: float) -> str:
    return f"the script ran past its limit of {limit:g} s"


# ---------------------------------------------------------------------------------------------
# Policy: friendly, designer-facing refusals found before RestrictedPython's own checks.

# Calls refused outright; as plain names they may still be task-data fields (e.g. `type`).
_FORBIDDEN_CALLS = frozenset({
    "eval", "exec", "compile", "open", "globals", "locals", "vars", "dir", "breakpoint",
    "input", "help", "exit", "quit", "type", "object", "super", "memoryview", "bytearray",
    "setattr", "delattr", "classmethod", "staticmethod", "property", "id",
})
# `mro` hands out base classes (BaseException, object) without a single underscore.
_FORBIDDEN_ATTRIBUTES = frozenset(INSPECT_ATTRIBUTES) | {"mro"}


def _attribute_forbidden(name: str) -> bool:
    return name.startswith("_") or name in _FORBIDDEN_ATTRIBUTES


def _format_field_attributes(template: str) -> Iterator[str]:
    """Attribute names used in `{...}` fields of a str.format template."""
    for _, field, _, _ in string.Formatter().parse(template):
        if field:
            _, rest = _string.formatter_field_name_split(field)
            yield from (key for is_attr, key in rest if is_attr)


class _PolicyCheck(ast.NodeVisitor):
    """Collects the first policy violation, worded for a process designer."""

    def __init__(self) -> None:
        self.problem: tuple[int | None, str] | None = None

    def refuse(self, node: ast.AST, message: str) -> None:
        if self.problem is None:
            self.problem = (getattr(node, "lineno", None), message)

    def visit_Import(self, node: ast.Import | ast.ImportFrom) -> None:
        self.refuse(node, "imports are not allowed in scripts")

    visit_ImportFrom = visit_Import

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.refuse(node, "class definitions are not allowed in scripts")

    def visit_Attribute(self, node: ast.Attribute) -> None:
        self.generic_visit(node)  # inner first: report the leftmost offending attribute
        if _attribute_forbidden(node.attr):
            self.refuse(node, f"attribute '{node.attr}' is not allowed")

    def visit_Name(self, node: ast.Name) -> None:
        self._check_name(node, node.id)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._check_name(node, node.name)
        self.generic_visit(node)

    def visit_arg(self, node: ast.arg) -> None:
        self._check_name(node, node.arg)
        self.generic_visit(node)

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        self._check_name(node, node.name)
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Name) and func.id in _FORBIDDEN_CALLS:
            self.refuse(node, f"{func.id}() is not allowed in scripts")
        elif isinstance(func, ast.Name) and func.id in ("getattr", "hasattr"):
            self._check_literal_attribute(node)
        elif isinstance(func, ast.Attribute) and func.attr in ("format", "format_map"):
            self._check_format_template(node, func.value)
        self.generic_visit(node)

    def _check_name(self, node: ast.AST, name: str | None) -> None:
        if name and name.startswith("_") and name != "_":
            self.refuse(node, f"name '{name}' is not allowed")

    def _check_literal_attribute(self, node: ast.Call) -> None:
        if len(node.args) >= 2 and isinstance(node.args[1], ast.Constant):
            name = node.args[1].value
            if isinstance(name, str) and _attribute_forbidden(name):
                self.refuse(node, f"attribute '{name}' is not allowed")

    def _check_format_template(self, node: ast.Call, template: ast.expr) -> None:
        if not (isinstance(template, ast.Constant) and isinstance(template.value, str)):
            return
        try:
            names = list(_format_field_attributes(template.value))
        except ValueError:
            return  # malformed template: str.format reports it when run
        if names:
            self.refuse(node, f"attribute '{names[0]}' is not allowed in format fields")


# ---------------------------------------------------------------------------------------------
# RestrictedPython policy subclass: deadline ticks and guarded operators.

_BINOP_HELPERS = {ast.Mult: "_mul_", ast.Pow: "_pow_", ast.LShift: "_lshift_", ast.Add: "_add_",
                  ast.Mod: "_mod_"}
_AUG_OPERATORS = {ast.Add: "+=", ast.Sub: "-=", ast.Mult: "*=", ast.Div: "/=",
                  ast.FloorDiv: "//=", ast.Mod: "%=", ast.Pow: "**=", ast.LShift: "<<=",
                  ast.RShift: ">>=", ast.BitAnd: "&=", ast.BitOr: "|=", ast.BitXor: "^=",
                  ast.MatMult: "@="}


def _place(new: ast.AST, old: ast.AST) -> ast.AST:
    """Give generated nodes the source position of the node they replace, so tracebacks
    (and SpiffWorkflow's error line) point at the designer's line."""
    for node in ast.walk(new):
        for attr in ("lineno", "col_offset", "end_lineno", "end_col_offset"):
            if attr in node._attributes and getattr(node, attr, None) is None:
                setattr(node, attr, getattr(old, attr, 1 if attr == "lineno" else 0))
    return new


def _call(helper: str, *args: ast.expr) -> ast.Call:
    return ast.Call(func=ast.Name(helper, ast.Load()), args=list(args), keywords=[])


class _SandboxPolicy(RestrictingNodeTransformer):
    """RestrictedPython's checks plus our rewrites. Generated nodes are built after their
    children were visited, so our own `_helper_` names never meet RestrictedPython's
    underscore check; only `_own_names` (aug-assign temporaries) are let through explicitly."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._own_names: set[str] = {"_inplacevar_"}

    def check_name(self, node: Any, name: str | None, allow_magic_methods: bool = False) -> None:
        if name not in self._own_names:
            super().check_name(node, name, allow_magic_methods)

    def _tick(self, at: ast.AST) -> ast.stmt:
        return _place(ast.Expr(_call("_tick_")), at)  # type: ignore[return-value]

    # Every while iteration and every function call checks the deadline first, outside any
    # try block the designer wrote around the body. For loops and comprehensions need no
    # statement: RestrictedPython routes their iteration through `_getiter_`, which ticks.
    def visit_While(self, node: ast.While) -> ast.AST:
        node = super().visit_While(node)
        node.body.insert(0, self._tick(node))
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        node = super().visit_FunctionDef(node)
        node.body.insert(0, self._tick(node))
        return node

    def visit_Lambda(self, node: ast.Lambda) -> ast.AST:
        node = super().visit_Lambda(node)
        # `_tick_()` returns None, so `None or body` is exactly `body`.
        node.body = _place(ast.BoolOp(op=ast.Or(), values=[_call("_tick_"), node.body]), node)
        return node

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        node = super().visit_BinOp(node)
        helper = _BINOP_HELPERS.get(type(node.op))
        return _place(_call(helper, node.left, node.right), node) if helper else node

    def visit_FormattedValue(self, node: ast.FormattedValue) -> ast.AST:
        node = super().visit_FormattedValue(node)
        if node.format_spec is None:
            return node
        # f"{x:{w}}" -> f"{_format_(x, conversion, f'{w}')}" so the spec's width is checked.
        checked = _call("_format_", node.value, ast.Constant(node.conversion), node.format_spec)
        return _place(ast.FormattedValue(value=checked, conversion=-1, format_spec=None), node)

    def visit_AugAssign(self, node: ast.AugAssign) -> Any:
        if not isinstance(node.target, ast.Subscript):
            return super().visit_AugAssign(node)
        return self._subscript_aug_assign(node)

    def _subscript_aug_assign(self, node: ast.AugAssign) -> list[ast.AST]:
        """`d[k] += v` (RestrictedPython refuses it; scripts need it) becomes
        `t1 = d; t2 = k; t1[t2] = _inplacevar_('+=', t1[t2], v); del t1, t2`, then the
        ordinary guards (_getitem_/_write_) are applied by visiting the new statements."""
        target = node.target
        holder = self.gen_tmp_name()
        self._own_names.add(holder)
        statements: list[ast.stmt] = [_assign(holder, target.value)]
        temps = [holder]
        if isinstance(target.slice, ast.Slice):
            key = target.slice  # a slice is no value of its own; evaluate it twice
        else:
            temps.append(self.gen_tmp_name())
            self._own_names.add(temps[-1])
            statements.append(_assign(temps[-1], target.slice))
            key = ast.Name(temps[-1], ast.Load())
        current = ast.Subscript(ast.Name(holder, ast.Load()), copy.deepcopy(key), ast.Load())
        updated = _call("_inplacevar_", ast.Constant(_AUG_OPERATORS[type(node.op)]), current,
                        node.value)
        store = ast.Subscript(ast.Name(holder, ast.Load()), copy.deepcopy(key), ast.Store())
        statements.append(ast.Assign(targets=[store], value=updated))
        statements.append(ast.Delete(targets=[ast.Name(t, ast.Del()) for t in temps]))
        return _flatten(self.visit(_place(statement, node)) for statement in statements)


def _assign(name: str, value: ast.expr) -> ast.Assign:
    return ast.Assign(targets=[ast.Name(name, ast.Store())], value=value)


def _flatten(results: Iterable[Any]) -> list[ast.AST]:
    flat: list[ast.AST] = []
    for result in results:
        flat.extend(result if isinstance(result, list) else [result])
    return flat


# ---------------------------------------------------------------------------------------------
# Compilation (cached) and the public checks.

@dataclass(frozen=True)
class _Compiled:
    code: CodeType | None = None
    problem: str | None = None  # designer-facing message, "line N: ..."
    lineno: int | None = None
    syntax_error_args: tuple[Any, ...] | None = None  # to raise a fresh SyntaxError each time
    bounded: bool = False  # an expression that may run in the server (is_bounded_expression)


def _prepare(source: str, mode: str) -> str:
    # eval() itself ignores leading blanks of an expression; ast.parse does not.
    return source.lstrip(" \t") if mode == "eval" else source


@functools.lru_cache(maxsize=COMPILE_CACHE_SIZE)  # lru_cache is thread-safe
def _compile(source: str, mode: str) -> _Compiled:
    try:
        tree = ast.parse(_prepare(source, mode), _FILENAME, mode)
    except SyntaxError as err:
        message = f"line {err.lineno}: syntax error: {err.msg}"
        return _Compiled(problem=message, lineno=err.lineno, syntax_error_args=err.args)
    except ValueError as err:  # e.g. NUL bytes
        return _Compiled(problem=f"syntax error: {err}")
    policy = _PolicyCheck()
    policy.visit(tree)
    if policy.problem:
        lineno, message = policy.problem
        return _Compiled(problem=f"line {lineno}: {message}", lineno=lineno)
    bounded = mode == "eval" and _bounded(tree)  # before RestrictedPython rewrites the tree
    compiled = _restricted_compile(tree, mode)
    if compiled.code is not None and bounded:
        return _Compiled(code=compiled.code, bounded=True)
    return compiled


# An expression may run in the server process only if its cost is bounded by its own size and
# the size of the task data it reads: no calls (so no C builtin can run long), no comprehensions
# or lambdas (no loops), no f-strings or `%` (no text made of a whole nested value), and no
# operator that multiplies sizes (`*`, `**`, `<<`, `@`). What is left reads values, compares
# and combines them: `+` of sequences is at most the sum of what it adds, and every
# intermediate value is used once (no walrus), so nothing grows beyond the data it came from.
# Task data itself holds no shared parts (it comes from JSON, forms, or a worker that writes
# shared parts out in full), so reading it costs its stored size.
_BOUNDED_NODES = (
    ast.Expression, ast.Constant, ast.Name, ast.Load, ast.Attribute, ast.Subscript, ast.Slice,
    ast.Compare, ast.BoolOp, ast.UnaryOp, ast.IfExp, ast.List, ast.Tuple, ast.Set, ast.Dict,
    ast.BinOp, ast.cmpop, ast.boolop, ast.unaryop,
    ast.Add, ast.Sub, ast.Div, ast.FloorDiv, ast.BitAnd, ast.BitOr, ast.BitXor, ast.RShift,
)


def _bounded(tree: ast.AST) -> bool:
    return all(isinstance(node, _BOUNDED_NODES) for node in ast.walk(tree))


def is_bounded_expression(source: str) -> bool:
    """True if `source` is an allowed expression whose cost is bounded by its own size and the
    data it reads, so it may be evaluated inside the server: it is made only of names,
    constants, attribute and item access (slices too), comparisons (`in`, `is`, ...), `and`,
    `or`, `not`, unary `-`/`+`/`~`, `a if c else b`, list/tuple/set/dict displays, and the
    operators `+ - / // & | ^ >>`. Anything else (a call, a comprehension, a lambda, an
    f-string, `*`, `**`, `%`, `<<`, `@`, `:=`, `*x`) runs in a worker process, as every script
    does."""
    return isinstance(source, str) and _compile(source, "eval").bounded


def _restricted_compile(tree: ast.AST, mode: str) -> _Compiled:
    compiler = compile_restricted_eval if mode == "eval" else compile_restricted_exec
    result = compiler(tree, _FILENAME, policy=_SandboxPolicy)
    if result.errors:
        first = result.errors[0]
        match = re.match(r"Line (\d+): ", first)
        message = ("line " + first[5:]) if first.startswith("Line ") else first
        return _Compiled(problem=message, lineno=int(match.group(1)) if match else None)
    return _Compiled(code=result.code)


def _check(source: str, mode: str) -> str | None:
    if not isinstance(source, str):
        return "the script is empty" if source is None else "the script must be text"
    return _compile(source, mode).problem


def check_expression(source: str) -> str | None:
    """None if `source` is an allowed expression, else a message for the process designer."""
    return _check(source, "eval")


def check_script(source: str) -> str | None:
    """None if `source` is an allowed script, else a message for the process designer."""
    return _check(source, "exec")


def code_or_raise(source: str, mode: str) -> CodeType:
    """The compiled code, or the SyntaxError / ScriptRejected a script author reads."""
    if not isinstance(source, str):
        raise TypeError(f"a script must be text, not {type(source).__name__}")
    compiled = _compile(source, mode)
    if compiled.syntax_error_args is not None:
        # A real SyntaxError, as TaskDataEnvironment raises: SpiffWorkflow reads its lineno.
        raise SyntaxError(*compiled.syntax_error_args)
    if compiled.code is None:
        _raise_at_line(ScriptRejected(compiled.problem or "not allowed", compiled.lineno))
    return compiled.code  # type: ignore[return-value]


def _raise_at_line(error: ScriptRejected) -> None:
    raise_at_line(error, error.lineno)


def raise_at_line(error: BaseException, lineno: int | None) -> None:
    """SpiffWorkflow takes the failing line from the traceback frame named "<string>";
    raising from a stub compiled at the offending line gives compile-time rejections (and
    errors that happened in a worker process) the same line_number/error_line that errors
    raised in-process get."""
    if not lineno or lineno < 1:
        raise error
    stub = compile("\n" * (lineno - 1) + "raise error", _FILENAME, "exec")
    exec(stub, {"error": error, "__builtins__": {}})  # noqa: S102 - fixed, trusted stub


# ---------------------------------------------------------------------------------------------
# The deadline: one per run, found through a ContextVar so each web thread has its own.

@dataclass
class _Deadline:
    at: float
    limit: float
    expired: bool = False


_deadline: contextvars.ContextVar[_Deadline | None] = contextvars.ContextVar(
    "sandbox_deadline", default=None)


def _tick() -> None:
    deadline = _deadline.get()
    if deadline is not None and time.monotonic() > deadline.at:
        deadline.expired = True  # remembered even if the script catches the exception
        raise ScriptTimeout(timeout_message(deadline.limit))


def pause_deadline(seconds: float) -> None:
    """Time spent outside the script (a worker waiting for a script service the server runs)
    does not count against its limit."""
    deadline = _deadline.get()
    if deadline is not None:
        deadline.at += seconds


def _run(code: CodeType, namespace: dict[str, Any], limit: float) -> Any:
    outer = _deadline.get()
    at = time.monotonic() + limit
    # A nested run (an engine function evaluating again) never extends the outer deadline.
    deadline = _Deadline(min(at, outer.at) if outer else at, limit)
    token = _deadline.set(deadline)
    try:
        result = eval(code, namespace)  # noqa: S307 - restricted code, guarded namespace
    except ScriptTimeout:
        raise
    except BaseException:
        if deadline.expired:  # the script swallowed its timeout and failed differently
            raise ScriptTimeout(timeout_message(limit)) from None
        raise
    finally:
        _deadline.reset(token)
    if deadline.expired:  # the script swallowed its timeout and finished anyway
        raise ScriptTimeout(timeout_message(limit))
    return result


# ---------------------------------------------------------------------------------------------
# Size guards: refuse single operations whose result would be huge, before allocating it.

_SEQUENCES = (str, bytes, list, tuple)


def _check_length(length: int, what: str) -> None:
    if length > MAX_SEQUENCE_LENGTH:
        raise ScriptRejected(f"{what} would have {length:,} items; the limit is "
                             f"{MAX_SEQUENCE_LENGTH:,}")


def _check_bits(bits: int, what: str) -> None:
    if bits > MAX_INT_BITS:
        raise ScriptRejected(f"the result of {what} would be a number of about {bits:,} bits; "
                             f"the limit is {MAX_INT_BITS:,}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int)


def _check_mul(left: Any, right: Any) -> None:
    if _is_int(left) and _is_int(right):
        _check_bits(left.bit_length() + right.bit_length(), "'*'")
    elif isinstance(left, _SEQUENCES) and _is_int(right):
        _check_length(len(left) * right, "the result of '*'")
    elif isinstance(right, _SEQUENCES) and _is_int(left):
        _check_length(len(right) * left, "the result of '*'")


def _mul(left: Any, right: Any) -> Any:
    _check_mul(left, right)
    return left * right


def _check_add(left: Any, right: Any) -> None:
    # `list += iterable` accepts any sized iterable, hence __len__ rather than _SEQUENCES.
    if isinstance(left, _SEQUENCES) and hasattr(right, "__len__"):
        _check_length(len(left) + len(right), "the result of '+'")


def _add(left: Any, right: Any) -> Any:
    _check_add(left, right)
    return left + right


_MAX_MODULAR_POW_BITS = 4096


def _pow(base: Any, exponent: Any, modulus: Any = None) -> Any:
    if modulus is not None:
        # Modular pow is cheap only while the exponent and modulus stay small.
        if max(_bits(exponent), _bits(modulus)) > _MAX_MODULAR_POW_BITS:
            raise ScriptRejected(f"pow() with a modulus is limited to "
                                 f"{_MAX_MODULAR_POW_BITS}-bit numbers")
        return pow(base, exponent, modulus)
    if _is_int(base) and _is_int(exponent) and exponent > 0 and abs(base) > 1:
        # Lower bound of the result size; exact for powers of two.
        _check_bits((abs(base).bit_length() - 1) * exponent, "'**'")
    return base ** exponent


def _bits(value: Any) -> int:
    return value.bit_length() if _is_int(value) else 0


def _lshift(left: Any, right: Any) -> Any:
    if _is_int(left) and _is_int(right) and left and right > 0:
        _check_bits(left.bit_length() + right, "'<<'")
    return left << right


_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d*)(?:\.(\*|\d*))?")


def _check_width(number: str, where: str) -> None:
    if number == "*":
        raise ScriptRejected(f"'*' widths are not allowed in {where}")
    if number and (len(number) > 6 or int(number) > MAX_FORMAT_WIDTH):
        raise ScriptRejected(f"width {number} in {where} is too large; the limit is "
                             f"{MAX_FORMAT_WIDTH:,}")


def _mod(left: Any, right: Any) -> Any:
    if isinstance(left, (str, bytes)):
        text = left.decode("latin-1") if isinstance(left, bytes) else left
        for match in _PERCENT_SPEC.finditer(text):
            for number in match.groups():
                _check_width(number or "", "%-formatting")
    return left % right


def _check_format_spec(spec: str) -> None:
    for number in re.findall(r"\d+", spec):
        _check_width(number, "a format spec")


_CONVERSIONS: dict[int, Callable[[Any], str]] = {115: str, 114: repr, 97: ascii}


def _format(value: Any, conversion: int, spec: str) -> str:
    if conversion in _CONVERSIONS:
        value = _CONVERSIONS[conversion](value)
    _check_format_spec(spec)
    return format(value, spec)


def _iadd(target: Any, value: Any) -> Any:
    _check_add(target, value)
    return operator.iadd(target, value)  # in place for lists, as plain Python does


def _imul(target: Any, value: Any) -> Any:
    _check_mul(target, value)
    return operator.imul(target, value)


_INPLACE: dict[str, Callable[[Any, Any], Any]] = {
    "+=": _iadd, "-=": operator.isub, "*=": _imul, "/=": operator.itruediv,
    "//=": operator.ifloordiv, "%=": _mod, "**=": _pow, "<<=": _lshift,
    ">>=": operator.irshift, "&=": operator.iand, "|=": operator.ior, "^=": operator.ixor,
    "@=": operator.imatmul,
}


_NUMBERS = frozenset({int, float, Decimal})


def _inplacevar(op: str, target: Any, value: Any) -> Any:
    # Fast path for the counter/total updates that dominate script loops: adding numbers
    # cannot blow up in size.
    if op in ("+=", "-=") and type(target) in _NUMBERS and type(value) in _NUMBERS:
        return target + value if op == "+=" else target - value
    return _INPLACE[op](target, value)


# ---------------------------------------------------------------------------------------------
# Attribute, item, iteration and write guards.

class _SafeFormatter(string.Formatter):
    """str.format without attribute access in fields (`'{0.__class__}'`) and with bounded
    widths; indexing (`'{0[name]}'`) is plain item access and stays allowed."""

    def get_field(self, field_name: str, args: Any, kwargs: Any) -> tuple[Any, str]:
        first, rest = _string.formatter_field_name_split(field_name)
        value = self.get_value(first, args, kwargs)
        for is_attribute, key in rest:
            if is_attribute:
                raise ScriptRejected(f"attribute '{key}' is not allowed in format fields")
            value = value[key]
        return value, first

    def format_field(self, value: Any, format_spec: str) -> str:
        _check_format_spec(format_spec)
        return format(value, format_spec)


_FORMATTER = _SafeFormatter()


def _sized_method(obj: Any, name: str, method: Any) -> Any:
    """Bound methods that can grow a string/list far beyond their input get a size check.
    Plain closures, not functools.partial: a partial's `.args` would hand out the unguarded
    method."""
    if isinstance(obj, str) and name in ("format", "format_map"):
        return _safe_format_method(obj, name)
    guard = _TEXT_GUARDS.get(name) if isinstance(obj, (str, bytes)) else None
    if guard is not None:
        def guarded(*args: Any) -> Any:
            return guard(obj, method, *args)
        return guarded
    if isinstance(obj, list) and name == "extend":
        def extend(more: Iterable[Any]) -> None:
            _guarded_extend(obj, more)
        return extend
    return method


def _safe_format_method(text: str, name: str) -> Callable[..., str]:
    if name == "format":
        def format_(*args: Any, **kwargs: Any) -> str:
            return _FORMATTER.vformat(text, args, kwargs)
        return format_

    def format_map(mapping: Any) -> str:
        return _FORMATTER.vformat(text, (), mapping)
    return format_map


def _guarded_pad(obj: Any, method: Any, width: int, *args: Any) -> Any:
    _check_length(width, f"the padded {type(obj).__name__}")
    return method(width, *args)


def _guarded_expandtabs(obj: Any, method: Any, tabsize: int = 8) -> Any:
    _check_length(len(obj) * max(tabsize, 1), "the expanded text")
    return method(tabsize)


def _guarded_replace(obj: Any, method: Any, old: Any, new: Any, count: int = -1) -> Any:
    hits = obj.count(old) if count < 0 else min(obj.count(old), count)
    _check_length(len(obj) + hits * max(len(new) - len(old), 0), "the replaced text")
    return method(old, new, count)


def _guarded_join(obj: Any, method: Any, iterable: Iterable[Any]) -> Any:
    parts = list(iterable)
    total = sum(len(part) for part in parts if isinstance(part, (str, bytes)))
    _check_length(total + len(obj) * max(len(parts) - 1, 0), "the joined text")
    return method(parts)


def _guarded_extend(items: list[Any], more: Iterable[Any]) -> None:
    more = more if hasattr(more, "__len__") else list(more)
    _check_length(len(items) + len(more), "the extended list")  # type: ignore[arg-type]
    items.extend(more)


_TEXT_GUARDS: dict[str, Callable[..., Any]] = {
    "ljust": _guarded_pad, "rjust": _guarded_pad, "center": _guarded_pad, "zfill": _guarded_pad,
    "expandtabs": _guarded_expandtabs, "replace": _guarded_replace, "join": _guarded_join,
}

_MISSING = object()


def _guarded_getattr(obj: Any, name: str, default: Any = _MISSING) -> Any:
    """`_getattr_` for `obj.name` and the script's `getattr()`: no underscore or introspection
    attributes, str.format only through the safe formatter, growing methods size-checked."""
    if not isinstance(name, str):
        raise TypeError("attribute name must be a string")
    if _attribute_forbidden(name):
        raise ScriptRejected(f"attribute '{name}' is not allowed")
    if name in ("format", "format_map") and isinstance(obj, type) and issubclass(obj, str):
        raise ScriptRejected("str.format is only allowed as 'text'.format(...)")
    try:
        method = getattr(obj, name)
    except AttributeError:
        if default is _MISSING:
            raise
        return default
    return _sized_method(obj, name, method)


def _guarded_hasattr(obj: Any, name: str) -> bool:
    try:
        _guarded_getattr(obj, name)
    except AttributeError:
        return False
    return True


def _guarded_write(obj: Any) -> Any:
    """Scripts may change task data (dicts and lists), nothing else."""
    if isinstance(obj, (dict, list)):
        return obj
    raise ScriptRejected(f"a {type(obj).__name__} cannot be modified in a script")


def _ticking_iter(iterable: Any) -> Iterator[Any]:
    # Every for loop and comprehension goes through here, so C-speed comprehensions
    # also honour the deadline.
    for item in iterable:
        _tick()
        yield item


def _guarded_range(*args: int) -> range:
    span = range(*args)
    try:
        length = len(span)
    except OverflowError:
        length = MAX_RANGE_LENGTH + 1
    if length > MAX_RANGE_LENGTH:
        raise ScriptRejected(f"range() of {length:,} numbers is too large; the limit is "
                             f"{MAX_RANGE_LENGTH:,}")
    return span


def _apply(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return func(*args, **kwargs)


class _DiscardPrints:
    """`print` in scripts is accepted and dropped (nothing is converted, so it cannot be used
    to stringify something huge)."""

    def __init__(self, _getattr_: Any = None) -> None:
        pass

    def __call__(self) -> str:
        return ""

    def _call_print(self, *objects: Any, **kwargs: Any) -> None:
        pass


def _build_builtins() -> dict[str, Any]:
    dropped = {"__build_class__", "setattr", "delattr", "bytes", "id", "_getattr_",
               "BaseException", "SystemExit", "KeyboardInterrupt", "GeneratorExit"}
    names = {k: v for k, v in safe_builtins.items() if k not in dropped}
    names.update(min=min, max=max, sum=sum, len=len, sorted=sorted, reversed=reversed,
                 round=round, abs=abs, any=any, all=all, enumerate=enumerate, zip=zip, map=map,
                 filter=filter, dict=dict, list=list, set=set, tuple=tuple, str=str, int=int,
                 float=float, bool=bool, isinstance=isinstance, range=_guarded_range, pow=_pow,
                 getattr=_guarded_getattr, hasattr=_guarded_hasattr)
    names.update(datetime=datetime, date=date, timedelta=timedelta, timezone=timezone,
                 Decimal=Decimal)
    # Guards live among the builtins, not the globals: task data can shadow them only with
    # JSON values (which merely break the script), and nothing has to be removed afterwards.
    names.update(_getattr_=_guarded_getattr, _getitem_=operator.getitem, _getiter_=_ticking_iter,
                 _iter_unpack_sequence_=guarded_iter_unpack_sequence,
                 _unpack_sequence_=guarded_unpack_sequence, _write_=_guarded_write,
                 _inplacevar_=_inplacevar, _apply_=_apply, _print_=_DiscardPrints, _tick_=_tick,
                 _mul_=_mul, _add_=_add, _pow_=_pow, _lshift_=_lshift, _mod_=_mod,
                 _format_=_format)
    return names


_BUILTINS = _build_builtins()


# ---------------------------------------------------------------------------------------------
# What a script may leave in task data.

_DATA_SCALARS = (str, int, float, bool, type(None), datetime, date, clock_time, timedelta,
                 Decimal, UUID)
_DATA_KEYS = (str, int, float, bool, type(None))
_PLAIN_SCALAR_TYPES = frozenset(_DATA_SCALARS)


def is_data(root: Any) -> bool:
    """True if `root` is plain data (JSON plus dates/decimals), without cycles. Iterative and
    memoised, so deep nesting and heavy aliasing cost no recursion and little time."""
    done: set[int] = set()
    on_path: set[int] = set()
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        value, leaving = stack.pop()
        if leaving:
            on_path.discard(id(value))
            done.add(id(value))
        elif not isinstance(value, _DATA_SCALARS) and id(value) not in done:
            if not isinstance(value, (list, tuple, dict)) or id(value) in on_path:
                return False  # not data, or a cycle
            if isinstance(value, dict) and not all(isinstance(k, _DATA_KEYS) for k in value):
                return False
            on_path.add(id(value))
            stack.append((value, True))
            stack.extend(_non_scalar_children(value))
    return True


def _non_scalar_children(container: Any) -> list[tuple[Any, bool]]:
    children = container.values() if isinstance(container, dict) else container
    # set(map(type, ...)) runs at C speed: long lists of numbers/strings cost next to nothing.
    if set(map(type, children)) <= _PLAIN_SCALAR_TYPES:
        return []
    return [(child, False) for child in children if type(child) not in _PLAIN_SCALAR_TYPES]


# ---------------------------------------------------------------------------------------------
# The SpiffWorkflow environment.

class LocalEnvironment(BasePythonScriptEngineEnvironment):
    """TaskDataEnvironment's semantics, with restricted compilation and bounded execution, in
    the current process. Runs everything inside a script worker; in the server only what
    `RestrictedEnvironment` (engine/scripting/script_engine.py) decides is bounded."""

    def __init__(self, environment_globals: dict[str, Any] | None = None,
                 time_limit: float | None = None) -> None:
        super().__init__(environment_globals)
        self.time_limit = time_limit

    @property
    def limit(self) -> float:
        return self.time_limit if self.time_limit is not None else TIME_LIMIT_SECONDS

    def evaluate(self, expression: str, context: dict[str, Any],
                 external_context: dict[str, Any] | None = None) -> Any:
        code = code_or_raise(expression, "eval")
        namespace = copy.copy(self.globals)  # else we pollute all later evaluations
        self._prepare_context(context)
        namespace.update(external_context or {})
        namespace.update(context)
        namespace["__builtins__"] = _BUILTINS  # last: task data must not replace it
        return _run(code, namespace, self.limit)

    def execute(self, script: str, context: dict[str, Any],
                external_context: dict[str, Any] | None = None) -> bool:
        external_context = external_context or {}
        self.check_for_overwrite(context, external_context)
        code = code_or_raise(script, "exec")
        before = dict(context)
        self._prepare_context(context)
        context.update(self.globals)
        context.update(external_context)
        context["__builtins__"] = _BUILTINS
        try:
            _run(code, context, self.limit)
        finally:
            self._remove_globals_and_functions_from_context(context, external_context, before)
        return True

    def _prepare_context(self, context: dict[str, Any]) -> None:
        """Hook for subclasses, as in TaskDataEnvironment."""

    def _remove_globals_and_functions_from_context(
            self, context: dict[str, Any], external_context: dict[str, Any] | None = None,
            before: dict[str, Any] | None = None) -> None:
        """Drop what the run added that is not task data: builtins, globals, external names,
        functions, helper temporaries, and any new/rebound value that is not plain data."""
        external_context = external_context or {}
        before = before or {}
        for key in list(context):
            value = context[key]
            if (key == "__builtins__" or key in self.globals or key in external_context
                    or callable(value)):
                del context[key]
            elif key in before and before[key] is value:
                continue  # untouched by the script
            elif (key.startswith("_") and key not in before) or not is_data(value):
                del context[key]

    def check_for_overwrite(self, context: dict[str, Any],
                            external_context: dict[str, Any]) -> None:
        """Fail fast, as TaskDataEnvironment does, when task data would hide a predefined
        function."""
        overwrites = set(self.globals).intersection(context)
        overwrites.update(set(external_context).intersection(context))
        if overwrites:
            raise ValueError(
                "You have task data that overwrites a predefined function(s). Please change "
                f"the following variable or field name(s) to something else: {overwrites}")
