"""engine.scripting.sandbox: untrusted BPMN scripts and expressions run restricted and time-bounded."""
from __future__ import annotations

import threading
import time
from datetime import datetime
from decimal import Decimal

import pytest
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.camunda.parser.CamundaParser import CamundaParser

from engine.scripting import sandbox
from engine.scripting.sandbox import ScriptRejected, ScriptTimeout, check_expression, check_script
from engine.scripting.script_engine import RestrictedEnvironment, make_script_engine

FAST = 0.5  # time limit for timeout tests that do not check the default


@pytest.fixture
def env() -> RestrictedEnvironment:
    return RestrictedEnvironment()


def run(script: str, data: dict | None = None, **kwargs) -> dict:
    context = dict(data or {})
    RestrictedEnvironment(**kwargs).execute(script, context)
    return context


# --- ordinary scripts and expressions -------------------------------------------------------

def test_expression_over_task_data_is_evaluated(env):
    # given task data / when a gateway-style expression is evaluated / then plain Python result
    data = {"amount": 1500, "category": "key"}
    assert env.evaluate("amount > 1000 and category == 'key'", data) is True
    assert env.evaluate("amount > 1000 and category == 'key'", {**data, "amount": 10}) is False


def test_expression_with_leading_blanks_is_accepted_like_eval(env):
    # given an expression copied from indented XML / then it evaluates as eval() would
    assert env.evaluate("  amount * 2", {"amount": 4}) == 8


def test_evaluate_leaves_task_data_untouched(env):
    data = {"x": 1}
    env.evaluate("x + 1", data)
    assert data == {"x": 1}


def test_script_sets_and_changes_variables_in_task_data():
    # given task data / when a script assigns / then new and changed names land in task data
    data = run("total = price * qty\nqty = qty + 1\nlabel = f'{total:,.2f}'",
               {"price": 2.5, "qty": 4})
    assert data == {"price": 2.5, "qty": 5, "total": 10.0, "label": "10.00"}


def test_loops_and_comprehensions_run():
    data = run("total = 0\nfor n in items:\n    total += n\n"
               "i = 0\nwhile i < 3:\n    i += 1\n"
               "squares = [n * n for n in items if n > 1]\n"
               "index = {n: str(n) for n in items}\n"
               "pairs = [(a, b) for a, b in zip(items, items[1:])]",
               {"items": [1, 2, 3]})
    assert data["total"] == 6 and data["i"] == 3
    assert data["squares"] == [4, 9]
    assert data["index"] == {1: "1", 2: "2", 3: "3"}
    assert data["pairs"] == [(1, 2), (2, 3)]


def test_task_data_dicts_and_lists_can_be_mutated():
    # given nested task data / when a script mutates it in place / then task data shows it
    data = run("form['status'] = 'ok'\nform['count'] += 2\nrows.append(4)\nrows[0] *= 10\n"
               "del form['tmp']\nrows[1:2] += [7]",
               {"form": {"count": 1, "tmp": 0}, "rows": [1, 2, 3]})
    assert data["form"] == {"count": 3, "status": "ok"}
    assert data["rows"] == [10, 2, 7, 3, 4]


def test_datetime_arithmetic_is_available():
    data = run("due = start + timedelta(days=3)\n"
               "days = (due - start).days\n"
               "utc = datetime(2024, 1, 1, tzinfo=timezone.utc).isoformat()\n"
               "d = date(2024, 2, 28) + timedelta(days=1)\n"
               "money = Decimal('1.10') * 3",
               {"start": datetime(2024, 1, 1, 9, 0)})
    assert data["due"] == datetime(2024, 1, 4, 9, 0)
    assert data["days"] == 3
    assert data["utc"] == "2024-01-01T00:00:00+00:00"
    assert str(data["d"]) == "2024-02-29"
    assert data["money"] == Decimal("3.30")


def test_curated_builtins_are_available():
    data = run("r = [min(v), max(v), sum(v), len(v), sorted(v, reverse=True), list(reversed(v)),"
               " round(2.567, 1), abs(-1), any(v), all(v), list(enumerate(v))[0],"
               " list(map(str, v)), list(filter(None, [0, 1])), dict(a=1), sorted(set([1, 1])),"
               " tuple(v), int('7'), float('1.5'), bool(0), isinstance(v, list)]",
               {"v": [3, 1, 2]})
    assert data["r"][:6] == [1, 3, 6, 3, [3, 2, 1], [2, 1, 3]]
    assert data["r"][-1] is True


