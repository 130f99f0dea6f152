"""Rules of engine.forms: parsing Camunda Forms (form-js) files, building schemas from them,
and checking submitted task data."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.core.errors import DefinitionInvalid, InvalidData
from engine.definitions.forms import FormDefinition, FormField, load_forms_dir, parse_form, schema_for, validate_submission


def make_form(*components: dict, form_id: str = "test_form") -> FormDefinition:
    return parse_form(json.dumps({"id": form_id, "type": "default", "components": list(components),
                                  "schemaVersion": 16}), "test.form")


def refusal(data: str | bytes | dict, filename: str = "bad.form") -> DefinitionInvalid:
    text = data if isinstance(data, (str, bytes)) else json.dumps(data)
    with pytest.raises(DefinitionInvalid) as caught:
        parse_form(text, filename)
    return caught.value


def bad_fields(form: FormDefinition, data: object) -> dict[str, list[str]]:
    with pytest.raises(InvalidData) as caught:
        validate_submission(form, data)
    return caught.value.fields


def text(key: str, **extra: object) -> dict:
    return {"type": "textfield", "key": key, "label": key.title(), **extra}


def options(*values: object) -> list[dict]:
    return [{"label": str(v), "value": v} for v in values]


# --- a real Camunda Modeler 5 file ---------------------------------------------------------

MODELER_FORM = """{
  "components": [
    {
      "text": "# Equipment request\\nPlease fill in **all** required fields.",
      "type": "text",
      "layout": {"row": "Row_1", "columns": null},
      "id": "Field_0intro"
    },
    {
      "label": "Applicant",
      "type": "group",
      "layout": {"row": "Row_2", "columns": null},
      "id": "Field_1grp",
      "showOutline": true,
      "components": [
        {
          "label": "Full name",
          "type": "textfield",
          "layout": {"row": "Row_3", "columns": 8},
          "id": "Field_0name",
          "key": "applicant_name",
          "validate": {"required": true, "minLength": 2, "maxLength": 80},
          "properties": {"label_en": "Full name", "label_zh": "\\u59d3\\u540d"}
        },
        {
          "label": "E-mail",
          "type": "textfield",
          "layout": {"row": "Row_3", "columns": 8},
          "id": "Field_0mail",
          "key": "email",
          "validate": {"validationType": "email", "required": true}
        }
      ]
    },
    {
      "values": [
        {"label": "Microscope", "value": "microscope"},
        {"label": "Centrifuge", "value": "centrifuge"}
      ],
      "label": "Equipment",
      "type": "select",
      "layout": {"row": "Row_4", "columns": null},
      "id": "Field_1equip",
      "key": "equipment",
      "validate": {"required": true}
    },
    {
      "label": "Hours needed",
      "type": "number",
      "layout": {"row": "Row_5", "columns": null},
      "id": "Field_0hours",
      "key": "hours",
      "decimalDigits": 0,
      "increment": "1",
      "validate": {"min": 1, "max": 40}
    },
    {
      "subtype": "date",
      "dateLabel": "Start date",
      "type": "datetime",
      "layout": {"row": "Row_5", "columns": null},
      "id": "Field_0start",
      "key": "start_date",
      "validate": {"required": true}
    },
    {
      "label": "Notes",
      "type": "textarea",
      "layout": {"row": "Row_6", "columns": null},
      "id": "Field_0notes",
      "key": "notes"
    },
    {"type": "separator", "layout": {"row": "Row_7", "columns": null}, "id": "Field_0sep"},
    {
      "label": "I agree to the lab safety rules",
      "type": "checkbox",
      "layout": {"row": "Row_8", "columns": null},
      "id": "Field_0agree",
      "key": "agree",
      "validate": {"required": true}
    }
  ],
  "type": "default",
  "id": "equipment_request",
  "executionPlatform": "Camunda Cloud",
  "executionPlatformVersion": "8.5.0",
  "exporter": {"name": "Camunda Modeler", "version": "5.25.0"},
  "schemaVersion": 16
}"""


def test_modeler_5_form_parses_with_groups_flattened_and_text_ignored() -> None:
    # given a file as Camunda Modeler 5 saves it
    # when it is parsed
    form = parse_form(MODELER_FORM, "equipment_request.form")
    # then only data-carrying components are fields, the group's children at the top level
    assert form.id == "equipment_request"
    assert [f.key for f in form.fields] == ["applicant_name", "email", "equipment", "hours",
                                            "start_date", "notes", "agree"]
    name = form.field("applicant_name")
    assert isinstance(name, FormField) and name.required and name.label == "Full name"
    assert name.raw["properties"]["label_zh"] == "\u59d3\u540d"
    assert form.field("Field_0intro") is None


def test_modeler_5_form_accepts_a_good_submission_and_cleans_it() -> None:
    form = parse_form(MODELER_FORM, "equipment_request.form")
    # when a complete, valid submission arrives (number as a string, as some clients send)
    cleaned = validate_submission(form, {
        "applicant_name": "Ada Lovelace", "email": "ada@example.org", "equipment": "microscope",
        "hours": "8", "start_date": "2024-05-01", "agree": True})
    # then it comes back typed, and absent optional fields stay absent
    assert cleaned == {"applicant_name": "Ada Lovelace", "email": "ada@example.org",
                       "equipment": "microscope", "hours": 8, "start_date": "2024-05-01",
                       "agree": True}
    json.dumps(cleaned)


def test_modeler_5_form_names_every_bad_field_at_once() -> None:
    form = parse_form(MODELER_FORM, "equipment_request.form")
    # when everything is wrong
    fields = bad_fields(form, {"applicant_name": "A", "email": "not-mail", "equipment": "laser",
                               "hours": 41, "start_date": "01/05/2024", "agree": False,
                               "extra": 1})
    # then every field is named, each with its own message
    assert set(fields) == {"applicant_name", "email", "equipment", "hours", "start_date",
                           "agree", "extra"}
    assert fields["extra"] == ["Unknown field."]


# --- coercion and types ---------------------------------------------------------------------

def test_number_string_is_coerced_to_int() -> None:
    form = make_form({"type": "number", "key": "n"})
    assert validate_submission(form, {"n": "42"}) == {"n": 42}
    assert type(validate_submission(form, {"n": 42.0})["n"]) is int


def test_number_with_decimals_becomes_plain_float_never_decimal() -> None:
    form = make_form({"type": "number", "key": "n"}, {"type": "number", "key": "m",
                                                       "decimalDigits": 2})
    # when a fractional value and a whole value arrive for a field with decimal places
    cleaned = validate_submission(form, {"n": "1.25", "m": 3})
    # then both load as floats, which serialise as JSON
    assert cleaned == {"n": 1.25, "m": 3.0}
    assert type(cleaned["n"]) is float and type(cleaned["m"]) is float
    json.dumps(cleaned)


def test_number_decimal_digits_limit_the_decimal_places() -> None:
    form = make_form({"type": "number", "key": "price", "decimalDigits": 2},
                     {"type": "number", "key": "count", "decimalDigits": 0})
    fields = bad_fields(form, {"price": "1.234", "count": 2.5})
    assert fields == {"price": ["Must have at most 2 decimal place(s)."],
                      "count": ["Must be a whole number."]}


@pytest.mark.parametrize("value", ["abc", "1_000", "NaN", "inf", True, [1], {"a": 1}, "1e999999999"])
def test_number_refuses_non_numbers(value: object) -> None:
    form = make_form({"type": "number", "key": "n"})
    assert list(bad_fields(form, {"n": value})) == ["n"]


def test_number_min_and_max_are_enforced() -> None:
    form = make_form({"type": "number", "key": "n", "validate": {"min": 1, "max": 10}})
    assert validate_submission(form, {"n": 1}) == {"n": 1}
    assert validate_submission(form, {"n": 10}) == {"n": 10}
    assert "n" in bad_fields(form, {"n": 0})
    assert "n" in bad_fields(form, {"n": "10.5"})


def test_checkbox_coerces_true_strings_to_booleans() -> None:
    form = make_form({"type": "checkbox", "key": "ok"})
    assert validate_submission(form, {"ok": "true"}) == {"ok": True}
    assert validate_submission(form, {"ok": False}) == {"ok": False}
    assert "ok" in bad_fields(form, {"ok": "maybe"})


def test_required_checkbox_must_be_ticked_as_in_form_js() -> None:
    form = make_form({"type": "checkbox", "key": "agree", "validate": {"required": True}})
    assert bad_fields(form, {"agree": False}) == {"agree": ["This field is required."]}
    assert validate_submission(form, {"agree": True}) == {"agree": True}


# --- required -------------------------------------------------------------------------------

def test_required_field_missing_is_refused() -> None:
    form = make_form(text("name", validate={"required": True}))
    assert bad_fields(form, {}) == {"name": ["This field is required."]}


@pytest.mark.parametrize("empty", ["", None])
def test_required_text_counts_empty_string_and_null_as_missing(empty: object) -> None:
    form = make_form(text("name", validate={"required": True}))
    assert bad_fields(form, {"name": empty}) == {"name": ["This field is required."]}


def test_required_checklist_counts_empty_list_as_missing() -> None:
    form = make_form({"type": "checklist", "key": "c", "values": options("a", "b"),
                      "validate": {"required": True}})
    assert bad_fields(form, {"c": []}) == {"c": ["This field is required."]}


def test_optional_fields_accept_null_absence_and_blank() -> None:
    form = make_form(text("t", validate={"minLength": 3}), {"type": "number", "key": "n"},
                     {"type": "datetime", "key": "d", "subtype": "date"})
    # given nothing, then null, then blanks from a browser
    assert validate_submission(form, {}) == {}
    assert validate_submission(form, {"t": None, "n": None, "d": None}) == {"t": None, "n": None,
                                                                           "d": None}
    # then a blank optional text skips its length rule, and blank number/date mean "no answer"
    assert validate_submission(form, {"t": "", "n": "", "d": ""}) == {"t": "", "n": None,
                                                                     "d": None}


def test_readonly_and_disabled_required_fields_may_be_absent() -> None:
    form = make_form(text("ref", readonly=True, validate={"required": True}),
                     {"type": "number", "key": "n", "disabled": True, "validate": {"required": True}})
    assert validate_submission(form, {}) == {}
    assert validate_submission(form, {"ref": "X-1", "n": "3"}) == {"ref": "X-1", "n": 3}


# --- text rules -----------------------------------------------------------------------------

def test_text_min_and_max_length_are_enforced() -> None:
    form = make_form(text("code", validate={"minLength": 2, "maxLength": 4}),
                     {"type": "textarea", "key": "note", "validate": {"maxLength": 5}})
    assert validate_submission(form, {"code": "ab", "note": "hello"}) == {"code": "ab",
                                                                           "note": "hello"}
    assert set(bad_fields(form, {"code": "a", "note": "too long"})) == {"code", "note"}
    assert "code" in bad_fields(form, {"code": "abcde"})


def test_text_pattern_is_enforced() -> None:
    form = make_form(text("code", validate={"pattern": "^[A-Z]{3}-\\d+$"}))
    assert validate_submission(form, {"code": "ABC-12"}) == {"code": "ABC-12"}
    assert bad_fields(form, {"code": "abc-12"}) == {
        "code": ["Must match the pattern ^[A-Z]{3}-\\d+$."]}


def test_text_pattern_may_match_anywhere_like_form_js() -> None:
    # given an unanchored pattern (form-js tests it with RegExp.test)
    form = make_form(text("code", validate={"pattern": "\\d{3}"}))
    assert validate_submission(form, {"code": "ref 123 x"}) == {"code": "ref 123 x"}
    assert "code" in bad_fields(form, {"code": "ref 12"})


def test_text_email_and_phone_validation_types() -> None:
    form = make_form(text("mail", validate={"validationType": "email"}),
                     text("phone", validate={"validationType": "phone"}))
    assert validate_submission(form, {"mail": "a@b.org", "phone": "+86 10 1234 5678"})
    assert set(bad_fields(form, {"mail": "a-at-b", "phone": "call me"})) == {"mail", "phone"}


def test_text_refuses_non_strings() -> None:
    form = make_form(text("t"))
    assert "t" in bad_fields(form, {"t": 12})


# --- options --------------------------------------------------------------------------------

def test_select_and_radio_accept_only_their_values_keeping_the_type() -> None:
    form = make_form({"type": "select", "key": "colour", "values": options("red", "blue")},
                     {"type": "radio", "key": "size", "values": options(1, 2, 3)})
    # then the option value comes back in its own type
    assert validate_submission(form, {"colour": "red", "size": 2}) == {"colour": "red", "size": 2}
    # and anything else, including a number spelled as a string or a boolean, is refused
    fields = bad_fields(form, {"colour": "green", "size": "2"})
    assert fields == {"colour": ["Must be one of: red, blue."], "size": ["Must be one of: 1, 2, 3."]}
    assert "size" in bad_fields(form, {"size": True})


def test_checklist_and_taglist_accept_lists_of_their_values() -> None:
    form = make_form({"type": "checklist", "key": "c", "values": options("a", "b", "c")},
                     {"type": "taglist", "key": "t", "values": options("x", "y")})
    assert validate_submission(form, {"c": ["a", "c"], "t": []}) == {"c": ["a", "c"], "t": []}
    fields = bad_fields(form, {"c": ["a", "z"], "t": "x"})
    assert fields == {"c": ["Item 1: Must be one of: a, b, c."], "t": ["Not a valid list."]}


def test_dynamic_options_accept_any_scalar() -> None:
    form = make_form({"type": "select", "key": "s", "valuesKey": "choices"},
                     {"type": "checklist", "key": "c", "valuesExpression": "=opts"})
    assert validate_submission(form, {"s": "anything", "c": ["p", 2]}) == {"s": "anything",
                                                                          "c": ["p", 2]}
    assert set(bad_fields(form, {"s": {"a": 1}, "c": [[1]]})) == {"s", "c"}


# --- datetime -------------------------------------------------------------------------------

def test_datetime_date_subtype_needs_yyyy_mm_dd() -> None:
    form = make_form({"type": "datetime", "key": "d", "subtype": "date"})
    assert validate_submission(form, {"d": "2024-02-29"}) == {"d": "2024-02-29"}
    for bad in ("2023-02-29", "29.02.2024", "2024-02-29T10:00", 20240229):
        assert "d" in bad_fields(form, {"d": bad}), bad


def test_datetime_time_subtype_needs_hh_mm_and_is_normalised() -> None:
    form = make_form({"type": "datetime", "key": "t", "subtype": "time"})
    assert validate_submission(form, {"t": "09:30"}) == {"t": "09:30:00"}
    assert validate_submission(form, {"t": "09:30:15+02:00"}) == {"t": "09:30:15+02:00"}
    for bad in ("25:00", "9:30", "noon"):
        assert "t" in bad_fields(form, {"t": bad}), bad


def test_datetime_datetime_subtype_needs_iso_8601_and_is_normalised() -> None:
    form = make_form({"type": "datetime", "key": "at", "subtype": "datetime"})
    assert validate_submission(form, {"at": "2024-05-01T10:15Z"}) == {
        "at": "2024-05-01T10:15:00+00:00"}
    assert validate_submission(form, {"at": "2024-05-01 10:15"}) == {"at": "2024-05-01T10:15:00"}
    for bad in ("2024-05-01", "2024-13-01T10:00", "yesterday"):
        assert "at" in bad_fields(form, {"at": bad}), bad


# --- structure ------------------------------------------------------------------------------

def test_groups_are_flattened_at_any_depth() -> None:
    form = make_form({"type": "group", "label": "Outer", "components": [
        text("a"), {"type": "group", "path": "ignored", "components": [text("b")]}]}, text("c"))
    assert [f.key for f in form.fields] == ["a", "b", "c"]
    assert validate_submission(form, {"a": "1", "b": "2", "c": "3"}) == {"a": "1", "b": "2",
                                                                         "c": "3"}


def test_dynamiclist_is_a_list_of_objects_with_nested_errors_named() -> None:
    form = make_form({"type": "dynamiclist", "path": "people", "isRepeating": True,
                      "components": [text("name", validate={"required": True}),
                                     {"type": "number", "key": "age"}]})
    assert validate_submission(form, {"people": [{"name": "Ann", "age": "30"}]}) == {
        "people": [{"name": "Ann", "age": 30}]}
    fields = bad_fields(form, {"people": [{"name": ""}, {"name": "Bo", "x": 1}]})
    assert fields == {"people.0.name": ["This field is required."],
                      "people.1.x": ["Unknown field."]}


def test_layout_components_are_ignored() -> None:
    form = make_form({"type": "text", "text": "hi"}, {"type": "html", "content": "<b>"},
                     {"type": "spacer"}, {"type": "separator"}, {"type": "image", "source": "x"},
                     {"type": "button", "key": "submit", "action": "submit"}, text("a"))
    assert [f.key for f in form.fields] == ["a"]


# --- submission shape -----------------------------------------------------------------------

def test_unknown_keys_are_refused_and_named() -> None:
    form = make_form(text("a"))
    assert bad_fields(form, {"a": "x", "b": 1, "c": 2}) == {"b": ["Unknown field."],
                                                            "c": ["Unknown field."]}


def test_all_bad_fields_are_named_at_once_with_a_count() -> None:
    form = make_form(text("a", validate={"required": True}), {"type": "number", "key": "n"},
                     {"type": "select", "key": "s", "values": options("x")})
    with pytest.raises(InvalidData) as caught:
        validate_submission(form, {"n": "x", "s": "y", "zz": 0})
    assert set(caught.value.fields) == {"a", "n", "s", "zz"}
    assert caught.value.message == "4 field(s) are invalid"


@pytest.mark.parametrize("data", [[], "x", None, 3])
def test_non_dict_data_is_refused(data: object) -> None:
    form = make_form(text("a"))
    with pytest.raises(InvalidData) as caught:
        validate_submission(form, data)
    assert caught.value.message == "data must be a JSON object"
    assert list(caught.value.fields) == ["_schema"]


def test_only_submitted_keys_are_returned() -> None:
    form = make_form(text("a", defaultValue="d"), text("b"))
    assert validate_submission(form, {"b": "x"}) == {"b": "x"}


def test_form_keys_that_clash_with_schema_names_work() -> None:
    form = make_form(text("load"), text("fields"), text("with-dash"))
    data = {"load": "1", "fields": "2", "with-dash": "3"}
    assert validate_submission(form, data) == data


# --- schema_for -----------------------------------------------------------------------------

def test_schema_is_cached_per_form_content() -> None:
    # given two parses of the same content and one of different content
    one, same = make_form(text("a")), make_form(text("a"))
    other = make_form(text("b"))
    # then the same content shares a schema, different content does not
    assert schema_for(one) is schema_for(same)
    assert schema_for(one) is not schema_for(other)


def test_schema_refuses_unknown_keys() -> None:
    schema = schema_for(make_form(text("a")))
    assert schema.validate({"b": 1}) == {"b": ["Unknown field."]}


# --- parse_form refusals --------------------------------------------------------------------

def test_non_json_is_refused_with_its_line() -> None:
    problem, = refusal('{\n  "id": "x",\n  "components": [,]\n}').problems
    assert problem.line == 3 and "not valid JSON" in problem.message
    assert problem.file == "bad.form"


def test_file_over_1_mb_is_refused() -> None:
    big = json.dumps({"id": "x", "components": [], "pad": "x" * (1024 * 1024)})
    problem, = refusal(big.encode()).problems
    assert "1 MB" in problem.message


def test_non_object_document_is_refused() -> None:
    problem, = refusal("[1, 2]").problems
    assert "must be a JSON object" in problem.message


@pytest.mark.parametrize("form_id", [None, "", "   ", 7])
def test_missing_or_empty_id_is_refused(form_id: object) -> None:
    doc = {"components": []} if form_id is None else {"id": form_id, "components": []}
    problem, = refusal(doc).problems
    assert "'id'" in problem.message


def test_components_not_a_list_is_refused() -> None:
    problem, = refusal({"id": "f", "components": {"a": 1}}).problems
    assert "'components' must be a list" in problem.message and problem.element_id == "f"


def test_unknown_component_type_is_refused_and_named() -> None:
    problem, = refusal({"id": "f", "components": [
        {"type": "date", "key": "when", "id": "Field_1"}]}).problems
    assert "'date'" in problem.message and problem.element_id == "when"


def test_input_without_key_is_refused_pointing_at_its_id() -> None:
    problem, = refusal({"id": "f", "components": [{"type": "textfield", "id": "Field_9"}]}).problems
    assert "no 'key'" in problem.message and problem.element_id == "Field_9"


def test_duplicate_keys_are_refused_even_across_groups() -> None:
    problem, = refusal({"id": "f", "components": [
        text("a"), {"type": "group", "components": [text("a")]}]}).problems
    assert "duplicate key 'a'" in problem.message and problem.element_id == "a"


@pytest.mark.parametrize("rules, words", [
    ({"min": 5, "max": 1}, "greater than validate.max"),
    ({"minLength": 5, "maxLength": 1}, "greater than validate.maxLength"),
    ({"minLength": 1.5}, "minLength must be a non-negative integer"),
    ({"maxLength": "10"}, "maxLength must be a non-negative integer"),
    ({"min": "one"}, "min must be a number"),
    ({"pattern": "[unclosed"}, "not a valid regular expression"),
    ({"required": "yes"}, "required must be true or false"),
    ({"validationType": "zip"}, "unknown validate.validationType"),
])
def test_bad_validate_values_are_refused(rules: dict, words: str) -> None:
    problem, = refusal({"id": "f", "components": [text("a", validate=rules)]}).problems
    assert words in problem.message and problem.element_id == "a"


@pytest.mark.parametrize("ctype", ["select", "radio", "checklist", "taglist"])
def test_option_components_without_values_are_refused(ctype: str) -> None:
    problem, = refusal({"id": "f", "components": [{"type": ctype, "key": "o"}]}).problems
    assert "'values'" in problem.message and problem.element_id == "o"


def test_bad_option_entries_and_duplicate_values_are_refused() -> None:
    problems = refusal({"id": "f", "components": [
        {"type": "select", "key": "o", "values": [{"label": "A"}, {"value": "x"}, {"value": "x"}]}]}
    ).problems
    assert [p.message for p in problems] == [
        "values[0] must be an object with a string or number 'value'",
        "values[2]: duplicate value 'x'"]


def test_bad_datetime_subtype_and_decimal_digits_are_refused() -> None:
    problems = refusal({"id": "f", "components": [
        {"type": "datetime", "key": "d", "subtype": "week"},
        {"type": "number", "key": "n", "decimalDigits": -1}]}).problems
    assert [p.element_id for p in problems] == ["d", "n"]


def test_all_problems_in_a_file_are_listed_together() -> None:
    # given a file with several independent mistakes
    error = refusal({"components": [
        {"type": "textfield"}, {"type": "slider", "key": "s"}, text("a"), text("a"),
        {"type": "radio", "key": "r"}, text("p", validate={"pattern": "("})]})
    # then one refusal lists them all
    assert len(error.problems) == 6
    assert all(p.file == "bad.form" for p in error.problems)


# --- load_forms_dir -------------------------------------------------------------------------

def test_load_forms_dir_keys_forms_by_id(tmp_path: Path) -> None:
    (tmp_path / "one.form").write_text(MODELER_FORM)
    (tmp_path / "two.form").write_text(json.dumps({"id": "second", "components": [text("x")]}))
    (tmp_path / "notes.txt").write_text("not a form")
    forms = load_forms_dir(tmp_path)
    assert sorted(forms) == ["equipment_request", "second"]


def test_load_forms_dir_reports_problems_of_every_file(tmp_path: Path) -> None:
    (tmp_path / "a.form").write_text("{")
    (tmp_path / "b.form").write_text(json.dumps({"id": "b", "components": [{"type": "zz"}]}))
    with pytest.raises(DefinitionInvalid) as caught:
        load_forms_dir(tmp_path)
    assert sorted(Path(p.file).name for p in caught.value.problems) == ["a.form", "b.form"]



@pytest.mark.parametrize("pattern", [r"(a+)+$", r"(\w*)*@", r"(ab+){2,}"])
def test_a_pattern_that_repeats_a_repeating_group_is_refused_at_deploy(pattern: str) -> None:
    # such a pattern backtracks exponentially in Python's `re` (a 27-character value took 4 s)
    form = {"id": "f", "components": [{"type": "textfield", "key": "x", "label": "X",
                                        "validate": {"pattern": pattern}}]}
    [problem] = refusal(form).problems
    assert "nested repetition" in problem.message and repr(pattern) in problem.message


def test_ordinary_patterns_with_groups_still_deploy() -> None:
    form = {"id": "f", "components": [{"type": "textfield", "key": "x", "label": "X",
                                        "validate": {"pattern": r"^(\d{3})-\d{4}(x|y)+$"}}]}
    assert parse_form(json.dumps(form), "ok.form").fields[0].key == "x"
