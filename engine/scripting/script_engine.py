"""SpiffWorkflow's script engine as the engine runs it: scripts and expressions in the sandbox
(engine/scripting/sandbox.py) with the script services as their only domain functions, a script's
service writes undone when it fails, and bare ISO 8601 timer literals (what Camunda Modeler
users write) taken as strings rather than evaluated."""
from __future__ import annotations

import re
from typing import Any, Callable

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from engine.core import clock  # noqa: F401  (installs the engine clock into SpiffWorkflow's timers)
from engine.scripting import script_services
from engine.scripting import script_worker
from engine.scripting.sandbox import LocalEnvironment, code_or_raise, is_bounded_expression, is_data

_ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$")
_ISO_DURATION = re.compile(r"^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$")
_ISO_CYCLE = re.compile(r"^R\d*/.+$")


def is_timer_literal(expression: str) -> bool:
    """True for a bare ISO 8601 date-time, duration or repeating interval (what Camunda
    Modeler users write), which is taken as a string rather than evaluated as Python."""
    text = expression.strip()
    return bool(_ISO_DATETIME.match(text) or _ISO_DURATION.match(text.upper())
                or _ISO_CYCLE.match(text.upper()))


class RestrictedEnvironment(LocalEnvironment):
    """What the engine uses: every script, and every expression that is not provably bounded,
    runs in a worker process (engine/scripting/script_worker.py), with this environment's globals
    available there (callables as calls back into this process, in the calling thread, so
    script services use the command's transaction). Task data values that are not plain data
    are not sent, and stay as they are."""

    def evaluate(self, expression: str, context: dict[str, Any],
                 external_context: dict[str, Any] | None = None) -> Any:
        code_or_raise(expression, "eval")  # compile errors need no worker
        if is_bounded_expression(expression):
            return super().evaluate(expression, context, external_context)
        data, constants, functions = self._split(context, external_context or {})
        return script_worker.run("eval", expression, data, constants, functions, self.limit)

    def execute(self, script: str, context: dict[str, Any],
                external_context: dict[str, Any] | None = None) -> bool:
        external_context = external_context or {}
        self.check_for_overwrite(context, external_context)
        code_or_raise(script, "exec")  # compile errors need no worker
        data, constants, functions = self._split(context, external_context)
        changed, deleted = script_worker.run("exec", script, data, constants, functions,
                                             self.limit)
        for key in deleted:
            context.pop(key, None)
        context.update(changed)
        return True

    def _split(self, context: dict[str, Any], external_context: dict[str, Any]) -> tuple[
            dict[str, Any], dict[str, Any], dict[str, Callable[..., Any]]]:
        """(task data to send, constant globals to send, functions to serve by name)."""
        self._prepare_context(context)
        data = context  # what is not plain data is not sent (script_worker.run)
        constants: dict[str, Any] = {}
        functions: dict[str, Callable[..., Any]] = {}
        for source in (self.globals, external_context):
            for name, value in source.items():
                if callable(value):
                    functions[name] = value
                    constants.pop(name, None)
                elif is_data(value):
                    constants[name] = value
                    functions.pop(name, None)
        return data, constants, functions


class EngineScriptEngine(PythonScriptEngine):
    def evaluate(self, task, expression, external_context=None):  # type: ignore[no-untyped-def]
        definition = getattr(task.task_spec, "event_definition", None)
        if isinstance(definition, TimerEventDefinition) and is_timer_literal(expression):
            return expression.strip()
        return super().evaluate(task, expression, external_context)

    def execute(self, task, script, external_context=None):  # type: ignore[no-untyped-def]
        # what a script wrote through script services is undone if the script fails
        with script_services.atomic():
            return super().execute(task, script, external_context)


def make_script_engine(environment_globals: dict[str, Any] | None = None) -> EngineScriptEngine:
    """The engine's script engine; its globals are the script services (draw_experts,
    working_days_after, ...) unless a caller names others."""
    chosen = script_services.GLOBALS if environment_globals is None else environment_globals
    return EngineScriptEngine(environment=RestrictedEnvironment(environment_globals=chosen))
