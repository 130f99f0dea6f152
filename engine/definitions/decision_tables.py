"""Decision tables as the engine runs them: which language each cell is in, its translation at
deploy (FEEL through engine/definitions/feel.py into the sandboxed Python SpiffWorkflow's DMN
engine evaluates), the hit policies SpiffWorkflow lacks, and the spec converter that keeps them.

A cell's language is its own `expressionLanguage`, else its table's, else the document's; with
none declared, a document exported by Camunda Modeler or dmn-js is FEEL (the DMN default) and
any other is read cell by cell: FEEL when the cell is FEEL we translate, else the Python
expressions SpiffWorkflow has always evaluated (`80 <= ? < 90`, `True`), so the bureau's own
tables keep working. A FEEL cell outside the subset refuses the deployment, naming the rule and
the column. Hit policies: UNIQUE (more than one match is an error), FIRST, PRIORITY and OUTPUT
ORDER (by the order of the outputs' allowed values), ANY (matches must agree), RULE ORDER, and
COLLECT with SUM, MIN, MAX or COUNT, or without an aggregator a list. A business rule task with
`camunda:resultVariable` gets the result there as Camunda maps it (`camunda:mapDecisionResult`:
singleEntry, singleResult, collectEntries, or the default resultList); without one, as in
SpiffWorkflow, the outputs land in the data by name, each a list under a list-valued policy."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, time
from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.dmn.engine.DMNEngine import DMNEngine
from SpiffWorkflow.dmn.serializer.task_spec import BaseBusinessRuleTaskConverter
from SpiffWorkflow.exceptions import SpiffWorkflowException

from engine.core.errors import Problem
from engine.definitions import feel

SINGLE = ("UNIQUE", "FIRST", "PRIORITY", "ANY")
LISTS = ("RULE ORDER", "OUTPUT ORDER", "COLLECT")
AGGREGATIONS = ("SUM", "MIN", "MAX", "COUNT")
_FEEL_EXPORTERS = ("camunda modeler", "dmn-js", "camunda web modeler")


class TableError(ValueError):
    """A table the engine cannot run; `node` is the XML element at fault."""

    def __init__(self, message: str, node: Any) -> None:
        super().__init__(message)
        self.node = node


@dataclass
class CompiledTable:
    """What deploy makes of one decisionTable: per rule id, the tests (None: any value) and the
    output expressions, in column order; the hit policy and the outputs' value orders."""
    hit_policy: str
    aggregation: str | None
    tests: dict[str, list[str | None]] = field(default_factory=dict)
    outputs: dict[str, list[str]] = field(default_factory=dict)
    output_orders: dict[str, list[Any]] = field(default_factory=dict)


def _local(node: Any) -> str:
    return node.tag.rsplit("}", 1)[-1] if isinstance(node.tag, str) else ""


def _children(node: Any, name: str) -> list[Any]:
    return [child for child in node if _local(child) == name]


def _text(node: Any) -> str | None:
    found = _children(node, "text")
    return found[0].text if found else None


def _language(*nodes: Any) -> str | None:
    for node in nodes:
        declared = (node.get("expressionLanguage") or "").lower() if node is not None else ""
        if "feel" in declared:
            return "feel"
        if "python" in declared:
            return "python"
        if declared:
            raise TableError(f"expression language '{node.get('expressionLanguage')}' is not supported "
                             "(use FEEL or Python)", node)
    return None


def _document_default(root: Any) -> str:
    exporter = (root.get("exporter") or "").lower()
    return "feel" if any(name in exporter for name in _FEEL_EXPORTERS) else "auto"


