"""The budget category rules as the designer deployed them: the decision table `budget_rules`
(processes/budget_rules.dmn) read from the newest deployed DMN file that holds it, evaluated once
per category in the sandbox, and applied to any form that carries a budget table (a dynamic list
keyed `budget_lines`) when it is submitted: the application (its municipal column must add up to
the requested funding, the form's `budget`), and a task form such as the contract's, where it must
add up to the process's `approved_funding` (the award step fits the table to the approved amount).
A bad table is refused like any bad field, 422 with the row's field and the category named, and
nothing is started or completed. With no table deployed only the totals are checked."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.core.errors import InvalidData
from engine.core.models import DefinitionFile
from engine.definitions import decision_tables, feel
from engine.definitions.forms import FormDefinition
from engine.definitions.xmlsafe import parse_xml
from engine.lifecycle import funds
from engine.scripting.script_engine import RestrictedEnvironment

DECISION = "budget_rules"
_OPERATORS = ("<", ">", "=", "!", "in ", "not ")


def _table_source(session: Session) -> tuple[str, bytes] | None:
    needle = f'id="{DECISION}"'.encode()
    for row in session.scalars(select(DefinitionFile).where(DefinitionFile.kind == "dmn")
                               .order_by(DefinitionFile.created_at.desc())):
        if needle in row.content:
            return row.filename, row.content
    return None


def _matches(environment: RestrictedEnvironment, test: str | None, value: Any) -> bool:
    """A Python input entry as SpiffWorkflow reads it: `?` is the input; a bare value is compared
    for equality; one that starts with an operator is applied to the input."""
    if test is None:
        return True
    expression = test.replace("?", feel.INPUT) if "?" in test else test
    if feel.INPUT not in expression:
        stripped = expression.lstrip()
        expression = (f"{feel.INPUT} {stripped}" if stripped.startswith(_OPERATORS)
                      else f"({feel.INPUT}) == ({stripped})")
    return bool(environment.evaluate(expression, {feel.INPUT: value}))


def limits(session: Session) -> dict[str, funds.Limits]:
    """Each category's limits from the deployed table (empty when none is deployed)."""
    source = _table_source(session)
    if source is None:
        return {}
    filename, content = source
    root = parse_xml(content, filename).getroot()
    decision = next(d for d in root.iter("{*}decision") if d.get("id") == DECISION)
    table = next(decision.iter("{*}decisionTable"))
    compiled = decision_tables.compile_table(table, root)
    names = [o.get("name") for o in table.iter("{*}output")]
    environment = RestrictedEnvironment(environment_globals={})
    found: dict[str, funds.Limits] = {}
    for category in funds.CATEGORIES:
        for rule_id, tests in compiled.tests.items():
            if all(_matches(environment, test, category) for test in tests):
                values = {name: environment.evaluate(source or "None", {})
                          for name, source in zip(names, compiled.outputs[rule_id])}
                found[category] = funds.Limits(
                    **{k: (float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None)
                       for k, v in values.items() if k in ("cap_share", "justify_above", "adjust_share")})
                break
    return found


def applies(form: FormDefinition | None) -> bool:
    return form is not None and form.field(funds.LINES) is not None


def enforce(session: Session, form: FormDefinition | None, data: dict[str, Any],
            process_data: dict[str, Any] | None = None) -> None:
    """Refuse (422, by field) a submitted budget table that breaks the rules. The municipal column
    adds up to the form's own `budget` when it has one (an application), else to the process's
    `approved_funding` (the contract)."""
    if not applies(form):
        return
    lines = data.get(funds.LINES)
    if funds.LINES not in data and process_data is not None:
        # a task form sent without its table keeps the process's: it must fit all the same
        lines = process_data.get(funds.LINES)
    if not isinstance(lines, list):
        return
    own = form.field("budget")
    if own is not None and not (own.readonly or own.disabled):
        total = data.get("budget")
    else:
        total = (process_data or {}).get("approved_funding")
    total = float(total) if isinstance(total, (int, float)) and not isinstance(total, bool) else None
    errors = funds.check(lines, limits(session), total)
    if errors:
        raise InvalidData("the budget table breaks the budget rules", errors)