def test_str_format_with_plain_fields_works():
    data = run("a = '{} of {total}'.format(1, total=3)\nb = '{0[k]}'.format(d)\n"
               "c = '{n:>4}'.format_map({'n': 7})\ne = '%s-%03d' % ('x', 5)", {"d": {"k": "v"}})
    assert (data["a"], data["b"], data["c"], data["e"]) == ("1 of 3", "v", "   7", "x-005")


def test_print_is_accepted_and_discarded():
    assert run("print('debug', 1)\nx = 1") == {"x": 1}


def test_functions_and_lambdas_are_removed_from_task_data():
    # given a script defining helpers / then only their data results stay in task data
    data = run("def double(n):\n    return n * 2\nhalf = lambda n: n / 2\nx = double(half(8))")
    assert data == {"x": 8.0}


def test_non_data_values_left_by_script_are_removed():
    # given values JSON cannot hold (sets, cycles, generators) / then they are dropped
    data = run("s = {1, 2}\ncycle = []\ncycle.append(cycle)\ngen = (n for n in [1])\n"
               "fine = {'when': datetime(2024, 1, 1), 'rows': [[1, 'a']] * 3}")
    assert set(data) == {"fine"}


def test_untouched_task_data_is_kept_as_is():
    marker = object()  # not data, but the script did not put it there
    assert run("x = 1", {"engine_owned": marker})["engine_owned"] is marker


def test_environment_globals_are_callable_and_not_left_in_task_data():
    # given an engine-provided function / when a script uses it / then it is not stored
    context = {"n": 2}
    env = RestrictedEnvironment(environment_globals={"double": lambda v: v * 2, "RATE": 3})
    env.execute("y = double(n) * RATE", context, external_context={"extra": 10})
    assert context == {"n": 2, "y": 12}
    assert env.evaluate("double(n) + extra", context, external_context={"extra": 10}) == 14


def test_task_data_overwriting_a_predefined_function_is_refused():
    env = RestrictedEnvironment(environment_globals={"double": lambda v: v * 2})
    with pytest.raises(ValueError, match="double"):
        env.execute("x = 1", {"double": 5})


def test_task_data_may_shadow_builtin_names(env):
    # given fields named like builtins (type, date) / then they are plain data
    assert env.evaluate("type == 'key' and date == '2024-01-01'",
                        {"type": "key", "date": "2024-01-01"}) is True
    assert run("date = '2024-01-02'") == {"date": "2024-01-02"}


def test_compiled_code_is_cached(env):
    before = sandbox._compile.cache_info().hits
    for _ in range(3):
        env.evaluate("cached_probe_value + 1", {"cached_probe_value": 1})
    assert sandbox._compile.cache_info().hits >= before + 2


# --- errors keep their type and line ----------------------------------------------------------

@pytest.mark.parametrize("script, error", [
    ("x = 1\ny = 1 / 0", ZeroDivisionError),
    ("x = missing_name", NameError),
    ("x = {}['k']", KeyError),
    ("x = int('abc')", ValueError),
])
def test_script_errors_propagate_as_ordinary_exceptions(script, error):
    with pytest.raises(error):
        run(script)


def test_syntax_error_is_raised_as_syntax_error_with_line():
    with pytest.raises(SyntaxError) as caught:
        run("x = 1\ny = (")
    assert caught.value.lineno == 2


# --- escapes -------------------------------------------------------------------------------

@pytest.mark.parametrize("script", [
    "x = ().__class__.__base__.__subclasses__()",
    "x = [c for c in ().__class__.__bases__[0].__subclasses__()]",
    "x = getattr((), '__class__')",
    "import os",
    "from os import path",
    "x = __import__('os')",
    "x = open('/etc/passwd').read()",
    "x = eval('1')",
    "exec('x=1')",
    "x = compile('1', 'f', 'eval')",
    "x = globals()",
    "x = vars()",
    "x = locals()",
    "x = type(y).__mro__",
    "x = (lambda: 0).__code__",
    "x = '{0.__class__}'.format(1)",
    "x = (n for n in []).gi_frame",
    "x = y.__dict__",
    "x = __builtins__",
    "x = int.mro()",
    "class A:\n    pass",
    "def f(_secret):\n    return 1",
])
def test_known_escape_is_refused_at_compile_time(script):
    # given an escape attempt / when compiled / then ScriptRejected names the problem
    assert check_script(script) is not None
    with pytest.raises(ScriptRejected):
        run(script, {"y": 1})


