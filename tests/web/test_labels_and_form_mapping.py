"""Bilingual labels and the mapping between HTML form fields and form-js data (pure rules)."""
from __future__ import annotations

import json

import pytest
from werkzeug.datastructures import MultiDict

from engine.definitions.forms import parse_form, validate_submission
from web.pages.form_render import data_from_request, markdown_lite
from web.i18n import pick

from .conftest import FORMAL_REVIEW_FORMS
from tests.conftest import ROOT


@pytest.mark.parametrize("label, zh, en", [
    ("形式审查 · Formal review", "形式审查", "Formal review"),
    ("超过修改次数？· Over the limit?", "超过修改次数？", "Over the limit?"),
    ("Accepted · 已受理", "已受理", "Accepted"),
    ("10 天未修改 · 10 days passed", "10 天未修改", "10 days passed"),
    ("Formal review", "Formal review", "Formal review"),
    ("约翰·史密斯", "约翰·史密斯", "约翰·史密斯"),
    ("", "", ""),
])
def test_a_bilingual_label_shows_the_half_for_the_language(label, zh, en):
    assert pick(label, "zh_CN") == zh
    assert pick(label, "en") == en


def test_form_texts_render_headings_escaped_and_in_the_language():
    html = str(markdown_lite("## 形式审查 · Formal review\n\n<script>alert(1)</script> **bold**"))
    assert "<h3>" in html and "<script>" not in html and "&lt;script&gt;" in html and "<strong>bold</strong>" in html


def form(name: str):  # type: ignore[no-untyped-def]
    assert name in FORMAL_REVIEW_FORMS
    return parse_form((ROOT / "forms" / f"{name}.form").read_bytes(), f"{name}.form")


def test_browser_fields_become_data_of_the_right_shape():
    review = form("formal_review")
    submitted = MultiDict([("csrf_token", "t"), ("decision", "accept"), ("checks_passed", "complete"),
                           ("checks_passed", "eligible"), ("review_comment", "ok"), ("is_admin", "1")])
    data = data_from_request(review, submitted)
    assert data == {"checks_passed": ["complete", "eligible"], "decision": "accept", "review_comment": "ok"}
    assert validate_submission(review, data)["decision"] == "accept"


def test_an_unticked_checkbox_is_false_and_numbers_stay_text_for_the_engine_to_check():
    application = form("application_submit")
    data = data_from_request(application, MultiDict([("budget", "12.5"), ("title", "A title")]))
    assert data["integrity_pledge"] is False and data["budget"] == "12.5"
    assert "plan_category" not in data  # not sent: the engine reports it as required


def test_number_options_come_back_as_numbers_and_dynamic_lists_as_objects():
    definition = parse_form(json.dumps({"id": "t", "components": [
        {"type": "select", "key": "level", "label": "Level", "values": [{"label": "One", "value": 1}, {"label": "Two", "value": 2}]},
        {"type": "dynamiclist", "path": "team", "label": "Team", "components": [
            {"type": "textfield", "key": "name", "label": "Name", "validate": {"required": True}},
            {"type": "number", "key": "share", "label": "Share"}]}]}), "t.form")
    submitted = MultiDict([("level", "2"), ("team.0.name", "Li"), ("team.0.share", "40"),
                           ("team.1.name", ""), ("team.1.share", ""), ("team.2.name", "Wu"), ("team.2.share", "")])
    data = data_from_request(definition, submitted)
    assert data == {"level": 2, "team": [{"name": "Li", "share": "40"}, {"name": "Wu", "share": ""}]}
    assert validate_submission(definition, data) == {"level": 2, "team": [{"name": "Li", "share": 40}, {"name": "Wu", "share": None}]}


def test_a_dynamic_lists_items_are_shown_one_line_each_with_option_labels():
    from engine.workspace.history import display_value
    definition = parse_form(json.dumps({"id": "t", "components": [
        {"type": "dynamiclist", "path": "team", "label": "Team", "components": [
            {"type": "textfield", "key": "name", "label": "Name"},
            {"type": "select", "key": "role", "label": "Role",
             "values": [{"label": "研究 · Research", "value": "research"}]}]}]}), "t.form")
    shown = display_value(definition.field("team"), [{"name": "陈助理", "role": "research"}, {"name": "Wu", "role": ""}])
    assert shown == ["陈助理 / 研究 · Research", "Wu"]
