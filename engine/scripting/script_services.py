"""The functions BPMN scripts, conditions, timer and due-date expressions may call: the domain
rules (project register, expert draws, scores, integrity, duplicates, credit, changes) and
working-day arithmetic, as a small set of safe functions. This module owns that surface and its
contract with the sandbox: every function checks its arguments, runs in the database session of
the engine command being executed (bound for the command's duration by `engine.commands.execute`
through a ContextVar, so a script's effects commit or roll back with the command), and returns
only JSON values (task data is JSON). Script authors see the names in `GLOBALS`; a function that
is not listed there does not exist for them."""
from __future__ import annotations

import contextlib
from datetime import date, datetime
from typing import Any, Callable, Iterator

from dateutil.relativedelta import relativedelta
from sqlalchemy.orm import Session

from engine.lifecycle import (batch_review, batches, calls, changes, credit, duplicates, eligibility, expert_pool, funds, integrity,
                              organisations, projects, scoring, units)
from engine.notify import texts
from engine.notify.notifications import Notification
from engine.core import clock, commands
from engine.core.calendar import BUREAU_TZ, add_working_days

ACTOR = "process"
# script services work in the running command's session (commands.execute binds it)
bound = commands.running_in


@contextlib.contextmanager
def atomic() -> Iterator[None]:
    """A script's database effects stand or fall with the script (a savepoint): one that fails
    halfway leaves nothing behind, so a supervisor's retry runs it again from a clean slate."""
    session = commands.current_session()
    if session is None:
        yield
        return
    with session.begin_nested():
        yield


def _db() -> Session:
    session = commands.current_session()
    if session is None:
        raise RuntimeError("this function works only while the engine runs a command "
                           "(it needs the command's database session)")
    return session


def _moment(value: Any) -> datetime:
    """A date-time from what a script holds: None (now), an ISO string, a date or datetime."""
    if value is None:
        return clock.now().astimezone(BUREAU_TZ)
    if isinstance(value, str):
        text = value.strip()
        value = date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=BUREAU_TZ)
    if isinstance(value, date):
        return datetime.combine(value, projects.MILESTONE_HOUR, tzinfo=BUREAU_TZ)
    raise ValueError(f"expected a date or date-time, got {value!r}")