def test_subclasses_escape_is_refused():
    assert check_script("x = ().__class__.__base__.__subclasses__()") == \
        "line 1: attribute '__class__' is not allowed"


def test_getattr_with_computed_underscore_name_is_refused_at_run_time():
    # given a name the compiler cannot see / then the runtime guard refuses it
    with pytest.raises(ScriptRejected, match="attribute '__class__' is not allowed"):
        run("name = '__cl' + 'ass__'\nx = getattr((), name)")
    with pytest.raises(ScriptRejected):
        run("x = hasattr((), '_' + '_class__')")


def test_str_format_attribute_field_is_refused_at_run_time():
    with pytest.raises(ScriptRejected, match="'__class__' is not allowed in format fields"):
        run("template = '{0.' + '__class__}'\nx = template.format(1)")
    with pytest.raises(ScriptRejected):
        run("template = '{n.real}'\nx = template.format_map({'n': 1})")


def test_generator_frame_is_refused_at_run_time():
    with pytest.raises(ScriptRejected, match="gi_frame"):
        run("g = (n for n in [1])\nx = getattr(g, 'gi_' + 'frame')")


def test_unbound_str_format_is_refused():
    with pytest.raises(ScriptRejected):
        run("x = str.format('{0}', 1)")


def test_guarded_methods_do_not_expose_the_unguarded_method():
    # given the size-guarded 'ljust' / then it carries no reference to the raw method
    with pytest.raises(AttributeError):
        run("x = 'a'.ljust.args")


def test_only_dicts_and_lists_can_be_written():
    with pytest.raises(ScriptRejected, match="cannot be modified"):
        run("def f():\n    return 1\nf.attr = 2")


def test_dangerous_builtins_are_absent():
    for name in ("open", "eval", "exec", "__import__", "setattr", "object", "type", "bytes",
                 "BaseException", "SystemExit"):
        assert name not in sandbox._BUILTINS


# --- time and size bounds --------------------------------------------------------------------

def assert_stops_quickly(script: str, expected: tuple[type[BaseException], ...],
                         limit: float | None = FAST, within: float = 3.0) -> BaseException:
    started = time.monotonic()
    with pytest.raises(expected) as caught:
        run(script, time_limit=limit)
    assert time.monotonic() - started < within
    return caught.value


@pytest.mark.timeout(10)
def test_while_true_times_out_after_the_default_limit():
    # given the default limit of 2 s / when a script loops forever / then ScriptTimeout ~2 s
    started = time.monotonic()
    with pytest.raises(ScriptTimeout, match="ran past its limit of 2 s"):
        run("while True:\n    pass")
    assert sandbox.TIME_LIMIT_SECONDS - 0.1 <= time.monotonic() - started < 3.0


@pytest.mark.timeout(10)
def test_time_limit_can_be_overridden():
    started = time.monotonic()
    assert_stops_quickly("while True:\n    pass", (ScriptTimeout,), limit=0.3)
    assert time.monotonic() - started < 1.0


@pytest.mark.timeout(10)
def test_infinite_recursion_stops():
    assert_stops_quickly("def f(n):\n    return f(n + 1)\nf(0)", (RecursionError, ScriptTimeout))


@pytest.mark.timeout(10)
def test_exponential_recursion_times_out():
    assert_stops_quickly("def f(n):\n    return f(n - 1) + f(n - 1) if n else 1\nx = f(80)",
                         (ScriptTimeout,))


@pytest.mark.timeout(10)
def test_exponential_lambda_recursion_times_out():
    assert_stops_quickly("f = lambda n: f(n - 1) + f(n - 1) if n else 1\nx = f(80)",
                         (ScriptTimeout,))


