"""Language for the pages: Flask-Babel with Chinese (zh_CN, the default) and English, chosen by
the user (kept in the session) with a switch on every page; dates in the bureau's time zone and
numbers formatted for the language. Process, form and option labels in our BPMN and forms carry
both languages ("形式审查 · Formal review"); `pick` shows the half for the chosen language. Error
messages from the engine's form checks are English sentences; `field_error` translates the
known ones."""
from __future__ import annotations

import json
import re
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

from flask import Flask, session
from flask_babel import Babel, format_date, format_decimal, get_locale
from flask_babel import gettext as _
from flask_babel import ngettext
from jinja2 import pass_context
from flask_babel import lazy_gettext as _l

from engine.core import bilingual, calendar, clock, names

from web.lint_messages import lint_message
from web.redirects import safe_next  # noqa: F401  the pages import it from here

LANGUAGES = {"zh_CN": "中文", "en": "English"}
DEFAULT = "zh_CN"
TRANSLATIONS = Path(__file__).resolve().parent / "translations"



def select_locale() -> str:
    # Babel reads zh_CN as zh_Hans_CN (simplified script), hence translations/zh_Hans_CN/
    chosen = session.get("lang")
    return chosen if chosen in LANGUAGES else DEFAULT


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT)
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", str(calendar.BUREAU_TZ))
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS))
    Babel(app, locale_selector=select_locale)
    app.jinja_env.filters.update(pick=pick, dt=format_when, day=format_day, number=format_number,
                                 field_error=field_error, group=group_label, person=person_label,
                                 principal=principal_label, state=state_label, pretty_json=pretty_json,
                                 plan_text=plan_text, lint_message=lint_message)
    app.jinja_env.globals.update(LANGUAGES=LANGUAGES, current_language=current_language,
                                 due_text=due_text)


def current_language() -> str:
    """zh_CN or en (Babel spells the locale zh_Hans_CN; pages compare with our codes)."""
    locale = get_locale()
    return DEFAULT if locale is None or locale.language == "zh" else "en"


def is_chinese() -> bool:
    return current_language().startswith("zh")


def pick(label: Any, language: str | None = None) -> str:
    """The half of a bilingual label ("中文 · English") for the language (the page's when not
    given); other labels as they are, a task title with a detail part by part."""
    if not isinstance(label, str):
        return "" if label is None else str(label)
    return bilingual.pick(label, language or current_language())


def pick_field_label(raw: dict[str, Any]) -> str:
    """A form component's label: `properties.label_zh/label_en` when given, else its label."""
    props = raw.get("properties") if isinstance(raw.get("properties"), dict) else {}
    own = props.get("label_zh" if is_chinese() else "label_en")
    return str(own) if own else pick(raw.get("label") or raw.get("key") or "")


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def format_when(value: datetime | None) -> str:
    """2026-12-03 20:20, or 3 Dec 2026, 20:20: bureau time. Babel's format_datetime said the same
    at 0.3 ms a call, most of a timeline's rendering; naive moments are UTC, as Babel takes them."""
    if value is None:
        return ""
    local = (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).astimezone(calendar.BUREAU_TZ)
    if is_chinese():
        return f"{local:%Y-%m-%d %H:%M}"
    return f"{local.day} {_MONTHS[local.month - 1]} {local.year}, {local:%H:%M}"


