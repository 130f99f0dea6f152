"""A dynamic list (team members, partner units) comes back as it was saved: its items and no
blank row added on each save (one empty row only to start an empty list), each row with a
remove button while the form can be edited."""
from __future__ import annotations

import json

from engine.definitions.forms import parse_form
from web.pages.form_render import render_nodes

TEAM = parse_form(json.dumps({"id": "team", "components": [{"type": "dynamiclist", "path": "team", "label": "Team",
                                                            "components": [{"type": "textfield", "key": "name"}]}]}),
                  "team.form")


def test_a_saved_list_shows_its_items_and_no_extra_blank_row():
    [node] = render_nodes(TEAM, {"team": [{"name": "张伟"}, {"name": "李娜"}]})
    assert [row[0].value for row in node.rows] == ["张伟", "李娜"]


def test_an_empty_list_starts_with_one_row_to_fill_in():
    assert len(render_nodes(TEAM, {})[0].rows) == 1


def test_each_editable_row_has_a_remove_button_and_a_read_only_list_none(app):
    with app.test_request_context():
        from flask import render_template_string
        page = "{% from 'macros/form.html' import render_nodes %}{{ render_nodes(nodes) }}"
        editable = render_template_string(page, nodes=render_nodes(TEAM, {"team": [{"name": "a"}, {"name": "b"}]}))
        shown = render_template_string(page, nodes=render_nodes(TEAM, {"team": [{"name": "a"}]}, readonly=True))
    assert editable.count("data-remove-row") == 2 and "data-remove-row" not in shown