@pytest.mark.timeout(10)
def test_nested_comprehension_times_out():
    assert_stops_quickly("x = [1 for a in range(10**6) for b in range(10**6)]", (ScriptTimeout,))


@pytest.mark.timeout(10)
def test_expression_times_out_too():
    started = time.monotonic()
    with pytest.raises(ScriptTimeout):
        RestrictedEnvironment(time_limit=FAST).evaluate(
            "sum(1 for a in range(10**6) for b in range(10**6))", {})
    assert time.monotonic() - started < 3.0


@pytest.mark.timeout(10)
def test_timeout_cannot_be_swallowed_by_except():
    # given a script that catches its own timeout / then the run still ends in ScriptTimeout
    assert_stops_quickly("try:\n    while True:\n        pass\nexcept Exception:\n    pass\n"
                         "done = True", (ScriptTimeout,))


@pytest.mark.timeout(10)
def test_huge_range_is_refused():
    error = assert_stops_quickly("for i in range(10**12):\n    pass", (ScriptRejected,))
    assert "range()" in str(error)
    assert_stops_quickly("x = list(range(10**7 + 1))", (ScriptRejected,))


@pytest.mark.timeout(10)
def test_huge_power_is_refused():
    assert_stops_quickly("x = 2**10**10**10", (ScriptRejected,))
    assert_stops_quickly("x = pow(7, 10**10)", (ScriptRejected,))
    assert_stops_quickly("x = 3\nx **= 10**9", (ScriptRejected,))


@pytest.mark.timeout(10)
def test_huge_string_repeat_is_refused():
    error = assert_stops_quickly("x = 'a' * 10**12", (ScriptRejected,))
    assert "limit" in str(error)
    assert_stops_quickly("x = 10**12 * [0]", (ScriptRejected,))
    assert_stops_quickly("x = 'a'\nx *= 10**12", (ScriptRejected,))


@pytest.mark.timeout(10)
@pytest.mark.parametrize("script", [
    "x = 1 << 10**10",
    "x = 'a'.ljust(10**12)",
    "x = 'a'.zfill(10**12)",
    "x = f'{1:100000000000}'",
    "x = '{:100000000000}'.format(1)",
    "x = '%100000000000d' % 1",
    "x = 'ab'\nwhile True:\n    x = x + x",
    "x = [1]\nwhile True:\n    x += x",
    "x = [1]\nwhile True:\n    x.extend(x)",
    "x = ','.join(['a' * 10**6] * 20)",
    "x = ('a' * 10**7).replace('a', 'aa')",
    "x = 2**99999\nwhile True:\n    x = x * x",
])
def test_oversized_results_are_refused(script):
    assert_stops_quickly(script, (ScriptRejected, ScriptTimeout))


@pytest.mark.timeout(10)
def test_deadlines_are_per_thread():
    # given one thread stuck in a loop / then another thread's scripts run normally meanwhile
    outcome: dict[str, BaseException] = {}

    def spin() -> None:
        try:
            run("while True:\n    pass", time_limit=1.5)
        except BaseException as err:  # noqa: BLE001 - recorded for the assertion
            outcome["spin"] = err

    spinner = threading.Thread(target=spin)
    spinner.start()
    env = RestrictedEnvironment(time_limit=FAST)
    results = [env.evaluate("x * 2", {"x": i}) for i in range(50)]
    assert spinner.is_alive()
    spinner.join()
    assert results == [i * 2 for i in range(50)]
    assert isinstance(outcome["spin"], ScriptTimeout)


# --- deploy-time checks ------------------------------------------------------------------------

def test_check_expression_accepts_a_valid_expression():
    assert check_expression("amount > 1000 and category == 'key'") is None


def test_check_expression_reports_syntax_error_with_line():
    assert check_expression("amount >") == "line 1: syntax error: invalid syntax"


def test_check_expression_rejects_statements():
    assert check_expression("x = 1").startswith("line 1: syntax error")


def test_check_script_accepts_a_valid_script():
    assert check_script("total = 0\nfor n in items:\n    total += n") is None


def test_check_script_reports_syntax_error_line():
    assert check_script("x = 1\nif x\n    y = 2").startswith("line 2: syntax error")


def test_check_script_reports_imports_with_line():
    assert check_script("x = 1\nimport os") == "line 2: imports are not allowed in scripts"


