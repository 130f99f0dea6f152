"""The reviewer's inbox as one query over the indexed projection: tasks assigned to me, open
tasks of my groups that nobody has claimed, and tasks I completed; each row joined with the
project's summary, the stage (the process's name) and my follow-up date; filtered, searched,
sorted and paged in the database. Tasks of people the user covers for as a substitute come along
(marked with whom they belong to). Nothing here loads a workflow, and the candidate lookup is an
`IN` over the `task_candidates` principal index, so the cost follows the user's open tasks, not
the number of their groups or of closed tasks. The default view of the group scope (unfiltered,
by due date) and its count and poll are read from that index alone, which holds each candidate
row in that order (engine/runtime/tasks.claimable_page): their cost follows the groups and the
page, not the claimable tasks."""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, false, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from engine.core import calendar, clock
from engine.runtime import projection, tasks
from engine.definitions import stages
from engine.workspace import substitutes
from engine.core.errors import InvalidData
from engine.workspace.follow_up import FollowUp
from engine.core.models import HumanTask, ProcessDefinition, ProcessInstance, TaskCandidate
from engine.core.principals import Actor
from engine.core.summaries import InstanceSummary

SCOPES = ("assigned", "group", "completed")
SORTS = ("due", "created", "project", "task", "completed", "follow_up")
DUE_FILTERS = ("overdue", "today", "soon", "none", "follow_up")
SOON_WORKING_DAYS = 3
MAX_PER_PAGE = 100


@dataclass(frozen=True)
class InboxQuery:
    scope: str = "assigned"
    process_key: str = ""
    task_name: str = ""
    due: str = ""
    search: str = ""
    sort: str = ""
    descending: bool = False
    page: int = 1
    per_page: int = 20

    def checked(self) -> "InboxQuery":
        problems: dict[str, list[str]] = {}
        if self.scope not in SCOPES:
            problems["scope"] = [f"Must be one of: {', '.join(SCOPES)}."]
        if self.sort and self.sort not in SORTS:
            problems["sort"] = [f"Must be one of: {', '.join(SORTS)}."]
        if self.due and self.due not in DUE_FILTERS:
            problems["due"] = [f"Must be one of: {', '.join(DUE_FILTERS)}."]
        if problems:
            raise InvalidData("the inbox query is invalid", problems)
        return replace(self, page=max(1, self.page), per_page=min(max(1, self.per_page), MAX_PER_PAGE),
                       search=self.search.strip()[:200])


@dataclass(frozen=True)
class InboxRow:
    task: HumanTask
    project: str
    stage: str
    follow_up_on: date | None
    on_behalf_of: str | None

    @property
    def releasable(self) -> bool:
        return tasks.may_release(self.task)


@dataclass(frozen=True)
class InboxPage:
    rows: list[InboxRow]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _scope_filter(session: Session, actor: Actor, scope: str) -> tuple[ColumnElement[bool], list[substitutes.Covered]]:
    covered = substitutes.covering(session, actor) if scope != "completed" else []
    if scope == "assigned":
        names = [actor.username] + [c.username for c in covered]
        return (HumanTask.assignee.in_(names)) & (HumanTask.state == projection.OPEN), covered
    if scope == "group":
        principals, covered = _group_principals(session, actor)
        return HumanTask.id.in_(_candidate_ids(session, principals)) & unclaimed(), covered
    return (HumanTask.completed_by == actor.username) & (HumanTask.state == projection.COMPLETED), covered


def _group_principals(session: Session, actor: Actor) -> tuple[set[str], list[substitutes.Covered]]:
    """The principals whose claimable tasks the group scope shows: the user's and those of
    the people they cover for."""
    covered = substitutes.covering(session, actor)
    principals = set(actor.principals)
    for c in covered:
        principals.update(c.principals)
    return principals, covered


def _claimable_in_index_order(query: InboxQuery) -> bool:
    """Whether the page is the group scope's claimable tasks in the default order, unfiltered:
    the order of the candidate index, from which the page is read without touching the tasks."""
    return _unfiltered(query) and query.scope == "group" and query.sort in ("", "due") and not query.descending


