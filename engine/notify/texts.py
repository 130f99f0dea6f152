"""The words of notifications and e-mails, in Simplified Chinese (zh_CN, the default) and English
(en). A notification stores its kind and parameters, never its text, so the in-app list speaks
the reader's language and an e-mail the configured mail language. One e-mail carries one
notification, or several as a digest (the daily digest, or what one pass produced for a user)."""
from __future__ import annotations

import functools
import re
from datetime import datetime
from typing import Any, Iterable

from engine.core import bilingual
from engine.core.calendar import BUREAU_TZ

LANGUAGES = ("zh_CN", "en")
DEFAULT_LANGUAGE = "zh_CN"

# kind -> language -> (subject, text); {title}, {due}, {instance} ... come from the params
TEXTS: dict[str, dict[str, tuple[str, str]]] = {
    "task_due_soon": {
        "zh_CN": ("任务即将到期：{title}", "任务「{title}」将于 {due} 到期，请及时处理。"),
        "en": ("Task due soon: {title}", "The task “{title}” is due {due}. Please handle it in time."),
    },
    "task_overdue": {
        "zh_CN": ("任务已逾期：{title}", "任务「{title}」已于 {due} 到期，现已逾期，请尽快处理。"),
        "en": ("Task overdue: {title}", "The task “{title}” was due {due} and is now overdue. Please handle it as soon as possible."),
    },
    "task_overdue_report": {
        "zh_CN": ("逾期任务：{title}", "流程实例 {instance}（{process}）中由{holder}办理的任务「{title}」已于 {due} 逾期。"),
        "en": ("Overdue task: {title}", "The task “{title}” of instance {instance} ({process}), held by {holder}, is overdue since {due}."),
    },
    "task_escalated": {
        "zh_CN": ("逾期任务已升级至督办：{title}", "任务「{title}」（流程实例 {instance}）逾期超过 {days} 个工作日，已转入督办人员待办，请认领或重新分派。"),
        "en": ("Overdue task escalated to you: {title}", "The task “{title}” (instance {instance}) is more than {days} working day(s) overdue and is now in the supervisors' inbox: claim or reassign it."),
    },
    "task_still_overdue": {
        "zh_CN": ("任务仍未办理：{title}", "任务「{title}」（流程实例 {instance}，{holder}）逾期已超过 {days} 个工作日，仍未办理。"),
        "en": ("Task still overdue: {title}", "The task “{title}” (instance {instance}, {holder}) is more than {days} working day(s) overdue and still open."),
    },
    "task_reassigned_to_you": {
        "zh_CN": ("逾期任务已转交给您：{title}", "任务「{title}」（流程实例 {instance}）已逾期，现转交给您办理，截止时间为 {due}。"),
        "en": ("Overdue task handed to you: {title}", "The overdue task “{title}” (instance {instance}, due {due}) has been handed to you."),
    },
    "task_returned_to_group": {
        "zh_CN": ("逾期任务可认领：{title}", "任务「{title}」（流程实例 {instance}）已逾期，已退回候选组，您可以认领并办理。"),
        "en": ("Overdue task open for claiming: {title}", "The overdue task “{title}” (instance {instance}) went back to its group; you may claim it."),
    },
    "task_taken_away": {
        "zh_CN": ("逾期任务已转交他人：{title}", "您的任务「{title}」（流程实例 {instance}）逾期超过 {days} 个工作日，已按规定转交处理。"),
        "en": ("Overdue task handed over: {title}", "Your task “{title}” (instance {instance}) was more than {days} working day(s) overdue and has been handed over."),
    },
    "organisation_registration_requested": {
        "zh_CN": ("单位注册申请：{name}", "{requester_name}申请将「{name}」登记为申报单位（统一社会信用代码：{credit_code}；说明：{note}）。请核实后在单位名录中登记，并告知申请人。"),
        "en": ("Organisation registration requested: {name}", "{requester_name} asks for “{name}” to be registered as an applying organisation (unified social credit code: {credit_code}; note: {note}). Check it, register it in the organisation register and tell the requester."),
    },
    "panel_session": {
        "zh_CN": ("会评通知：{call}", "您受邀参加「{call}」的会评：时间 {when}，地点 {where}。会上有 {count} 个项目答辩，请准时参加，并在会上或会后于待办中逐项评分。"),
        "en": ("Panel session: {call}", "You are invited to the panel session of “{call}” on {when}, at {where}. {count} projects defend there; please attend and score each in your task list at or after the session."),
    },
    "defence_slot": {
        "zh_CN": ("答辩安排：{title}", "您的项目「{title}」参加「{call}」的会评答辩：第 {order} 个，{when} 至 {until}，地点 {where}。请项目负责人准时到场（或通过视频参加）。"),
        "en": ("Your defence: {title}", "Your project “{title}” defends at the panel session of “{call}”: number {order}, {when} to {until}, at {where}. The investigator should attend on time (or join by video)."),
    },
    "instance_stuck": {
        "zh_CN": ("流程停滞：实例 {instance}", "流程实例 {instance}（{process}）已连续 {days} 个工作日没有进展（最后变化于 {since}）。"),
        "en": ("Process stuck: instance {instance}", "Instance {instance} ({process}) has made no progress for {days} working days (last change {since})."),
    },
}