def test_check_script_reports_forbidden_attribute():
    assert check_script("x = y.__class__") == "line 1: attribute '__class__' is not allowed"


def test_check_script_reports_forbidden_call():
    assert check_script("data = open('/etc/passwd')") == "line 1: open() is not allowed in scripts"


def test_check_script_reports_underscore_name():
    assert check_script("x = __import__('os')") == "line 1: name '__import__' is not allowed"


# --- through SpiffWorkflow ------------------------------------------------------------------

PROCESS = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="defs"
    targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="sandboxed" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="compute" scriptFormat="python">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>{script}</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:exclusiveGateway id="route" default="small">
      <bpmn:incoming>f2</bpmn:incoming>
      <bpmn:outgoing>big</bpmn:outgoing><bpmn:outgoing>small</bpmn:outgoing>
    </bpmn:exclusiveGateway>
    <bpmn:scriptTask id="mark_big" scriptFormat="python">
      <bpmn:incoming>big</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:script>size = 'big'</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:scriptTask id="mark_small" scriptFormat="python">
      <bpmn:incoming>small</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing>
      <bpmn:script>size = 'small'</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming><bpmn:incoming>f4</bpmn:incoming>
    </bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="compute"/>
    <bpmn:sequenceFlow id="f2" sourceRef="compute" targetRef="route"/>
    <bpmn:sequenceFlow id="big" sourceRef="route" targetRef="mark_big">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">amount &gt; 1000 and category == 'key'</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="small" sourceRef="route" targetRef="mark_small"/>
    <bpmn:sequenceFlow id="f3" sourceRef="mark_big" targetRef="end"/>
    <bpmn:sequenceFlow id="f4" sourceRef="mark_small" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>"""


def run_workflow(script: str) -> BpmnWorkflow:
    parser = CamundaParser()
    parser.add_bpmn_str(PROCESS.format(script=script).encode(), "sandboxed.bpmn")
    workflow = BpmnWorkflow(parser.get_spec("sandboxed"), script_engine=make_script_engine())
    workflow.do_engine_steps()
    return workflow


def test_script_task_runs_in_a_real_workflow():
    # given a process whose script sets data and a gateway condition reads it
    workflow = run_workflow("amount = 0\nfor n in [600, 700]:\n    amount += n\n"
                            "category = 'key'\ndue = datetime(2024, 1, 1) + timedelta(days=2)")
    # then the workflow completes with the script's data and the condition's branch
    assert workflow.is_completed()
    data = workflow.last_task.data
    assert data["amount"] == 1300 and data["size"] == "big"
    assert data["due"] == datetime(2024, 1, 3)


def test_failing_script_raises_workflow_task_exception_with_line():
    with pytest.raises(WorkflowTaskException) as caught:
        run_workflow("amount = 1\nratio = amount / 0")
    assert caught.value.line_number == 2
    assert caught.value.error_line == "ratio = amount / 0"
    assert caught.value.error_type == "ZeroDivisionError"


def test_rejected_script_raises_workflow_task_exception_with_line():
    with pytest.raises(WorkflowTaskException) as caught:
        run_workflow("amount = 1\nimport os")
    assert caught.value.line_number == 2
    assert caught.value.error_type == "ScriptRejected"
    assert "line 2: imports are not allowed in scripts" in str(caught.value)


@pytest.mark.timeout(10)
def test_runaway_script_in_workflow_ends_in_timeout():
    sandbox_limit = sandbox.TIME_LIMIT_SECONDS
    try:
        sandbox.TIME_LIMIT_SECONDS = FAST  # read at run time by environments without override
        with pytest.raises(WorkflowTaskException) as caught:
            run_workflow("amount = 1\nwhile True:\n    amount += 1")
    finally:
        sandbox.TIME_LIMIT_SECONDS = sandbox_limit
    assert caught.value.error_type == "ScriptTimeout"
    assert caught.value.line_number == 2  # the loop that ran away


def test_make_script_engine_passes_environment_globals():
    engine = make_script_engine({"tax": lambda v: v * Decimal("0.1")})
    assert isinstance(engine.environment, RestrictedEnvironment)
    assert engine.environment.evaluate("tax(amount)", {"amount": Decimal("10")}) == Decimal("1.0")