MAX_LISTED_IDS = 20_000


def _candidate_ids(session: Session, principals: set[str]) -> Any:
    """The open unclaimed tasks these principals may claim, as a list of ids read through the
    candidate index (remembered for the session: a page asks several questions of the same list). Given
    the ids themselves, both SQLite and PostgreSQL probe the task table by primary key; given
    a subquery, PostgreSQL estimates ~100 rows per group from its statistics and, for a user in
    many groups, scans the whole task table, closed tasks included. A user who may claim more
    than MAX_LISTED_IDS tasks gets the subquery instead.
    Read in the order of the candidate index with the limit, and without DISTINCT
    (duplicates, a task offered to two of the user's groups, are dropped here): PostgreSQL then
    reads the index alone and stops at the limit. Given DISTINCT it walked the primary key in
    task-id order, and given the limit in no order it chose a sequential scan, both filtering
    all 1,000,000 candidate rows for a user in 500 groups (0.5-7 s; now ~9 ms)."""
    memo = session.info.setdefault("inbox_candidates", {})
    key = tuple(sorted(principals))
    if key not in memo:
        subquery = select(TaskCandidate.task_id).where(TaskCandidate.principal.in_(key),
                                                       TaskCandidate.claimed == false())
        found = list(session.scalars(subquery.order_by(TaskCandidate.principal, TaskCandidate.claimed,
                                                       TaskCandidate.due_at, TaskCandidate.created_at,
                                                       TaskCandidate.task_id)
                                     .limit(MAX_LISTED_IDS + 1)))
        memo[key] = list(dict.fromkeys(found)) if len(found) <= MAX_LISTED_IDS else subquery
    return memo[key]


def unclaimed() -> ColumnElement[bool]:
    """"Nobody has claimed it", written so that no index on the assignee can serve it: SQLite
    would otherwise walk every unassigned row (closed ones included) through that index and
    probe the candidate list for each, a cost growing with closed tasks. Driven from the
    candidate index instead, the cost is that of the user's own open candidate rows."""
    return func.coalesce(HumanTask.assignee, "") == ""


def _bureau_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, calendar.BUREAU_TZ)


def _due_filter(due: str, username: str) -> ColumnElement[bool] | None:
    now = clock.now()
    today = now.astimezone(calendar.BUREAU_TZ).date()
    if due == "overdue":
        return HumanTask.due_at < now
    if due == "today":
        return HumanTask.due_at < _bureau_midnight(today + timedelta(days=1))
    if due == "soon":
        last = calendar.add_working_days(_bureau_midnight(today), SOON_WORKING_DAYS)
        return HumanTask.due_at < last + timedelta(days=1)
    if due == "none":
        return HumanTask.due_at.is_(None)
    if due == "follow_up":
        return FollowUp.follow_up_on <= today
    return None


def _search_filter(text: str) -> ColumnElement[bool]:
    needle = text.lower()
    clauses = [func.lower(InstanceSummary.title).contains(needle, autoescape=True),
               func.lower(HumanTask.title).contains(needle, autoescape=True)]
    if text.lstrip("#").isdigit():
        clauses.append(HumanTask.process_instance_id == int(text.lstrip("#")))
    return or_(*clauses)


def _order(query: InboxQuery) -> list[Any]:
    sort = query.sort or ("completed" if query.scope == "completed" else "due")
    column = {"due": HumanTask.due_at, "created": HumanTask.created_at,
              "project": InstanceSummary.title, "task": HumanTask.title,
              "completed": HumanTask.completed_at, "follow_up": FollowUp.follow_up_on}[sort]
    descending = query.descending or (sort == "completed" and not query.sort)
    ordered = column.desc() if descending else column.asc()
    return [column.is_(None), ordered, HumanTask.created_at, HumanTask.id]