def compile_table(table: Any, root: Any) -> CompiledTable:
    """Translate one decisionTable element, or raise TableError at the cell or element at fault."""
    policy = (table.get("hitPolicy") or "UNIQUE").upper()
    aggregation = (table.get("aggregation") or "").upper() or None
    outputs = _children(table, "output")
    _check_policy(table, policy, aggregation, outputs)
    compiled = CompiledTable(policy, aggregation)
    default = _language(table, root) or _document_default(root)
    inputs = _children(table, "input")
    for output in outputs:
        values = _children(output, "outputValues")
        if values:
            try:
                compiled.output_orders[output.get("id")] = feel.literal_list(_text(values[0]))
            except (feel.FeelError, IndexError, ValueError) as error:
                raise TableError(f"output '{_label(output)}': allowed values: {error}", values[0]) from error
    if policy in ("PRIORITY", "OUTPUT ORDER") and not compiled.output_orders:
        raise TableError(f"hit policy {policy} needs allowed values (output values) on an output "
                         "to order the matches by", table)
    for number, rule in enumerate(_children(table, "rule"), start=1):
        entries = _children(rule, "inputEntry")
        results = _children(rule, "outputEntry")
        if len(entries) != len(inputs) or len(results) != len(outputs):
            raise TableError(f"rule {number} has {len(entries)} input and {len(results)} output cells "
                             f"for {len(inputs)} inputs and {len(outputs)} outputs", rule)
        where = f"rule {number} ({rule.get('id')})"
        compiled.tests[rule.get("id")] = [
            _test(entry, _language(entry) or default, f"{where}, input '{_label(column)}'")
            for entry, column in zip(entries, inputs)]
        compiled.outputs[rule.get("id")] = [
            _output(entry, _language(entry) or default, f"{where}, output '{_label(column)}'")
            for entry, column in zip(results, outputs)]
    return compiled


def _label(column: Any) -> str:
    return column.get("label") or column.get("name") or column.get("id") or "?"


def _check_policy(table: Any, policy: str, aggregation: str | None, outputs: list[Any]) -> None:
    if policy not in SINGLE + LISTS:
        raise TableError(f"hit policy '{policy}' is not supported", table)
    if aggregation is not None and (policy != "COLLECT" or aggregation not in AGGREGATIONS):
        raise TableError(f"aggregation '{aggregation}' needs hit policy COLLECT and one of "
                         + ", ".join(AGGREGATIONS), table)
    if aggregation is not None and len(outputs) != 1:
        raise TableError(f"COLLECT with {aggregation} needs exactly one output", table)


def _test(entry: Any, language: str, where: str) -> str | None:
    text = _text(entry)
    if language == "python" or (language == "auto" and not feel.is_unary_tests(text)):
        return None if text is None or text.strip() in ("", "-") else text
    try:
        return feel.unary_tests(text)
    except (feel.FeelError, IndexError) as error:
        raise TableError(f"{where}: {error}", entry) from error


def _output(entry: Any, language: str, where: str) -> str:
    text = _text(entry)
    if language == "python" or (language == "auto" and (not (text or "").strip() or not feel.is_output_literal(text))):
        return text or ""
    try:
        return feel.output_literal(text)
    except (feel.FeelError, IndexError) as error:
        raise TableError(f"{where}: {error}", entry) from error


def problems(tree: Any, filename: str) -> list[Problem]:
    """Every decision table of a DMN document checked as deploy translates it."""
    root = tree.getroot() if hasattr(tree, "getroot") else tree
    found = []
    for table in root.iter("{*}decisionTable"):
        try:
            compile_table(table, root)
        except TableError as error:
            found.append(Problem(filename, str(error), line=error.node.sourceline,
                                 element_id=error.node.get("id")))
    return found


_VARIABLE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
MAPPINGS = ("singleEntry", "singleResult", "collectEntries", "resultList")
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"


def engine_for(decision_table: Any, root: Any, filename: str | None, task: Any = None) -> "TableEngine":
    """SpiffWorkflow's parsed table with its cells translated, in our engine; with the business
    rule task's element, its `camunda:resultVariable` and `camunda:mapDecisionResult`."""
    element = next((t for t in root.iter("{*}decisionTable") if t.get("id") == decision_table.id), None)
    if element is None:
        raise ValidationException(f"decision table '{decision_table.id}' not found", file_name=filename)
    try:
        compiled = compile_table(element, root)
    except TableError as error:
        raise ValidationException(str(error), node=error.node, file_name=filename) from error
    decision_table.hit_policy = compiled.hit_policy
    decision_table.aggregation = compiled.aggregation
    decision_table.output_orders = compiled.output_orders
    decision_table.result_variable, decision_table.result_mapping = _result_mapping(task)
    for rule in decision_table.rules:
        for entry, test in zip(rule.inputEntries, compiled.tests[rule.id]):
            entry.lhs = [test]
        for entry, source in zip(rule.outputEntries, compiled.outputs[rule.id]):
            entry.text = source
    return TableEngine(decision_table)


