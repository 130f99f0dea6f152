"""Finding similar applications and projects (查重), for the formal reviewer. This module owns
the text similarity: title and abstract are segmented with jieba (Chinese words; English words
as they are, lower-cased), stop words and one-character tokens dropped, title terms counted
twice; two texts' similarity is the cosine of their term-frequency vectors, from 0 (nothing in
common) to 1 (the same words in the same proportions). The score does not depend on the rest of
the corpus, so a score shown to a reviewer today is the same score an auditor computes next
year. Terms are kept in an index table (`project_terms`) so a search reads only the rows that
share a term with the application. A high score never rejects anything by itself: the process
makes the reviewer decide explicitly, with a justification."""
from __future__ import annotations

import logging
import math
import re
import threading
from collections import Counter
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.core.models import Base
from engine.lifecycle.projects import STATUSES, Project

TITLE_WEIGHT = 2
MAX_TERM_LENGTH = 64
MIN_SHOWN_SCORE = 0.05
_WORD = re.compile(r"^[\w\u4e00-\u9fff]+$")
_DIGITS = re.compile(r"^[\d._]+$")
# words nearly every application uses say nothing about which project it is
STOP_WORDS = frozenset("""
的 了 和 与 及 以及 等 在 对 为 是 中 其 并 或 将 从 由 把 被 以 于 之 这 那 该 本 各 每 一个 一种 一些
通过 进行 开展 实现 基于 利用 采用 提出 形成 建立 提高 提升 开发 研究 技术 方法 系统 项目 应用 关键 相关
我们 可以 能够 具有 主要 重要 问题 方面 领域 工作 结果 目标 内容 方案 国内 国际 水平 推广
the and for with from that this into are was were our its their which using based study
project research development system method methods new use used via towards toward than
""".split())

log = logging.getLogger(__name__)
_jieba_lock = threading.Lock()
_jieba: Any = None


class ProjectTerm(Base):
    __tablename__ = "project_terms"
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
    term: Mapped[str] = mapped_column(String(MAX_TERM_LENGTH), primary_key=True, index=True)
    tf: Mapped[int] = mapped_column(Integer)


def _segmenter() -> Any:
    """jieba, loaded once (its dictionary takes about a second) and quietly."""
    global _jieba
    with _jieba_lock:
        if _jieba is None:
            import jieba
            jieba.setLogLevel(logging.WARNING)
            jieba.initialize()
            _jieba = jieba
    return _jieba


def warm_up() -> None:
    """Load the segmenter now (e.g. when a worker starts) rather than on the first review."""
    _segmenter()


def tokens(text: str) -> list[str]:
    """The meaningful words of a text, in order."""
    words = []
    for raw in _segmenter().lcut(text or ""):
        word = raw.strip().lower()
        if len(word) < 2 or len(word) > MAX_TERM_LENGTH or word in STOP_WORDS:
            continue
        if not _WORD.match(word) or _DIGITS.match(word):
            continue
        words.append(word)
    return words


def terms(title: str, abstract: str) -> Counter[str]:
    counts: Counter[str] = Counter()
    for word in tokens(title):
        counts[word] += TITLE_WEIGHT
    counts.update(tokens(abstract))
    return counts


def _norm(counts: Counter[str]) -> float:
    return math.sqrt(sum(tf * tf for tf in counts.values()))


def similarity(a: Counter[str], b: Counter[str]) -> float:
    """Cosine of two term-frequency vectors, rounded to 3 decimals."""
    if not a or not b:
        return 0.0
    dot = sum(tf * b.get(term, 0) for term, tf in a.items())
    return round(dot / (_norm(a) * _norm(b)), 3)


def index(session: Session, project: Project) -> None:
    """(Re)index a project's title and abstract."""
    counts = terms(project.title, project.abstract)
    session.execute(delete(ProjectTerm).where(ProjectTerm.project_id == project.id))
    session.add_all(ProjectTerm(project_id=project.id, term=t, tf=tf) for t, tf in counts.items())
    project.terms_norm = _norm(counts)
    session.flush()


@dataclass(frozen=True)
class Match:
    project_id: int
    title: str
    organisation: str
    investigator: str
    status: str
    score: float

    def to_dict(self) -> dict[str, Any]:
        return {"project_id": self.project_id, "title": self.title, "organisation": self.organisation,
                "investigator": self.investigator, "status": self.status,
                "status_label": STATUSES.get(self.status, self.status), "score": self.score}


def similar_to(session: Session, title: str, abstract: str, limit: int = 5,
               exclude_id: int | None = None) -> list[Match]:
    """The registered applications and projects most similar to this text, best first."""
    query = terms(title, abstract)
    if not query:
        return []
    norm = _norm(query)
    dots: Counter[int] = Counter()
    rows = session.execute(select(ProjectTerm.project_id, ProjectTerm.term, ProjectTerm.tf)
                           .where(ProjectTerm.term.in_(list(query))))
    for project_id, term, tf in rows:
        if project_id != exclude_id:
            dots[project_id] += query[term] * tf
    if not dots:
        return []
    found = session.execute(select(Project.id, Project.title, Project.organisation, Project.investigator,
                                   Project.status, Project.terms_norm).where(Project.id.in_(list(dots))))
    matches = [Match(pid, ptitle, org, inv, status, round(dots[pid] / (norm * pnorm), 3))
               for pid, ptitle, org, inv, status, pnorm in found if pnorm]
    matches = [m for m in matches if m.score >= MIN_SHOWN_SCORE]
    matches.sort(key=lambda m: (-m.score, m.project_id))
    return matches[:limit]


def similar_projects(session: Session, project: Project, limit: int = 5) -> list[Match]:
    return similar_to(session, project.title, project.abstract, limit, exclude_id=project.id)
