"""Duplicate detection (engine.duplicates): Chinese text segmented with jieba, cosine similarity
of title and abstract, the most similar registered applications first."""
from __future__ import annotations

from collections import Counter

from engine.core import commands
from engine.lifecycle import duplicates, projects

BASE = {"plan_category": "key_rd", "discipline": "materials", "organisation": "浙江大学",
        "principal_investigator": "张伟", "budget": 100, "period_months": 24}
ALLOY = {"title": "高熵合金激光增材制造工艺研究",
         "abstract": "研究高熵合金激光增材制造的组织调控与性能优化，形成可推广的工艺规范。"}


def _register(db, **text) -> int:  # type: ignore[no-untyped-def]
    def register(session):
        project = projects.register(session, BASE | text, "zhang")
        duplicates.index(session, project)
        return project.id
    return commands.execute(db, register)


def test_chinese_text_is_segmented_into_words_without_stop_words_or_punctuation():
    words = duplicates.tokens("研究高熵合金激光增材制造的组织调控，Printed sensors and a LoRa network。")
    assert {"合金", "激光", "增材", "printed", "sensors", "lora", "network"} <= set(words)
    assert not {"研究", "的", "，", "and", "a", "。"} & set(words)


def test_identical_texts_score_one_and_unrelated_texts_score_zero():
    a = duplicates.terms(ALLOY["title"], ALLOY["abstract"])
    assert duplicates.similarity(a, a) == 1.0
    b = duplicates.terms("茶园土壤湿度传感网络", "印刷电容式传感器与低功耗广域网络用于山地茶园灌溉调度。")
    assert duplicates.similarity(a, b) == 0.0


def test_title_words_weigh_twice_as_much_as_abstract_words():
    assert duplicates.terms("激光", "激光 合金") == Counter({"激光": 3, "合金": 1})


def test_the_most_similar_registered_applications_come_first_with_their_score(db):
    # given a registered application, a reworded copy of it, and an unrelated one
    original = _register(db, **ALLOY)
    reworded = _register(db, title="高熵合金激光增材制造关键工艺", abstract=ALLOY["abstract"].replace("规范", "标准"))
    unrelated = _register(db, title="茶园土壤湿度传感网络", abstract="印刷电容式传感器与低功耗广域网络用于山地茶园灌溉调度。")
    # when the reworded one is checked
    matches = commands.query(db, lambda s: duplicates.similar_projects(s, projects.get(s, reworded)))
    # then the original is first with a high score, the unrelated one is not shown, itself neither
    assert matches[0].project_id == original and matches[0].score > 0.8
    assert {m.project_id for m in matches}.isdisjoint({unrelated, reworded})
    assert matches[0].to_dict()["status_label"] == "已申报 · Submitted"


def test_reindexing_a_corrected_application_changes_its_matches(db):
    original = _register(db, **ALLOY)
    other = _register(db, title="茶园土壤湿度传感网络", abstract="印刷电容式传感器用于山地茶园灌溉调度。")

    def correct(session):
        project = projects.update_application(session, other, ALLOY)
        duplicates.index(session, project)
    commands.execute(db, correct)
    matches = commands.query(db, lambda s: duplicates.similar_projects(s, projects.get(s, other)))
    assert matches[0].project_id == original and matches[0].score == 1.0


def test_a_text_with_no_meaningful_words_has_no_matches(db):
    _register(db, **ALLOY)
    assert commands.query(db, duplicates.similar_to, "研究", "的 和 与") == []