# a digest notification gathers reports of one kind: (subject, introduction) over its items
DIGEST_TEXTS: dict[str, dict[str, tuple[str, str]]] = {
    "task_overdue_report": {
        "zh_CN": ("{count} 项任务已逾期", "以下 {count} 项任务已逾期："),
        "en": ("{count} tasks overdue", "{count} tasks became overdue:"),
    },
    "instance_stuck": {
        "zh_CN": ("{count} 个流程停滞", "以下 {count} 个流程实例长时间没有进展："),
        "en": ("{count} processes stuck", "{count} process instances made no progress:"),
    },
    "task_escalated": {
        "zh_CN": ("{count} 项逾期任务已升级至督办", "以下 {count} 项逾期任务已转入督办人员待办，请认领或重新分派："),
        "en": ("{count} overdue tasks escalated to you", "{count} overdue tasks are now in the supervisors' inbox; claim or reassign them:"),
    },
    "task_still_overdue": {
        "zh_CN": ("{count} 项任务仍未办理", "以下 {count} 项任务逾期已久，仍未办理："),
        "en": ("{count} tasks still overdue", "{count} tasks are long overdue and still open:"),
    },
    "task_returned_to_group": {
        "zh_CN": ("{count} 项逾期任务可认领", "以下 {count} 项逾期任务已退回候选组，您可以认领："),
        "en": ("{count} overdue tasks open for claiming", "{count} overdue tasks went back to your group; you may claim them:"),
    },
}
_MORE = {"zh_CN": "……另有 {n} 项，请在督办页面查看。", "en": "... and {n} more: see the supervisor's lists."}


_NOBODY = {"zh_CN": "候选组", "en": "its candidate group"}

_EMAIL = {
    "zh_CN": {
        "greeting": "{name}，您好：",
        "digest_subject": "工作流通知（{count} 条）",
        "digest_intro": "以下是您的 {count} 条工作流通知：",
        "footer": "请登录系统处理：{url}\n（本邮件由系统自动发送，请勿回复。）",
        "open": "查看：{link}",
    },
    "en": {
        "greeting": "Dear {name},",
        "digest_subject": "Workflow notifications ({count})",
        "digest_intro": "You have {count} workflow notifications:",
        "footer": "Sign in to handle them: {url}\n(This message was sent automatically; please do not reply.)",
        "open": "Open: {link}",
    },
}


def language_of(value: str | None) -> str:
    """One of LANGUAGES for a requested language such as 'en-US', 'zh', 'zh-CN' (default zh_CN)."""
    text = (value or "").replace("-", "_").lower()
    if text.startswith("en"):
        return "en"
    return DEFAULT_LANGUAGE


def local_time(value: Any) -> str:
    """A stored ISO moment as the bureau reads it: 2025-10-09 10:00."""
    if not value:
        return "-"
    if isinstance(value, str):
        return _local_text(value)
    return value.astimezone(BUREAU_TZ).strftime("%Y-%m-%d %H:%M")


@functools.lru_cache(maxsize=4096)  # a digest or a catch-up renders the same moments many times
def _local_text(value: str) -> str:
    return datetime.fromisoformat(value).astimezone(BUREAU_TZ).strftime("%Y-%m-%d %H:%M")


def pick(label: str | None, language: str) -> str:
    """The half of a bilingual BPMN label ("形式审查 · Formal review") for `language`."""
    return bilingual.pick(label, language)


def _fields(params: dict[str, Any], language: str) -> dict[str, Any]:
    process = pick(params.get("process_name"), language) or params.get("process_key") or "-"
    return {**params, "title": pick(params.get("title") or params.get("task_name") or "-", language),
            "due": local_time(params.get("due_at")), "since": local_time(params.get("since")),
            "holder": params.get("holder_name") or params.get("holder") or _NOBODY[language],
            "instance": params.get("instance_id", "-"), "process": process,
            "days": params.get("days", "-")}


def render(kind: str, params: dict[str, Any], language: str = DEFAULT_LANGUAGE) -> tuple[str, str]:
    """(subject, text) of one notification in `language`; a digest lists its items."""
    language = language_of(language)
    if "items" in params:
        return _render_digest(kind, params, language)
    subject, text = TEXTS[kind][language]
    values = _fields(params, language)
    return subject.format(**values), text.format(**values)


def email(items: Iterable[tuple[str, dict[str, Any]]], name: str, language: str,
          url: str, links: list[str] | None = None) -> tuple[str, str]:
    """(subject, body) of the e-mail for one user: one notification as itself, several as a
    digest that lists each; `links` (one per item) lead where the notification centre's do."""
    language = language_of(language)
    words = _EMAIL[language]
    rendered = [render(kind, params, language) for kind, params in items]
    opens = [words["open"].format(link=link) for link in links] if links else [""] * len(rendered)
    lines = [words["greeting"].format(name=name), ""]
    if len(rendered) == 1:
        subject = rendered[0][0]
        lines.append(rendered[0][1])
        lines += [opens[0]] if opens[0] else []
    else:
        subject = words["digest_subject"].format(count=len(rendered))
        lines.append(words["digest_intro"].format(count=len(rendered)))
        lines.append("")
        for n, ((_, text), link) in enumerate(zip(rendered, opens), 1):
            lines.append(f"{n}. {text}")
            lines += [f"   {link}"] if link else []
    lines += ["", words["footer"].format(url=url)]
    return subject, "\n".join(lines) + "\n"


def _render_digest(kind: str, params: dict[str, Any], language: str) -> tuple[str, str]:
    items, count = params["items"], params["count"]
    if count == 1 and items:
        return render(kind, items[0], language)
    subject, intro = DIGEST_TEXTS[kind][language]
    lines = [intro.format(count=count)] + [f"- {render(kind, item, language)[1]}" for item in items]
    if count > len(items):
        lines.append(_MORE[language].format(n=count - len(items)))
    return subject.format(count=count), "\n".join(lines)