def _result_mapping(task: Any) -> tuple[str | None, str | None]:
    if task is None:
        return None, None
    variable = task.get(f"{{{CAMUNDA_NS}}}resultVariable") or None
    mapping = task.get(f"{{{CAMUNDA_NS}}}mapDecisionResult") or None
    if variable is not None and not _VARIABLE.match(variable):
        raise ValidationException(f"camunda:resultVariable '{variable}' is not a variable name",
                                  node=task, file_name=None)
    if mapping is not None and mapping not in MAPPINGS:
        raise ValidationException(f"camunda:mapDecisionResult '{mapping}' is not one of " + ", ".join(MAPPINGS),
                                  node=task, file_name=None)
    return variable, mapping


class TableEngine(DMNEngine):
    """SpiffWorkflow's DMN engine with every hit policy; translated FEEL tests get the input's
    value as `feel.INPUT` (dates as ISO text), Python tests run as SpiffWorkflow runs them."""

    def result(self, task: Any) -> dict[str, Any]:
        """What the business rule task merges into the data: the mapped result under the
        task's `camunda:resultVariable`, else (as SpiffWorkflow does) the outputs by name,
        each a list under a list-valued policy."""
        table = self.decision_table
        rows = self._decide(task)
        variable = getattr(table, "result_variable", None)
        if variable:
            task.data.pop(variable, None)  # replaced, never merged into (see _fresh)
            return {variable: self._mapped(rows, getattr(table, "result_mapping", None) or "resultList", task)}
        if table.hit_policy in LISTS and not getattr(table, "aggregation", None):
            names = self._fresh(task)
            return {name: [row.get(name) for row in rows] for name in names}
        if getattr(table, "aggregation", None):
            self._fresh(task)
        return rows[0] if rows else {}

    def _decide(self, task: Any) -> list[dict[str, Any]]:
        """The decision result as Camunda has it: one output map per matched rule kept by the
        hit policy, in order (an aggregation: one map with the aggregate)."""
        table = self.decision_table
        matched = [rule for rule in table.rules if self._matches(rule, task)]
        policy, aggregation = table.hit_policy, getattr(table, "aggregation", None)
        if policy in LISTS:
            if policy == "OUTPUT ORDER":
                matched = self._by_priority(matched, task)
            rows = [dict(rule.output_as_dict(task)) for rule in matched]
            return [self._aggregate(rows, task, aggregation)] if aggregation else rows
        if not matched:
            return []
        if policy == "UNIQUE" and len(matched) > 1:
            raise self._error(task, "hit policy UNIQUE, but rules " + self._rows(matched) + " all match")
        if policy == "ANY":
            results = [dict(rule.output_as_dict(task)) for rule in matched]
            if any(r != results[0] for r in results[1:]):
                raise self._error(task, "hit policy ANY, but rules " + self._rows(matched) + " match with different outputs")
        if policy == "PRIORITY":
            matched = self._by_priority(matched, task)
        return [dict(matched[0].output_as_dict(task))]

    def _mapped(self, rows: list[dict[str, Any]], mapping: str, task: Any) -> Any:
        """Camunda's mapDecisionResult of the result rows."""
        if mapping == "resultList":
            return rows
        if mapping == "collectEntries":
            if any(len(row) != 1 for row in rows):
                raise self._error(task, "collectEntries needs one output per rule")
            return [next(iter(row.values())) for row in rows]
        if len(rows) > 1:
            raise self._error(task, f"{mapping} needs at most one matching rule, {len(rows)} match")
        if not rows:
            return None
        if mapping == "singleResult":
            return rows[0]
        if len(rows[0]) != 1:
            raise self._error(task, "singleEntry needs exactly one output")
        return next(iter(rows[0].values()))

    def _matches(self, rule: Any, task: Any) -> bool:
        for entry in rule.inputEntries:
            for test in entry.lhs:
                try:
                    if test is not None and not self.evaluate(entry.input.expression, test, task):
                        return False
                except SpiffWorkflowException as error:
                    error.add_note(f"Rule failed on row {rule.row_number}")
                    raise
                except Exception as error:
                    failure = WorkflowTaskException(str(error), task=task, exception=error)
                    failure.add_note(f"Failed to execute DMN Rule on row {rule.row_number}")
                    raise failure from error
        return True

    def evaluate(self, input_expr: Any, match_expr: Any, task: Any) -> Any:
        if match_expr is None or feel.INPUT not in match_expr:
            return super().evaluate(input_expr, match_expr, task)
        engine = task.workflow.script_engine
        value = engine.evaluate(task, input_expr)
        if isinstance(value, (date, time)):
            value = value.isoformat()
        try:
            return engine.evaluate(task, match_expr, external_context={feel.INPUT: value})
        except WorkflowTaskException as error:
            # FEEL: comparing a string with a number is null, which matches nothing
            if getattr(error, "error_type", None) == "TypeError":
                return False
            raise

    def _by_priority(self, rules: list[Any], task: Any) -> list[Any]:
        orders = getattr(self.decision_table, "output_orders", {}) or {}

        def rank(rule: Any) -> list[int]:
            values = rule.output_as_dict(task)
            ranks = []
            for output in self.decision_table.outputs:
                order = orders.get(output.id)
                if order is not None:
                    value = values.get(output.name or output.label)
                    ranks.append(order.index(value) if value in order else len(order))
            return ranks
        return sorted(rules, key=rank)  # stable: equal priorities keep rule order

    def _fresh(self, task: Any) -> list[str]:
        """The output names, removed from the data first: SpiffWorkflow merges the result into
        the data, which would extend a list left by an earlier run (a loop) instead of
        replacing it as Camunda does."""
        names = [o.name or o.label for o in self.decision_table.outputs]
        for name in names:
            task.data.pop(name, None)
        return names

    def _aggregate(self, rows: list[dict[str, Any]], task: Any, aggregation: str) -> dict[str, Any]:
        [output] = self.decision_table.outputs
        name = output.name or output.label
        values = [row.get(name) for row in rows if row.get(name) is not None]
        if aggregation == "COUNT":
            return {name: len(values)}
        if not values:
            return {name: None}
        try:
            return {name: {"SUM": sum, "MIN": min, "MAX": max}[aggregation](values)}
        except TypeError as error:
            raise self._error(task, f"COLLECT {aggregation} of {values!r}: {error}") from error

    @staticmethod
    def _rows(rules: list[Any]) -> str:
        return ", ".join(str(rule.row_number) for rule in rules)

    def _error(self, task: Any, message: str) -> WorkflowTaskException:
        return WorkflowTaskException(f"decision table '{self.decision_table.id}': {message}", task=task)


class BusinessRuleTaskConverter(BaseBusinessRuleTaskConverter):
    """Keeps the aggregation, the outputs' value orders and the result mapping with the
    serialized table, and
    restores the table into TableEngine; specs stored before carry neither and restore as
    they ran."""

    def decision_table_to_dict(self, table: Any) -> dict[str, Any]:
        dct = super().decision_table_to_dict(table)
        if getattr(table, "aggregation", None):
            dct["aggregation"] = table.aggregation
        for name in ("output_orders", "result_variable", "result_mapping"):
            if getattr(table, name, None):
                dct[name] = getattr(table, name)
        return dct

    def from_dict(self, dct: dict[str, Any]) -> Any:
        table_dct = dct.pop("decision_table")
        aggregation = table_dct.pop("aggregation", None)
        orders = table_dct.pop("output_orders", {})
        variable, mapping = table_dct.pop("result_variable", None), table_dct.pop("result_mapping", None)
        table = self.decision_table_from_dict(table_dct)
        table.aggregation, table.output_orders = aggregation, orders
        table.result_variable, table.result_mapping = variable, mapping
        dct["dmnEngine"] = TableEngine(table)
        return self.task_spec_from_dict(dct)
