"""Decision tables as Camunda Modeler exports them (FEEL unary tests and output literals) give
the results Camunda documents, through the engine: each table is deployed with a small process
whose business rule task uses it, an instance is started with the inputs, and the outputs are
read from its data. Hit policies follow the DMN 1.3 semantics Camunda documents: UNIQUE (one
match, more is an error), FIRST, PRIORITY (by the output's allowed values), ANY (matches must
agree), RULE ORDER and COLLECT (a list, or SUM/MIN/MAX/COUNT). A FEEL cell outside the subset is
refused at deploy with the rule and column named; the bureau's own tables, written in Python
expressions, keep working."""
from __future__ import annotations

from html import escape
from typing import Any

import pytest

from engine.core import commands
from engine.core.errors import DefinitionInvalid
from engine.core.principals import Actor
from engine.definitions import deployment, feel
from engine.definitions.validation import collect_paths, validate_sources
from engine.runtime import instances

ALICE = Actor("alice", frozenset())
CAMUNDA = 'exporter="Camunda Modeler" exporterVersion="5.17.0"'
BPMN = '''<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="Defs_{key}" targetNamespace="http://scitech.example/test">
  <bpmn:process id="{key}" isExecutable="true">
    <bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:businessRuleTask id="decide" name="Decide" camunda:decisionRef="{ref}">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:businessRuleTask>
    <bpmn:endEvent id="e"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="decide"/>
    <bpmn:sequenceFlow id="f2" sourceRef="decide" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>'''


def table(ref: str, policy: str, inputs: list[tuple[str, str]], outputs: list[str],
          rules: list[tuple[list[str], list[str]]], aggregation: str | None = None,
          output_values: dict[str, str] | None = None, exporter: str = CAMUNDA) -> str:
    """A DMN 1.3 document as Camunda Modeler writes it: one decision, one table."""
    agg = f' aggregation="{aggregation}"' if aggregation else ""
    cols = "".join(f'<input id="in{i}" label="{label}"><inputExpression id="ie{i}" typeRef="string">'
                   f'<text>{expr}</text></inputExpression></input>' for i, (label, expr) in enumerate(inputs))
    for i, name in enumerate(outputs):
        values = (output_values or {}).get(name)
        inner = f'<outputValues id="ov{i}"><text>{escape(values, quote=False)}</text></outputValues>' if values else ""
        cols += f'<output id="out{i}" label="{name}" name="{name}" typeRef="string">{inner}</output>'
    body = "".join(
        f'<rule id="r{n}">'
        + "".join(f'<inputEntry id="r{n}i{i}"><text>{escape(t, quote=False)}</text></inputEntry>' for i, t in enumerate(tests))
        + "".join(f'<outputEntry id="r{n}o{i}"><text>{escape(t, quote=False)}</text></outputEntry>' for i, t in enumerate(outs))
        + "</rule>" for n, (tests, outs) in enumerate(rules, start=1))
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" '
            f'id="Defs_{ref}" name="{ref}" namespace="http://camunda.org/schema/1.0/dmn" {exporter}>'
            f'<decision id="{ref}" name="{ref}"><decisionTable id="t_{ref}" hitPolicy="{policy}"{agg}>'
            f'{cols}{body}</decisionTable></decision></definitions>')


def deploy(db: Any, dmn: str, ref: str, result: str = "", key: str = "") -> str:
    """Deploy the table with a process whose business rule task uses it (`result`: more
    attributes of the task, such as camunda:resultVariable)."""
    key = key or f"p_{ref}"
    bpmn = BPMN.format(key=key, ref=ref).replace('camunda:decisionRef=', result + ' camunda:decisionRef=')
    commands.execute(db, deployment.deploy, [(f"{ref}.dmn", dmn.encode()), (f"{key}.bpmn", bpmn.encode())], "designer")
    return key


def run(db: Any, key: str, **data: Any) -> tuple[str, dict[str, Any]]:
    """Start an instance with the inputs; its state and data once the table has run."""
    instance = commands.execute(db, instances.start, ALICE, key, data)
    return instance.state, instances.data_of(instance)


# Camunda's documented example ("Decision Tables", dish.dmn): season and guest count -> dish
DISH = table("dish", "UNIQUE", [("Season", "season"), ("How many guests", "guestCount")], ["desiredDish"], [
    (['"Fall"', "<= 8"], ['"Spareribs"']),
    (['"Winter"', "<= 8"], ['"Roastbeef"']),
    (['"Spring"', "<= 4"], ['"Dry Aged Gourmet Steak"']),
    (['"Spring"', "[5..8]"], ['"Steak"']),
    (['"Fall","Winter","Spring"', "> 8"], ['"Stew"']),
    (['"Summer"', ""], ['"Light Salad and a nice Steak"']),
])