def _base(session: Session, actor: Actor, query: InboxQuery) -> tuple[Any, list[substitutes.Covered]]:
    where, covered = _scope_filter(session, actor, query.scope)
    conditions = [where]
    if query.process_key:
        conditions.append(HumanTask.process_key == query.process_key)
    if query.task_name:
        conditions.append(HumanTask.name == query.task_name)
    due = _due_filter(query.due, actor.username)
    if due is not None:
        conditions.append(due)
    if query.search:
        conditions.append(_search_filter(query.search))
    return and_(*conditions), covered


def _narrowing(query: InboxQuery, username: str, columns: Any) -> Any:
    """The rows of the query with only the joins its filters and sort need: counting and
    paging then touch the task rows alone (the summary and follow-up joins come in only when
    searching or sorting by them)."""
    statement = select(*columns).select_from(HumanTask)
    sort = query.sort
    if query.search or sort == "project":
        statement = statement.outerjoin(
            InstanceSummary, InstanceSummary.process_instance_id == HumanTask.process_instance_id)
    if query.due == "follow_up" or sort == "follow_up":
        statement = statement.outerjoin(
            FollowUp, (FollowUp.task_id == HumanTask.id) & (FollowUp.username == username))
    return statement


def search(session: Session, actor: Actor, query: InboxQuery) -> InboxPage:
    query = query.checked()
    if _claimable_in_index_order(query):
        principals, covered = _group_principals(session, actor)
        page_ids = tasks.claimable_page(session, principals, (query.page - 1) * query.per_page, query.per_page)
        return InboxPage(_rows(session, actor, page_ids, covered), _stats(session, actor, query.scope)[0] or 0,
                         query.page, query.per_page)
    where, covered = _base(session, actor, query)
    if _unfiltered(query):
        page_ids, total = _page_with_stats(session, actor, query, where)
        return InboxPage(_rows(session, actor, page_ids, covered), total, query.page, query.per_page)
    total = session.scalar(_narrowing(query, actor.username, [func.count(HumanTask.id)]).where(where)) or 0
    page_ids = list(session.scalars(_narrowing(query, actor.username, [HumanTask.id]).where(where)
                                    .order_by(*_order(query))
                                    .offset((query.page - 1) * query.per_page).limit(query.per_page)))
    return InboxPage(_rows(session, actor, page_ids, covered), total, query.page, query.per_page)


def _page_with_stats(session: Session, actor: Actor, query: InboxQuery, where: Any) -> tuple[list[str], int]:
    """The page's ids and the scope's (count, newest creation) in one pass over the rows: window
    aggregates see every row before the sort and limit. The rows are found by primary-key
    probes (a probe per claimable task), so one pass instead of two (the page, then the menu
    count and poll fingerprint in `_stats`) is half the page's cost at 1,000,000 open tasks.
    Past the last page no row carries the figures, and `_stats` asks for them."""
    found = session.execute(
        _narrowing(query, actor.username, [HumanTask.id, func.count().over(), func.max(HumanTask.created_at).over()])
        .where(where).order_by(*_order(query))
        .offset((query.page - 1) * query.per_page).limit(query.per_page)).all()
    memo = session.info.setdefault("inbox_stats", {})
    if found:
        memo.setdefault((actor, query.scope), (found[0][1], found[0][2]))
    elif query.page == 1:
        memo.setdefault((actor, query.scope), (0, None))
    return [row[0] for row in found], _stats(session, actor, query.scope)[0] or 0


def _unfiltered(query: InboxQuery) -> bool:
    """Whether the query's rows are its scope's open rows as `_stats` counts them (no filter, no
    join), so that one statement answers the page's total, the menu count and the poll."""
    return (query.scope in ("assigned", "group") and not (query.process_key or query.task_name
                                                          or query.due or query.search))


