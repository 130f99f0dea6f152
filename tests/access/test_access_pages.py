"""The pages keep blind review, as the expert who found another expert's name, score and opinion
under the task page's earlier decisions and on the instance timeline."""
from __future__ import annotations

from .conftest import APPLICANT, SECRET_OPINION, sign_in

SECRET_WORDS = SECRET_OPINION.split(" · ")  # a page shows one half of a bilingual text


def test_an_expert_still_scoring_sees_no_other_expert_on_the_task_page_or_the_timeline(client, review):
    me = review.scoring[0]
    task = review.task_of(me)
    signed = sign_in(client, me)
    for path in (f"/tasks/{task.id}", f"/instances/{review.instance_id}"):
        response = signed.get(path)
        html = response.get_data(as_text=True)
        assert response.status_code == 200
        # no other expert's user name, real name or organisation, no score or opinion of theirs
        for other in review.panel:
            if other != me:
                assert other not in html, (path, other)
        assert "材料专家" not in html and "研究所" not in html and not any(w in html for w in SECRET_WORDS)
        # while the project materials are on the page
        assert "高熵合金激光增材制造工艺研究" in html


def test_the_expert_who_scored_sees_their_own_work_and_still_no_one_elses(client, review):
    signed = sign_in(client, review.scored)
    html = signed.get(f"/instances/{review.instance_id}").get_data(as_text=True)
    assert SECRET_WORDS[0] in html
    for other in review.panel:
        if other != review.scored:
            assert other not in html


def test_the_applicants_instance_page_names_no_expert_nor_reviewer(client, review):
    html = sign_in(client, APPLICANT.username).get(f"/instances/{review.instance_id}").get_data(as_text=True)
    for expert in review.panel:
        assert expert not in html
    assert "材料专家" not in html and not any(w in html for w in SECRET_WORDS) and "wang.fang" not in html


def test_the_applicants_list_shows_the_stage_but_not_the_experts_tasks(client, review):
    html = sign_in(client, APPLICANT.username).get("/applications").get_data(as_text=True)
    assert "高熵合金激光增材制造工艺研究" in html
    assert "专家评分" not in html and "Score the application" not in html
    for expert in review.panel:
        assert expert not in html
