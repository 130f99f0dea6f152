"""Bilingual texts, the way the processes, forms and rules write them: "中文 · English" in one
string. This module owns splitting such a text and choosing the half for a reader's language;
the web pages, the notification texts, the outcome reasons and the diagrams all ask it."""
from __future__ import annotations

import functools
import re

SEPARATOR = re.compile(r"\s*·\s+|\s+·\s*")
DETAIL = " — "  # a task title's detail follows it (BPMN `titleDetail`, engine/runtime/projection.py)
CELLS = " / "  # a list item's fields on one line (engine/workspace/history.py)
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef]")
_LATIN_START = re.compile(r"^[A-Za-z(\"'“]")


def has_chinese(text: str) -> bool:
    """Whether the text has Chinese characters (or Chinese punctuation) in it."""
    return bool(_CJK.search(text))


def is_chinese(language: str | None) -> bool:
    """zh, zh_CN, zh-Hans...: the bureau's default; anything else reads English."""
    return not language or language.lower().startswith("zh")


@functools.lru_cache(maxsize=8192)  # the same task and process names, over and over
def pick(label: str | None, language: str | None) -> str:
    """The half of a bilingual label ("形式审查 · Formal review") for the language: the half with
    Chinese characters for Chinese, the other for English. A label that is not one Chinese and one
    non-Chinese half is returned as it is. A task title with a detail ("专家评分 · Score — <the
    project>") and a list item's line ("设备费 · Equipment / 27.0") are picked part by part."""
    if label and DETAIL in label:
        head, tail = label.split(DETAIL, 1)
        return pick(head, language) + DETAIL + pick(tail, language)
    if label and CELLS in label:
        return CELLS.join(pick(cell, language) for cell in label.split(CELLS))
    if not label or "·" not in label:
        return label or ""
    parts = [p.strip() for p in SEPARATOR.split(label, maxsplit=1)]
    if len(parts) != 2 or not all(parts):
        return label
    chinese = [p for p in parts if _CJK.search(p)]
    other = [p for p in parts if not _CJK.search(p)]
    if len(chinese) != 1 or len(other) != 1:
        return label
    return chinese[0] if is_chinese(language) else other[0]


def pick_text(text: str, language: str | None) -> str:
    """A rule's bilingual sentence ("中文 · English") in one language. Unlike a label's, its English
    half may quote Chinese names (an organisation, a title), so the halves are told apart by where
    the separator stands: Chinese first, then a half that starts in Latin letters."""
    halves = SEPARATOR.split(text, maxsplit=1)
    if len(halves) != 2 or not _CJK.search(halves[0]) or not _LATIN_START.match(halves[1].strip()):
        return text
    return halves[0].strip() if is_chinese(language) else halves[1].strip()