def _rows(session: Session, actor: Actor, task_ids: list[str], covered: list[substitutes.Covered]) -> list[InboxRow]:
    """The page's rows with what they show (project, stage, follow-up), in the page's order."""
    if not task_ids:
        return []
    found = session.execute(
        select(HumanTask, InstanceSummary.title, ProcessDefinition.id, ProcessDefinition.content_hash,
               ProcessDefinition.name, FollowUp.follow_up_on)
        .join(ProcessInstance, ProcessInstance.id == HumanTask.process_instance_id)
        .join(ProcessDefinition, ProcessDefinition.id == ProcessInstance.definition_id)
        .outerjoin(InstanceSummary, InstanceSummary.process_instance_id == HumanTask.process_instance_id)
        .outerjoin(FollowUp, (FollowUp.task_id == HumanTask.id) & (FollowUp.username == actor.username))
        .where(HumanTask.id.in_(task_ids))).all()
    by_id = {row[0].id: row for row in found}
    rows = []
    for task_id in task_ids:
        task, title, def_id, content_hash, name, follow_up_on = by_id[task_id]
        rows.append(InboxRow(task, title or "", stages.stage_of(session, def_id, content_hash, task.name, name),
                             follow_up_on, _behalf(task, actor, covered)))
    return rows


def _behalf(task: HumanTask, actor: Actor, covered: list[substitutes.Covered]) -> str | None:
    if not covered or task.state != projection.OPEN:
        return None
    if task.assignee == actor.username:
        return None
    if task.assignee is None and (actor.username in task.candidate_users
                                  or actor.groups & set(task.candidate_groups)):
        return None
    for c in covered:
        if task.assignee == c.username or (task.assignee is None and (
                c.username in task.candidate_users or c.groups & set(task.candidate_groups))):
            return c.username
    return None


def _stats(session: Session, actor: Actor, scope: str) -> tuple[int, Any]:
    """(open rows, newest creation) of a scope, remembered for the rest of the session: the
    page's counts and the poll's fingerprint ask the same question."""
    memo = session.info.setdefault("inbox_stats", {})
    key = (actor, scope)
    if key not in memo and scope == "group":
        summary = tasks.claimable_summary(session, _group_principals(session, actor)[0])
        memo[key] = (summary.count, summary.newest)
    if key not in memo:
        where, _ = _scope_filter(session, actor, scope)
        memo[key] = tuple(session.execute(select(func.count(HumanTask.id), func.max(HumanTask.created_at))
                                          .where(where)).one())
    return memo[key]


def counts(session: Session, actor: Actor) -> dict[str, int]:
    """Open tasks assigned to me and open tasks I may claim (for the menu)."""
    return {scope: _stats(session, actor, scope)[0] or 0 for scope in ("assigned", "group")}


def task_names(session: Session, actor: Actor, scope: str) -> list[tuple[str, str, str]]:
    """(process_key, element id, title) of the tasks in a scope, for the filter choices."""
    if scope not in SCOPES:
        scope = "assigned"
    if scope == "group":
        # one task per kind stands for all of that kind (engine/runtime/projection.kind_of)
        samples = tasks.claimable_summary(session, _group_principals(session, actor)[0]).samples
        where = HumanTask.id.in_(samples)
    else:
        where, _ = _scope_filter(session, actor, scope)
    rows = session.execute(select(HumanTask.process_key, HumanTask.name, HumanTask.title)
                           .where(where).distinct().order_by(HumanTask.process_key, HumanTask.title).limit(200))
    return [tuple(r) for r in rows]  # type: ignore[misc]


def fingerprint(session: Session, actor: Actor, scope: str) -> str:
    """A cheap token that changes when the scope's open rows change, for polling."""
    count, newest = _stats(session, actor, scope)
    return f"{count}:{newest.isoformat() if newest else '-'}"


def process_names(session: Session) -> dict[str, str]:
    """Process key -> name of its latest version, for the filter choices (no spec loaded)."""
    rows = session.execute(select(ProcessDefinition.key, ProcessDefinition.name)
                           .order_by(ProcessDefinition.key, ProcessDefinition.version))
    return {key: name or key for key, name in rows}
