"""The organisation register (engine.organisations): the role groups an organisation acts through."""
from __future__ import annotations

import pytest

from engine.core import commands
from engine.lifecycle import organisations
from engine.core.errors import InvalidData


def test_an_organisation_acts_through_its_unit_group_and_its_recommenders_group(db):
    commands.execute(db, organisations.ensure, "hzam", "杭州先进材料研究院", "institute", "binjiang")
    info = commands.query(db, organisations.info, " 杭州先进材料研究院 ")
    assert info["unit_group"] == "unit.hzam" and info["recommender_group"] == "recommender.binjiang"


def test_a_university_without_a_recommender_recommends_itself(db):
    commands.execute(db, organisations.ensure, "zju", "浙江大学", "university")
    assert commands.query(db, organisations.info, "浙江大学")["recommender_group"] == "recommender.zju"


def test_registering_twice_keeps_the_first_and_unknown_names_have_no_info(db):
    first = commands.execute(db, lambda s: organisations.ensure(s, "zju", "浙江大学", "university").id)
    again = commands.execute(db, lambda s: organisations.ensure(s, "zju", "浙江大学", "university").id)
    assert first == again and commands.query(db, organisations.info, "不存在") is None


def test_an_unknown_kind_is_refused(db):
    with pytest.raises(InvalidData):
        commands.execute(db, organisations.ensure, "x", "某单位", "club")