def format_day(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(calendar.BUREAU_TZ).date()
    return format_date(value, "yyyy-MM-dd" if is_chinese() else "d MMM yyyy")


def format_number(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "" if value is None else str(value)
    return format_decimal(value)


def due_text(due_at: datetime | None) -> tuple[str, str]:
    """(text, css class) for a due date: working days left, due today, or overdue."""
    if due_at is None:
        return _("no due date"), "due-none"
    now = clock.now()
    days = calendar.working_days_between(now, due_at)
    if due_at < now:
        if days >= 0:  # passed earlier today
            return _("overdue"), "due-overdue"
        return ngettext("%(num)s working day overdue", "%(num)s working days overdue", -days), "due-overdue"
    if days == 0:
        return _("due today"), "due-soon"
    text = ngettext("%(num)s working day left", "%(num)s working days left", days)
    return text, "due-soon" if days <= 2 else "due-ok"


# engine/definitions/forms.py (marshmallow) messages -> translatable templates
_ERRORS: list[tuple[re.Pattern[str], Any]] = [
    (re.compile(r"^This field is required\.$"), _l("This field is required.")),
    (re.compile(r"^Shorter than minimum length (?P<a>\d+)\.$"), _l("At least %(a)s characters.")),
    (re.compile(r"^Longer than maximum length (?P<a>\d+)\.$"), _l("At most %(a)s characters.")),
    (re.compile(r"^Length must be between (?P<a>\d+) and (?P<b>\d+)\.$"), _l("Between %(a)s and %(b)s characters.")),
    (re.compile(r"^Must be greater than or equal to (?P<a>[-\d.]+) and less than or equal to (?P<b>[-\d.]+)\.$"),
     _l("Must be between %(a)s and %(b)s.")),
    (re.compile(r"^Must be greater than or equal to (?P<a>[-\d.]+)\.$"), _l("Must be at least %(a)s.")),
    (re.compile(r"^Must be less than or equal to (?P<a>[-\d.]+)\.$"), _l("Must be at most %(a)s.")),
    (re.compile(r"^Not a valid number\.$"), _l("Not a valid number.")),
    (re.compile(r"^Must be a whole number\.$"), _l("Must be a whole number.")),
    (re.compile(r"^Must have at most (?P<a>\d+) decimal place\(s\)\.$"), _l("At most %(a)s decimal place(s).")),
    (re.compile(r"^Must be one of: .*$"), _l("Choose one of the options.")),
    (re.compile(r"^Item \d+: Must be one of: .*$"), _l("Choose among the options.")),
    (re.compile(r"^Not a valid date.*$"), _l("Not a valid date (YYYY-MM-DD).")),
    (re.compile(r"^Not a valid time.*$"), _l("Not a valid time (HH:MM).")),
    (re.compile(r"^Not a valid ISO 8601 date-time\.$"), _l("Not a valid date and time.")),
    (re.compile(r"^Not a valid email address\.$"), _l("Not a valid e-mail address.")),
    (re.compile(r"^Not a valid phone number\.$"), _l("Not a valid phone number.")),
    (re.compile(r"^Must match the pattern .*$"), _l("Not in the expected format.")),
    (re.compile(r"^Unknown field\.$"), _l("Unknown field.")),
    (re.compile(r"^Not a valid boolean\.$"), _l("Not a valid yes/no value.")),
    # engine/supervision/interventions.py
    (re.compile(r"^(?P<a>\S+) is not among the people or groups this task is for; confirm to assign it anyway\.$"),
     _l("%(a)s is not among the people or groups this task is for: tick “Assign anyway” and say why in the reason.")),
    # a form's requiredWhen rule: the labels are the form's own, bilingual (pick chooses the half)
    (re.compile(r"^Required when “(?P<a>.+)” is “(?P<b>.+)”\.$"), _l("Required when “%(a)s” is “%(b)s”.")),
    (re.compile(r"^No such user\.$"), _l("No such user.")),
    # engine/definitions/validation.py
    (re.compile(r"^A (?P<a>\w+) may have only one outgoing sequence flow; to branch, lead it into a gateway\.$"),
     _l("A %(a)s may have only one outgoing sequence flow; to branch, lead it into a gateway.")),
    # engine/workspace/substitutes.py
    (re.compile(r"^(?P<a>\S+) shares no working group with (?P<b>\S+), so could not do their tasks\.$"),
     _l("%(a)s shares no working group with %(b)s, so could not do their tasks.")),
    (re.compile(r"^(?P<a>\S+) is a party of project #(?P<b>\d+) \(its applicant or its unit's people\) "
                r"and may not stand in on it\.$"),
     _l("%(a)s is a party of project #%(b)s (its applicant or its unit’s people) and may not stand in on it.")),
]


def field_error(message: str) -> str:
    for pattern, template in _ERRORS:
        match = pattern.match(message)
        if match:
            found = {name: pick(value) for name, value in match.groupdict().items()}
            return str(template) % found if found else str(template)
    return _rule_message(message)


def _rule_message(message: str) -> str:
    """A rule's own "中文 · English" message (engine/lifecycle/batches.py): the page's half (its
    English half may quote a Chinese name, so not `pick`'s test)."""
    # (a budget table's category, the submission rules): the reader's half, never English in Chinese mode
    text = bilingual.pick_text(message, current_language())
    return text if text != message else pick(message)


STATES = {
    "running": _l("running"), "completed": _l("completed"), "suspended": _l("suspended"),
    "terminated": _l("terminated"), "error": _l("error"), "open": _l("open"), "cancelled": _l("cancelled"),
}


_NO_NAMES = names.Names()


def _names(context: Any) -> names.Names:
    """The page's names: `names` in the template's context, or its view-model's."""
    return context.get("names") or getattr(context.get("view"), "names", None) or _NO_NAMES


@pass_context
def group_label(context: Any, name: str) -> str:
    """A group's name in the page's language, from the page's `names` (engine/core/names.py)."""
    return _names(context).group(name, current_language())


@pass_context
def principal_label(context: Any, key: str) -> str:
    """A candidate key (u:NAME, g:GROUP) as the person's or the group's name."""
    return "—" if key == "u:-" else _names(context).principal(key, current_language())


@pass_context
def person_label(context: Any, username: str | None) -> str:
    """A person's display name, from the page's `names`; the user name when it is not known
    (the engine's own actors, such as the scheduler, in the page's language)."""
    return pick(_names(context).person(username), current_language())


def state_label(state: str) -> str:
    return str(STATES.get(state, state))


_S = r"(?P<s>[a-z]+)"
# engine/supervision/interventions.py's preview lines -> translatable templates (states in words)
_PLANS: list[tuple[re.Pattern[str], Any]] = [
    (re.compile(rf"^{_S} → (?P<t>[a-z]+)$"), _l("%(s)s → %(t)s")),
    (re.compile(rf"^is {_S}; only running or failed instances can be suspended$"),
     _l("is %(s)s; only running or failed instances can be suspended")),
    (re.compile(rf"^is {_S}, not suspended$"), _l("is %(s)s, not suspended")),
    (re.compile(rf"^is already {_S}$"), _l("is already %(s)s")),
    (re.compile(rf"^is {_S}, not in error$"), _l("is %(s)s, not in error")),
    (re.compile(rf"^is {_S}; resume it first$"), _l("is %(s)s; resume it first")),
    (re.compile(rf"^is {_S}$"), _l("is %(s)s")),
    (re.compile(r"^no such process instance$"), _l("no such process instance")),
]


def plan_text(text: str) -> str:
    """A bulk preview's line in the page's language, state names in words."""
    for pattern, template in _PLANS:
        match = pattern.match(text)
        if match:
            return str(template) % {k: state_label(v) for k, v in match.groupdict().items()}
    return text


def pretty_json(value: Any) -> str:
    """JSON for people: indented, Chinese as Chinese (Jinja's tojson writes \\uXXXX escapes)."""
    return json.dumps(value, ensure_ascii=False, indent=1, default=str)


def switch_language(language: str) -> bool:
    if language not in LANGUAGES:
        return False
    session["lang"] = language
    return True