def test_the_dish_decision_gives_camundas_documented_dishes(db):
    # given Camunda's dish table (UNIQUE, FEEL) used by a business rule task
    key = deploy(db, DISH, "dish")
    # when instances run with Camunda's documented inputs, then each gets the documented dish
    for season, guests, dish in [("Fall", 4, "Spareribs"), ("Winter", 8, "Roastbeef"),
                                 ("Spring", 3, "Dry Aged Gourmet Steak"), ("Spring", 7, "Steak"),
                                 ("Winter", 9, "Stew"), ("Summer", 30, "Light Salad and a nice Steak")]:
        state, data = run(db, key, season=season, guestCount=guests)
        assert (state, data["desiredDish"]) == ("completed", dish), (season, guests)


@pytest.mark.parametrize("mapping, expected", [
    ("singleEntry", "Steak"),
    ("singleResult", {"desiredDish": "Steak"}),
    ("collectEntries", ["Steak"]),
    ("resultList", [{"desiredDish": "Steak"}]),
])
def test_the_result_variable_holds_the_result_as_camunda_maps_it(db, mapping, expected):
    # given the dish table used as in Camunda's example: camunda:resultVariable and mapDecisionResult
    key = deploy(db, DISH, "dish", f'camunda:resultVariable="dish" camunda:mapDecisionResult="{mapping}"',
                 key=f"p_{mapping}")
    # when it runs, then the variable holds the result in that shape, and only it is added
    assert run(db, key, season="Spring", guestCount=7) == ("completed", {
        "season": "Spring", "guestCount": 7, "dish": expected})


def test_single_entry_with_two_results_is_an_error_and_no_match_is_null(db):
    key = deploy(db, table("many", "RULE ORDER", [("n", "n")], ["r"], [(["> 0"], ['"a"']), (["> 1"], ['"b"'])]),
                 "many", 'camunda:resultVariable="r1" camunda:mapDecisionResult="singleEntry"')
    assert run(db, key, n=-1)[1]["r1"] is None
    instance = commands.execute(db, instances.start, ALICE, key, {"n": 5})
    assert instance.state == "error" and "singleEntry" in instance.error_message


def test_an_unknown_result_mapping_is_refused_at_deploy(db):
    with pytest.raises(DefinitionInvalid) as refused:
        deploy(db, DISH, "dish", 'camunda:resultVariable="d" camunda:mapDecisionResult="everything"')
    assert "mapDecisionResult 'everything'" in str(refused.value.problems[0])


def test_unique_with_two_matching_rules_is_an_error_of_the_instance(db):
    # given a UNIQUE table whose rules overlap at 5
    key = deploy(db, table("overlap", "UNIQUE", [("n", "n")], ["r"], [
        (["<= 5"], ['"low"']), ([">= 5"], ['"high"'])]), "overlap")
    # when the input is 5, then the instance stops in error naming the hit policy and rows
    instance = commands.execute(db, instances.start, ALICE, key, {"n": 5})
    assert instance.state == "error" and "UNIQUE" in instance.error_message and "1, 2" in instance.error_message
    # and an input matching one rule is fine
    assert run(db, key, n=7)[1]["r"] == "high"


SCORES = [([">= 10"], ["1"]), ([">= 20"], ["2"]), ([">= 30"], ["3"])]


@pytest.mark.parametrize("policy, aggregation, expected", [
    ("FIRST", None, 1),
    ("RULE ORDER", None, [1, 2]),
    ("COLLECT", None, [1, 2]),
    ("COLLECT", "SUM", 3),
    ("COLLECT", "MIN", 1),
    ("COLLECT", "MAX", 2),
    ("COLLECT", "COUNT", 2),
])
def test_hit_policies_over_the_same_two_matching_rules(db, policy, aggregation, expected):
    # given rules >= 10 -> 1, >= 20 -> 2, >= 30 -> 3, under each policy
    ref = f"score_{policy.replace(' ', '_')}_{aggregation or 'list'}".lower()
    key = deploy(db, table(ref, policy, [("score", "score")], ["points"], SCORES, aggregation), ref)
    # when the score is 25 (the first two match), then the result is what DMN documents
    assert run(db, key, score=25) == ("completed", {"score": 25, "points": expected})


def test_collect_with_no_match_gives_an_empty_list_a_zero_count_and_no_sum(db):
    results = {}
    for aggregation in (None, "COUNT", "SUM"):
        ref = f"none_{aggregation or 'list'}".lower()
        key = deploy(db, table(ref, "COLLECT", [("score", "score")], ["points"], SCORES, aggregation), ref)
        results[aggregation] = run(db, key, score=5)[1]["points"]
    assert results == {None: [], "COUNT": 0, "SUM": None}


def test_a_collected_list_replaces_the_one_an_earlier_run_left(db):
    # given the list variable already holds a value (an earlier run of the task, in a loop)
    key = deploy(db, table("again", "COLLECT", [("score", "score")], ["points"], SCORES), "again")
    # then the table's list replaces it rather than being merged into it
    assert run(db, key, score=25, points=[9, 1])[1]["points"] == [1, 2]


