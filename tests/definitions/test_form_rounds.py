"""Two rules a form declares in its fields' `properties` (engine/definitions/forms.py):
`prefill: "none"` (a decision or opinion belongs to one completion and never carries over from
process data) and `requiredWhen: "field = value, value"` (a comment required for a return or
a refusal), and that every real decision form in forms/ declares them."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.core.errors import DefinitionInvalid, InvalidData
from engine.definitions.forms import (FormDefinition, completion_blanks, load_forms_dir, offered_values,
                                      parse_form, validate_submission)

FORMS = Path(__file__).resolve().parents[2] / "forms"


def review_form(**comment_props: object) -> FormDefinition:
    return parse_form(json.dumps({"id": "review", "type": "default", "components": [
        {"type": "radio", "key": "decision", "label": "审查结论 · Decision",
         "values": [{"label": "受理 · Accept", "value": "accept"},
                    {"label": "退回修改 · Return for correction", "value": "return"},
                    {"label": "不予受理 · Reject", "value": "reject"}],
         "validate": {"required": True}, "properties": {"prefill": "none"}},
        {"type": "textarea", "key": "review_comment", "label": "审查意见 · Comment",
         "properties": {"prefill": "none", "requiredWhen": "decision = return, reject", **comment_props}},
        {"type": "textfield", "key": "title", "label": "Title"}]}), "review.form")


def refused(**comment_props: object) -> str:
    with pytest.raises(DefinitionInvalid) as caught:
        review_form(**comment_props)
    return " ".join(p.message for p in caught.value.problems)


# --- prefill: "none" ---------------------------------------------------------------------------

def test_given_process_data_from_an_earlier_round_when_the_form_is_offered_then_decision_fields_start_empty():
    form = review_form()
    earlier = {"decision": "return", "review_comment": "", "title": "Sepsis early warning", "other": 1}
    assert offered_values(form, earlier) == {"title": "Sepsis early warning"}


def test_a_completion_lays_its_fields_that_start_empty_under_what_was_submitted():
    assert completion_blanks(review_form()) == {"decision": None, "review_comment": None}
    ticks = parse_form(json.dumps({"id": "t", "components": [
        {"type": "checkbox", "key": "signed", "properties": {"prefill": "none"}},
        {"type": "checklist", "key": "checks", "values": [{"label": "a", "value": "a"}], "properties": {"prefill": "none"}}]}), "t.form")
    assert completion_blanks(ticks) == {"signed": False, "checks": []}  # what an untouched form sends


def test_a_misspelt_prefill_is_refused_at_deploy_time():
    assert "properties.prefill must be one of data, none" in refused(prefill="never")


# --- requiredWhen ------------------------------------------------------------------------------

@pytest.mark.parametrize("decision", ["return", "reject"])
def test_a_return_or_refusal_without_a_comment_is_refused_naming_the_field(decision: str):
    for blank in ({}, {"review_comment": ""}, {"review_comment": "   "}, {"review_comment": None}):
        with pytest.raises(InvalidData) as caught:
            validate_submission(review_form(), {"decision": decision, **blank})
        message = caught.value.fields["review_comment"][0]
        assert message.startswith("Required when “审查结论 · Decision” is “")
        assert list(caught.value.fields) == ["review_comment"]


def test_an_acceptance_needs_no_comment_and_a_return_with_one_passes():
    assert validate_submission(review_form(), {"decision": "accept"}) == {"decision": "accept"}
    assert validate_submission(review_form(), {"decision": "return", "review_comment": "补充伦理批件"})[
        "review_comment"] == "补充伦理批件"


def test_the_conditional_rule_is_reported_together_with_the_other_problems():
    with pytest.raises(InvalidData) as caught:
        validate_submission(review_form(), {"decision": "return", "title": 5, "extra": 1})
    assert {"review_comment", "title", "extra"} <= set(caught.value.fields)


def test_required_when_inside_a_dynamic_list_names_the_item():
    form = parse_form(json.dumps({"id": "l", "components": [{"type": "dynamiclist", "path": "rows", "components": [
        {"type": "select", "key": "kind", "values": [{"label": "a", "value": "a"}, {"label": "b", "value": "b"}]},
        {"type": "textfield", "key": "note", "properties": {"requiredWhen": "kind = b"}}]}]}), "l.form")
    with pytest.raises(InvalidData) as caught:
        validate_submission(form, {"rows": [{"kind": "a"}, {"kind": "b"}]})
    assert list(caught.value.fields) == ["rows.1.note"]


@pytest.mark.parametrize("declared, expected", [
    ("decision", "must read 'field = value, value'"),
    ("decision = ", "must read 'field = value, value'"),
    ("nothing = return", "names 'nothing', which is not another field of this form"),
    ("review_comment = x", "names 'review_comment', which is not another field of this form"),
    ("decision = return, send_back", "names value 'send_back', which field 'decision' does not offer"),
])
def test_a_bad_required_when_is_refused_at_deploy_time(declared: str, expected: str):
    assert expected in refused(requiredWhen=declared)


# --- the real forms ----------------------------------------------------------------------------

DECISIONS = {  # form -> (decision field, its values that return or refuse, the comment field)
    "formal_review": ("decision", ("return", "reject"), "review_comment"),
    "acceptance_formal_review": ("decision", ("return", "reject"), "review_comment"),
    "acceptance_formal_review_duplicate": ("decision", ("return", "reject"), "review_comment"),
    "application_endorsement": ("endorsement", ("return", "reject"), "endorsement_opinion"),
    "application_unit_review": ("unit_decision", ("return", "refuse"), "unit_opinion"),
    "contract_unit_sign": ("unit_sign_decision", ("return",), "unit_sign_comment"),
    "annual_report_unit_confirm": ("unit_report_confirmation", ("return",), "unit_report_comment"),
    "acceptance_unit_confirm": ("unit_acceptance_confirmation", ("return",), "unit_acceptance_comment"),
    "bureau_decision": ("bureau_decision", ("reject",), "decision_comment"),
    "contract_check": ("contract_check", ("return",), "check_comment"),
    "change_review": ("change_decision", ("reject",), "change_comment"),
    "midterm_check": ("midterm_conclusion", ("rectify", "suspend_funding", "terminate"), "midterm_comment"),
    "rectification_check": ("rectification_result", ("terminate",), "rectification_comment"),
    "institution_proposal": ("proposal", ("reject",), "proposal_comment"),
    "annual_report_review": ("report_assessment", ("concerns",), "report_comment"),
}


def test_every_real_decision_starts_empty_and_a_return_or_refusal_needs_its_comment():
    forms = load_forms_dir(FORMS)
    for form_id, (decision, refusals, comment) in DECISIONS.items():
        form = forms[form_id]
        assert form.field(decision).starts_empty and form.field(comment).starts_empty, form_id
        for value in refusals:
            with pytest.raises(InvalidData) as caught:
                validate_submission(form, {decision: value})
            assert comment in caught.value.fields, (form_id, value)


def test_every_real_review_form_starts_its_judgement_fields_empty():
    """A radio (a decision) on a form staff or experts fill in is always this round's own."""
    forms = load_forms_dir(FORMS)
    decisions = [(form.id, f.key) for form in forms.values() for f in form.fields if f.type == "radio"]
    assert decisions and all(forms[form_id].field(key).starts_empty for form_id, key in decisions)