def _whole(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value:
        raise ValueError(f"{what} must be a whole number, not {value!r}")
    return int(value)


# --- time ------------------------------------------------------------------------------------

def working_days_after(n: Any, start: Any = None) -> str:
    """ISO date-time `n` working days after `start` (default: now), same time of day, on China's
    official calendar. For timer events: <timeDate>working_days_after(5)</timeDate>."""
    return add_working_days(_moment(start), _whole(n, "the number of working days")).isoformat()


def months_after(n: Any, start: Any = None) -> str:
    """ISO date-time `n` calendar months after `start` (default: now); a date means 09:00."""
    return (_moment(start) + relativedelta(months=_whole(n, "the number of months"))).isoformat()


def today() -> str:
    return projects.today().isoformat()


# --- the project register --------------------------------------------------------------------

def submission_check(application: Any) -> dict[str, Any]:
    """May this application be submitted now? {allowed, reasons, organisation} (lifecycle.eligibility)."""
    if not isinstance(application, dict):
        raise ValueError("submission_check needs the application's data (an object)")
    result = eligibility.check(_db(), str(application.get("organisation") or ""),
                               str(application.get("principal_investigator") or ""))
    return {"allowed": result.allowed, "reasons": result.reasons, "organisation": result.organisation}


def register_application(application: Any, applicant: Any = None) -> dict[str, Any]:
    """Enter the application in the register (and the duplicate index); returns its facts."""
    if not isinstance(application, dict):
        raise ValueError("register_application needs the application's data (an object)")
    session = _db()
    project = projects.register(session, application, applicant if isinstance(applicant, str) else None)
    duplicates.index(session, project)
    return project.facts()


def update_application(project_id: Any, application: Any) -> dict[str, Any]:
    if not isinstance(application, dict):
        raise ValueError("update_application needs the corrected data (an object)")
    session = _db()
    project = projects.update_application(session, project_id, application)
    duplicates.index(session, project)
    return project.facts()


def project_facts(project_id: Any) -> dict[str, Any]:
    return projects.get(_db(), project_id).facts()


def set_project_status(project_id: Any, status: Any, reason: Any = None, facts: Any = None) -> dict[str, Any]:
    if facts is not None and not isinstance(facts, dict):
        raise ValueError("facts must be an object")
    return projects.set_status(_db(), project_id, status, reason if isinstance(reason, str) else None,
                               facts).facts()


def establish_project(project_id: Any, funding: Any, start: Any = None) -> dict[str, Any]:
    """The contract is signed: the period starts (default: today) and funding is fixed."""
    if isinstance(funding, bool) or not isinstance(funding, (int, float)) or funding <= 0:
        raise ValueError(f"funding must be a positive amount, not {funding!r}")
    return projects.establish(_db(), project_id, float(funding), _moment(start).date()).facts()


def release_funding(project_id: Any, ratio: Any) -> float:
    """Release `ratio` of the approved funding; the tranche goes in the funds ledger as planned
    (the finance system's confirmation, `record_payment`, makes it paid)."""
    session = _db()
    amount = projects.release_funding(session, project_id, ratio)
    if amount > 0:
        project = projects.get(session, project_id)
        funds.enter(session, project.id, "planned", amount, actor=ACTOR,
                    source_key=f"project:{project.id}:planned:{project.funds_released}")
    return amount


def suspend_funding(project_id: Any, suspended: Any = True) -> dict[str, Any]:
    """Stop (or resume) payments; what is left unreleased when they stop is entered as withheld."""
    session = _db()
    project = projects.suspend_funding(session, project_id, bool(suspended))
    remaining = round((project.approved_funding or 0.0) - project.funds_released, 2)
    if suspended and remaining > 0:
        withheld = sum(1 for e in funds.entries(session, project.id) if e.kind == "withheld")
        funds.enter(session, project.id, "withheld", remaining, actor=ACTOR,
                    source_key=f"project:{project.id}:withheld:{withheld + 1}")
    return project.facts()


# --- funds -----------------------------------------------------------------------------------------

def _amount(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ValueError(f"{what} must be an amount of at least 0, not {value!r}")
    return float(value)


def _day(value: Any) -> date | None:
    return None if value in (None, "") else _moment(value).date()


def record_budget(project_id: Any, stage: Any, lines: Any) -> list[dict[str, Any]]:
    """Keep the budget table of a stage ("requested" or "contract"); returns it as kept."""
    return list(funds.save_budget(_db(), project_id, str(stage), lines).lines)


def record_payment(project_id: Any, amount: Any, reference: Any, paid_on: Any = None) -> dict[str, Any]:
    """The finance system paid a tranche: a `paid` row in the ledger; returns the funds summary."""
    session = _db()
    project = projects.get(session, project_id)
    # numbered, not keyed by the reference: two payments may share one (or have none)
    count = sum(1 for e in funds.entries(session, project.id) if e.kind == "paid")
    funds.enter(session, project.id, "paid", _amount(amount, "the amount paid"), on=_day(paid_on),
                reference=str(reference or "")[:120] or None, actor=ACTOR,
                source_key=f"project:{project.id}:paid:{count + 1}")
    return funds.summary(session, project.id)


def settle_funds(project_id: Any, occasion: Any, funds_spent: Any, funds_returned: Any = 0,
                 audit_opinion: Any = None, eligible_spending: Any = None) -> dict[str, Any]:
    """A settlement (on termination, revocation or failed acceptance): what is to be recovered
    (the funds paid out less what may be kept, after the audit), entered as due, what the
    project already returned entered as recovered, and payments stopped. Returns
    {due, returned, outstanding} in 10k CNY."""
    session = _db()
    project = projects.get(session, project_id)
    due = funds.recovery_amount(project.funds_released, _amount(funds_spent, "the funds spent"),
                                audit_opinion if isinstance(audit_opinion, str) else None,
                                None if eligible_spending is None else _amount(eligible_spending, "the eligible spending"))
    returned = min(_amount(funds_returned or 0, "the funds returned"), due)
    key = f"project:{project.id}:{occasion}"
    if due > 0:
        funds.enter(session, project.id, "recovery_due", due, actor=ACTOR, source_key=f"{key}:recovery_due",
                    note=f"{occasion}; audit: {audit_opinion or '-'}")
    if returned > 0:
        funds.enter(session, project.id, "recovered", returned, actor=ACTOR, source_key=f"{key}:returned",
                    note="returned with the settlement")
    if not project.funding_suspended:
        projects.suspend_funding(session, project.id, True)
    return {"due": due, "returned": returned, "outstanding": funds.summary(session, project.id)["to_recover"]}


def record_repayment(project_id: Any, amount: Any, reference: Any, repaid_on: Any = None) -> dict[str, Any]:
    """A repayment of recovered funds arrived: a `recovered` row; returns {outstanding, recovered}."""
    session = _db()
    project = projects.get(session, project_id)
    paid = _amount(amount, "the amount repaid")
    count = sum(1 for e in funds.entries(session, project.id) if e.kind == "recovered")
    funds.enter(session, project.id, "recovered", paid, on=_day(repaid_on), actor=ACTOR,
                reference=str(reference or "")[:120] or None,
                source_key=f"project:{project.id}:recovered:{count + 1}")
    summary = funds.summary(session, project.id)
    return {"outstanding": summary["to_recover"], "recovered": summary["recovered"]}


def _share(value: Any) -> float | None:
    return None if value is None or isinstance(value, bool) or not isinstance(value, (int, float)) else float(value)


def check_budget_adjustment(project_id: Any, by: Any, from_category: Any, to_category: Any, amount: Any,
                            cap_share: Any = None, adjust_share: Any = None) -> dict[str, Any]:
    """{allowed, reasons, level: unit | bureau, unit_group, before, after}: may this adjustment of
    the contract's budget be made, and who decides (the receiving category's limits, as the
    process's budget_rules decision gave them)."""
    session = _db()
    result = funds.adjustment_check(session, project_id, str(by or ""), str(from_category or ""),
                                    str(to_category or ""), amount,
                                    funds.Limits(cap_share=_share(cap_share), adjust_share=_share(adjust_share)))
    info = organisations.info(session, projects.get(session, project_id).organisation) or {}
    return {**result, "unit_group": info.get("unit_group")}


def apply_budget_adjustment(project_id: Any, from_category: Any, to_category: Any, amount: Any) -> list[dict[str, Any]]:
    """Apply an approved adjustment to the contract's budget table; returns the table."""
    return funds.apply_adjustment(_db(), project_id, str(from_category), str(to_category),
                                  _amount(amount, "the amount"))


def funds_summary(project_id: Any) -> dict[str, Any]:
    """{approved, planned, paid, withheld, to_recover, recovery_due, recovered} in 10k CNY."""
    return funds.summary(_db(), project_id)


def next_milestone(project_id: Any) -> dict[str, Any]:
    """{kind: annual_report | midterm | end, year, on, at}: what comes next in execution."""
    return projects.next_milestone(_db(), project_id)


def milestone_done(project_id: Any, milestone: Any) -> dict[str, Any]:
    if not isinstance(milestone, dict):
        raise ValueError("milestone must be the object next_milestone gave")
    return projects.milestone_done(_db(), project_id, milestone).facts()


def rank_in_batch(project_id: Any) -> dict[str, Any]:
    return projects.rank_in_batch(_db(), project_id)


def note_project(project_id: Any, event: Any) -> dict[str, Any]:
    """Add an event (e.g. "acceptance_reminder") to the project's timeline."""
    if not isinstance(event, str) or not event.strip():
        raise ValueError("event must name what happened")
    project = projects.get(_db(), project_id)
    projects.note(project, event.strip())
    return project.facts()


# --- checks shown to reviewers -----------------------------------------------------------------

def integrity_check(project_id: Any) -> dict[str, Any]:
    """{blocked, findings}: blocked when the investigator or the organisation is in a penalty
    period; team members and partner units in one are findings for the reviewer."""
    session = _db()
    project = projects.get(session, project_id)
    persons = [(project.investigator, "investigator")] + [(n, "team_member") for n in project.team or []]
    orgs = [(project.organisation, "organisation")] + [(n, "partner_unit") for n in project.partners or []]
    findings = [f.to_dict() for f in integrity.check(session, persons, orgs)]
    blocked = any(f["role"] in ("investigator", "organisation") for f in findings)
    return {"blocked": blocked, "findings": findings}


def similar_applications(project_id: Any, limit: Any = 5) -> dict[str, Any]:
    """{matches: [...], max_score}: the most similar registered applications and projects."""
    session = _db()
    project = projects.get(session, project_id)
    matches = [m.to_dict() for m in duplicates.similar_projects(session, project, _whole(limit, "limit"))]
    return {"matches": matches, "max_score": max((m["score"] for m in matches), default=0.0)}


def credit_history(project_id: Any) -> dict[str, Any]:
    """The investigator's and the organisation's credit records, for reviewers."""
    session = _db()
    project = projects.get(session, project_id)
    return credit.summary(credit.history(session, [project.investigator], [project.organisation]))


def record_credit_of(project_id: Any, subject: Any, kind: Any, outcome: Any = None, note: Any = None) -> int:
    """Write the fact on one record only: the "investigator"'s or the "organisation"'s (the
    undertaking unit's); `kind` None writes nothing (e.g. a termination by force majeure)."""
    if kind is None:
        return 0
    if subject not in ("investigator", "organisation"):
        raise ValueError(f"the subject is \"investigator\" or \"organisation\", not {subject!r}")
    session = _db()
    project = projects.get(session, project_id)
    subject_type, name = ((integrity.PERSON, project.investigator) if subject == "investigator"
                          else (integrity.ORGANISATION, project.organisation))
    credit.record(session, subject_type=subject_type, subject_name=name, kind=str(kind),
                  outcome=outcome if isinstance(outcome, str) else None, project_id=project.id,
                  project_title=project.title, note=note if isinstance(note, str) else None,
                  source_key=f"project:{project.id}:{kind}:{subject_type}", actor=ACTOR)
    return 1


def record_credit(project_id: Any, kind: Any, outcome: Any = None, score: Any = None, note: Any = None,
                  occasion: Any = None) -> int:
    """Write the fact on the investigator's and the organisation's credit records (once per
    project, or once per `occasion` for facts that may recur, e.g. each year's overdue report)."""
    session = _db()
    project = projects.get(session, project_id)
    suffix = f":{occasion}" if isinstance(occasion, (str, int)) and not isinstance(occasion, bool) and occasion != "" else ""
    for subject_type, name in ((integrity.PERSON, project.investigator),
                               (integrity.ORGANISATION, project.organisation)):
        credit.record(session, subject_type=subject_type, subject_name=name, kind=kind, outcome=outcome,
                      score=score, project_id=project.id, project_title=project.title, note=note,
                      source_key=f"project:{project.id}:{kind}:{subject_type}{suffix}", actor=ACTOR)
    return 2


# --- the undertaking unit ------------------------------------------------------------------------

def unit_quota_check(project_id: Any) -> dict[str, Any]:
    """{allowed, forwarded, quota, year, reason}: may the unit forward one more application this year?"""
    return units.quota_check(_db(), project_id)


def unit_forward(project_id: Any) -> int:
    """The unit forwards the application (counted once against its yearly quota); the year's count."""
    return units.forward(_db(), project_id, ACTOR)


def project_routing(project_id: Any) -> dict[str, str]:
    """{unit_group, recommender_group} of the project's organisation now (after any change of unit)."""
    return units.routing(_db(), project_id)


# --- expert review ---------------------------------------------------------------------------------

def draw_experts(project_id: Any, purpose: Any, mode: Any, size: Any, backups: Any,
                 seed: Any = None, fresh: Any = True) -> dict[str, Any]:
    """Draw a panel and ranked backups for this project. `purpose` names the review and round
    (e.g. "establishment_review:1"); with `fresh`, experts of the same review's earlier rounds
    are not drawn again. Returns {draw_id, seed, seats}."""
    session = _db()
    project = projects.get(session, project_id)
    if not isinstance(purpose, str) or not purpose.strip():
        raise ValueError("purpose must name the review, e.g. 'establishment_review:1'")
    review = purpose.split(":", 1)[0]
    earlier = expert_pool.drawn_expert_ids(session, project.id, f"project:{project.id}:{review}:") if fresh else set()
    unit = organisations.by_name(session, project.organisation)
    people = expert_pool.people_of(session, project.organisation, project.applicant,
                                   organisations.unit_group(unit.code) if unit else None)
    context = expert_pool.ConflictContext.of(project.organisation, project.partners or [],
                                             [project.investigator, *(project.team or [])], earlier, people)
    record = expert_pool.draw(session, purpose=f"project:{project.id}:{purpose}", discipline=project.discipline,
                              mode=mode, size=_whole(size, "size"), backups=_whole(backups, "backups"),
                              context=context, seed=seed if isinstance(seed, str) and seed else None,
                              project_id=project.id, actor=ACTOR)
    return {"draw_id": record.id, "seed": record.seed, "seats": expert_pool.seats(session, record.id)}


PARTICIPATION = {"accept": None, "decline_conflict": expert_pool.CONFLICT,
                 "decline_unavailable": expert_pool.DECLINED}


def expert_replied(draw_id: Any, seat: Any, participation: Any, note: Any = None) -> dict[str, Any]:
    """The seat's expert accepted, or declined (a backup takes the seat). Returns the seat."""
    slot = _slot(seat)
    if participation not in PARTICIPATION:
        raise ValueError(f"participation is one of {', '.join(PARTICIPATION)}, not {participation!r}")
    if participation == "accept":
        return expert_pool.accept(_db(), draw_id, slot)
    return expert_pool.replace(_db(), draw_id, slot, PARTICIPATION[participation],
                               note if isinstance(note, str) else None)


def expert_timed_out(draw_id: Any, seat: Any) -> dict[str, Any]:
    """The seat's expert missed the deadline: a backup takes the seat. Returns the seat."""
    return expert_pool.replace(_db(), draw_id, _slot(seat), expert_pool.TIMED_OUT)


def expert_scored(draw_id: Any, seat: Any, score: Any) -> dict[str, Any]:
    if isinstance(score, bool) or not isinstance(score, (int, float)) or not 0 <= score <= 100:
        raise ValueError(f"a score is a number from 0 to 100, not {score!r}")
    return expert_pool.record_score(_db(), draw_id, _slot(seat), score)


def _slot(seat: Any) -> int:
    slot = seat.get("slot") if isinstance(seat, dict) else seat
    return _whole(slot, "the seat")


def aggregate_scores(scores: Any, method: Any = scoring.TRIMMED_MEAN, trim_from: Any = scoring.TRIM_FROM) -> dict[str, Any]:
    """{score, method, count, used, dropped} from a list of 0-100 scores."""
    if not isinstance(scores, (list, tuple)):
        raise ValueError("scores must be a list of numbers")
    return scoring.aggregate(list(scores), method, _whole(trim_from, "trim_from")).to_dict()


# --- a call's batch review (processes/batch_review.bpmn) --------------------------------------

def batch_groups(projects_: Any) -> list[dict[str, Any]]:
    """The call's discipline groups (plan category + discipline), each with its projects."""
    return batch_review.form_groups(projects_)


def batch_draw(group: Any, call_key: Any, review_mode: Any, panel_size: Any, backup_count: Any,
               min_opinions: Any, seed: Any = None) -> dict[str, Any]:
    """The group with its review plan and panel, drawn avoiding every project's organisation,
    partner units and people; the first drawn member chairs."""
    if not isinstance(group, dict) or not isinstance(call_key, str) or not call_key.strip():
        raise ValueError("batch_draw needs a group and the call's key")
    return batch_review.drawn_group(_db(), group, call_key.strip(), review_mode, _whole(panel_size, "panel_size"),
                                    _whole(backup_count, "backup_count"), _whole(min_opinions, "min_opinions"),
                                    seed if isinstance(seed, str) and seed else None, ACTOR)


def batch_sheets(groups: Any) -> list[dict[str, Any]]:
    """One score sheet per panel member and project."""
    return batch_review.sheets(groups)


def schedule_session(group: Any, call_title: Any, starts_at: Any, place: Any, link: Any = None,
                     defence_minutes: Any = None) -> dict[str, Any]:
    """Fix a meeting group's session and its defence slots; notify the panel of the session and
    each applicant of their own slot only (never of the panel). Returns the group."""
    scheduled = batch_review.schedule(group, starts_at, place, link, defence_minutes)
    session_ = scheduled["session"]
    where = " / ".join(x for x in (session_["place"], session_["link"]) if x)
    now = clock.now()
    call = str(call_title or "")
    rows = [Notification(username=expert, kind="panel_session", created_at=now, email_after=now,
                         params={"call": call, "when": texts.local_time(session_["starts_at"]), "where": where,
                                 "count": len(session_["slots"])})
            for expert in scheduled["members"] if expert]
    rows += [Notification(username=slot["applicant"], kind="defence_slot", created_at=now, email_after=now,
                          params={"call": call, "title": slot["title"], "order": slot["order"], "where": where,
                                  "when": texts.local_time(slot["starts_at"]),
                                  "until": texts.local_time(slot["ends_at"])[-5:]})
             for slot in session_["slots"]]
    _db().add_all(rows)
    return scheduled


def batch_chair_items(groups: Any) -> list[dict[str, Any]]:
    """The chair's summaries to write: one per project of every meeting group."""
    return batch_review.chair_items(groups)


def batch_reviews(groups: Any, sheets: Any, summaries: Any, method: Any = scoring.TRIMMED_MEAN) -> dict[str, Any]:
    """The batch review's output, keyed by str(project_id)."""
    return batch_review.reviews(groups, sheets, summaries or [], method)


# --- change requests ---------------------------------------------------------------------------

def request_change(project_id: Any, kind: Any, details: Any = None, by: Any = None) -> dict[str, Any]:
    """Record a change request; {status: refused, refusals: [...]} when it breaks a rule."""
    return changes.request(_db(), project_id, kind, details if isinstance(details, dict) else {},
                           by if isinstance(by, str) else None).to_dict()


def review_change(change_id: Any, level: Any, decision: Any, comment: Any = None) -> dict[str, Any]:
    return changes.review(_db(), change_id, str(level), decision, ACTOR,
                          comment if isinstance(comment, str) else None).to_dict()


def conclude_change(change_id: Any, approved: Any) -> dict[str, Any]:
    """Approve (and apply to the register) or reject a change request."""
    return changes.conclude(_db(), change_id, bool(approved)).to_dict()


# --- a call's batch decision (engine/lifecycle/batches.py) -----------------------------------

def _list(value: Any, what: str) -> list:
    if not isinstance(value, (list, tuple)):
        raise ValueError(f"{what} must be a list")
    return list(value)


def batch_scored(projects: Any, reviews: Any) -> list[dict[str, Any]]:
    """[{project_id, score}] per project, for the score band table."""
    return batches.scored(_list(projects, "projects"), reviews if isinstance(reviews, dict) else {})


def batch_proposal(categories: Any, projects: Any, reviews: Any, bands: Any) -> list[dict[str, Any]]:
    """The ranked funding proposal within each category's budget."""
    return batches.propose(_list(categories, "categories"), _list(projects, "projects"),
                           reviews if isinstance(reviews, dict) else {}, _list(bands or [], "bands"))


def batch_form_items(proposal: Any) -> list[dict[str, Any]]:
    """The proposal as a review form's editable list."""
    return batches.form_items(_list(proposal, "proposal"))


def batch_refusals(categories: Any, proposal: Any, submitted: Any, field: Any, approve_all: Any = False) -> dict[str, list[str]]:
    """Field errors of a review form's list (a userTask's completionCheck); empty: fine."""
    return batches.refusals(_list(categories, "categories"), _list(proposal, "proposal"), submitted, str(field),
                            approve_all is True)


def batch_apply(categories: Any, proposal: Any, submitted: Any, by: Any) -> list[dict[str, Any]]:
    """The proposal with a review form's changes, refused when a category ends over budget."""
    changed = batches.apply_changes(_list(proposal, "proposal"), submitted, str(by))
    batches.check_budget(_list(categories, "categories"), changed)
    return changed


def batch_objection_refusals(proposal: Any, project_id: Any) -> dict[str, list[str]]:
    return batches.objection_refusals(_list(proposal, "proposal"), project_id)


def batch_uphold(proposal: Any, project_id: Any, findings: Any) -> list[dict[str, Any]]:
    return batches.uphold_objection(_list(proposal, "proposal"), project_id, str(findings or ""))


def batch_decisions(proposal: Any) -> dict[str, dict[str, Any]]:
    return batches.decisions(_list(proposal, "proposal"))


def batch_totals(categories: Any, proposal: Any) -> list[dict[str, Any]]:
    return batches.totals(_list(categories, "categories"), _list(proposal, "proposal"))
# --- calls for proposals (the call's own process, call_for_proposals) --------------------------

def _call_key(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"a call key is a non-empty string, not {value!r}")
    return value.strip()


def call_deadline(call_key: Any) -> dict[str, Any]:
    """`{closes_at, passed}`: the call's deadline now (an extension moves it) and whether it is past."""
    return calls.deadline(_db(), _call_key(call_key))


def close_call(call_key: Any) -> dict[str, Any]:
    """Close the call (from now on no application is accepted under it); returns the call."""
    return calls.close(_db(), _call_key(call_key), ACTOR).to_dict()


def call_formal_review(call_key: Any) -> dict[str, Any]:
    """`{done, pending, projects}`: whether every application of the call has finished its formal
    review, and the accepted ones as the batch's `projects`."""
    return calls.formal_review(_db(), _call_key(call_key))


GLOBALS: dict[str, Callable[..., Any]] = {f.__name__: f for f in (
    working_days_after, months_after, today,
    submission_check, register_application, update_application, project_facts, set_project_status,
    establish_project, release_funding, suspend_funding, next_milestone, milestone_done, rank_in_batch,
    note_project,
    record_budget, record_payment, settle_funds, record_repayment, funds_summary, record_credit_of,
    check_budget_adjustment, apply_budget_adjustment,
    integrity_check, similar_applications, credit_history, record_credit,
    draw_experts, expert_replied, expert_timed_out, expert_scored, aggregate_scores,
    request_change, review_change, conclude_change,
    batch_groups, batch_draw, batch_sheets, schedule_session, batch_chair_items, batch_reviews,
    batch_scored, batch_proposal, batch_form_items, batch_refusals, batch_apply, batch_objection_refusals,
    batch_uphold, batch_decisions, batch_totals,
    call_deadline, close_call, call_formal_review,
    unit_quota_check, unit_forward, project_routing,
)}