def test_priority_picks_the_match_whose_output_comes_first_in_the_allowed_values(db):
    # given allowed values "high","medium","low" and a low-priority rule listed first
    key = deploy(db, table("risk", "PRIORITY", [("amount", "amount")], ["risk"], [
        ([">= 0"], ['"low"']), ([">= 100"], ['"high"']), ([">= 50"], ['"medium"'])],
        output_values={"risk": '"high","medium","low"'}), "risk")
    # when several match, then the highest priority wins, whatever the rule order
    assert run(db, key, amount=120)[1]["risk"] == "high"
    assert run(db, key, amount=60)[1]["risk"] == "medium"
    assert run(db, key, amount=10)[1]["risk"] == "low"


def test_any_accepts_agreeing_matches_and_refuses_disagreeing_ones(db):
    key = deploy(db, table("anyp", "ANY", [("n", "n")], ["ok"], [
        (["> 0"], ["true"]), (["[1..10]"], ["true"]), (["> 100"], ["false"])]), "anyp")
    assert run(db, key, n=5)[1]["ok"] is True
    instance = commands.execute(db, instances.start, ALICE, key, {"n": 200})
    assert instance.state == "error" and "ANY" in instance.error_message


UNARY = table("unary", "FIRST", [("x", "x")], ["matched"], [
    (["]1..5["], ['"open range"']),
    (["(10..20)"], ['"parenthesised range"']),
    (["[20..30)"], ['"half open"']),
    (["1, 5"], ['"list"']),
    (["true"], ['"yes"']),
    (["null"], ['"missing"']),
    (['not("a","b")'], ['"not a or b"']),
    (["-"], ["null"]),
])


@pytest.mark.parametrize("x, expected", [
    (3, "open range"), (1, "list"), (5, "list"), (15, "parenthesised range"), (20, "half open"),
    (30, "not a or b"), ("c", "not a or b"), ("a", None), (True, "yes"), (None, "missing"),
])
def test_feel_unary_tests_match_as_in_camunda(db, x, expected):
    key = deploy(db, UNARY, "unary")
    assert run(db, key, x=x)[1]["matched"] == expected


def test_dates_strings_with_escapes_and_variables_in_tests(db):
    key = deploy(db, table("dated", "FIRST", [("due", "due"), ("code", "code")], ["when", "note"], [
        (['< date("2024-07-01")', '"say \\"hi\\""'], ['"first half"', '"quoted"']),
        (['>= date("2024-07-01")', "< limit"], ['"second half"', "code"]),
    ]), "dated")
    data = run(db, key, due="2024-03-31", code='say "hi"')[1]
    assert (data["when"], data["note"]) == ("first half", "quoted")
    data = run(db, key, due="2024-12-01", code="A", limit="B")[1]
    assert (data["when"], data["note"]) == ("second half", "A")


@pytest.mark.parametrize("cell, construct", [
    ('matches(x, "a.*")', "function 'matches(...)'"),
    ("x + 1", "+ 1"),
    ("80 <= ? < 90", "? < 90"),
    ('[1..5', "more"),
])
def test_a_feel_cell_outside_the_subset_is_refused_at_deploy_naming_rule_and_column(db, cell, construct):
    dmn = table("bad", "UNIQUE", [("Amount", "x")], ["r"], [(["< 10"], ['"ok"']), ([cell], ['"no"'])])
    with pytest.raises(DefinitionInvalid) as refused:
        deploy(db, dmn, "bad")
    [problem] = refused.value.problems
    assert "rule 2 (r2), input 'Amount'" in problem.message and construct in problem.message
    assert problem.element_id == "r2i0" and problem.line


def test_a_table_on_its_own_is_checked_too(db):
    # a .dmn validated without any process using it still has its FEEL checked
    bundle = validate_sources([("alone.dmn", table("alone", "FIRST", [("x", "x")], ["r"],
                                                   [(["> > 1"], ['"no"'])]).encode())])
    assert [p.element_id for p in bundle.problems] == ["r1i0"]


def test_aggregation_needs_collect_and_one_output(db):
    bundle = validate_sources([("agg.dmn", table("agg", "FIRST", [("x", "x")], ["r"], SCORES, "SUM").encode())])
    assert "needs hit policy COLLECT" in bundle.problems[0].message


def test_the_bureaus_python_tables_still_validate_and_decide(db):
    # the tables in processes/ are Python expressions ('80 <= ? < 90', 'True'); they still deploy
    bundle = validate_sources(collect_paths(["processes", "forms"]))
    assert bundle.problems == []
    with open("processes/establishment_score_band.dmn", encoding="utf-8") as source:
        key = deploy(db, source.read(), "establishment_score_band")
    for score, band in [(95, "key_recommend"), (85, "recommend"), (61, "reserve"), (10, "reject")]:
        assert run(db, key, aggregate_score=score)[1]["recommendation"] == band


def test_translations_of_the_documented_forms():
    assert feel.unary_tests('["a".."c"]') == f"{feel.INPUT} is not None and 'a' <= {feel.INPUT} <= 'c'"
    assert feel.unary_tests("-") is None and feel.unary_tests("") is None
    assert feel.output_literal("false") == "False" and feel.output_literal("-2.5") == "-2.5"
    assert feel.literal_list('"high", "low"') == ["high", "low"]
