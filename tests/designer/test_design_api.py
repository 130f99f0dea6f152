"""The designer's REST API end to end: designers only; drafts from a deployed version or from
uploaded files (Camunda Modeler 5 exports included); hostile uploads refused with a clear
message and nothing deployed; deploy, compare, migrate and test-run through HTTP; every corpus
file either validates or is refused with its problems, never a server error."""
from __future__ import annotations

import csv
import io

import pytest

from tests.conftest import FIXTURES, SHARED

SIMPLE = (FIXTURES / "bpmn" / "simple_review.bpmn").read_text()
FORM = (FIXTURES / "forms" / "simple_decision.form").read_text()
CORPUS = SHARED / "bpmn-corpus"


@pytest.fixture
def designer(api):  # type: ignore[no-untyped-def]
    return api("dana", ["designers"])


def _upload(user, draft_id: int, *files: tuple[str, bytes]):  # type: ignore[no-untyped-def]
    data = {"files": [(io.BytesIO(content), name) for name, content in files]}
    return user.post(f"/designer/drafts/{draft_id}/files", data=data, content_type="multipart/form-data")


def _new_draft(designer, files=None) -> int:  # type: ignore[no-untyped-def]
    status, draft = designer.post("/designer/drafts", {"name": "Simple", "files": files or {}})
    assert status == 201, draft
    return draft["id"]


def test_everyone_but_designers_gets_403_and_nothing_changes(api, designer):
    draft_id = _new_draft(designer, {"simple_review.bpmn": SIMPLE, "simple_decision.form": FORM})
    rita = api("rita", ["reviewers", "supervisors"])
    for path in ("/designer/processes", "/designer/drafts", f"/designer/drafts/{draft_id}",
                 f"/designer/drafts/{draft_id}/files/simple_review.bpmn"):
        assert rita.get(path)[0] == 403, path
    for path in ("/designer/drafts", f"/designer/drafts/{draft_id}/validate", f"/designer/drafts/{draft_id}/deploy",
                 f"/designer/drafts/{draft_id}/trials"):
        assert rita.post(path, {"name": "x"})[0] == 403, path
    assert designer.get("/designer/processes") == (200, [])


def test_a_draft_from_uploaded_files_validates_deploys_and_lists_its_version(designer):
    draft_id = _new_draft(designer)
    status, draft = _upload(designer, draft_id, ("simple_review.bpmn", SIMPLE.encode()),
                            ("simple_decision.form", FORM.encode()))
    assert status == 200 and [f["filename"] for f in draft["files"]] == ["simple_decision.form", "simple_review.bpmn"]
    assert designer.post(f"/designer/drafts/{draft_id}/validate") == (
        200, {"valid": True, "problems": [], "processes": ["simple_review"], "lint": [], "lint_unavailable": None,
              "also": []})
    # with ?lint=true, bpmnlint's advice comes too (the fixture's names are in English only)
    status, linted = designer.post(f"/designer/drafts/{draft_id}/validate?lint=true")
    assert status == 200 and linted["valid"]
    assert ("scitech/bilingual-name", "review") in {(f["rule"], f["element_id"]) for f in linted["lint"]}
    status, deployed = designer.post(f"/designer/drafts/{draft_id}/deploy")
    assert status == 201 and {"key": "simple_review", "version": 1, "kind": "process", "changed": True} in deployed
    [entry] = designer.get("/designer/processes")[1]
    assert entry["key"] == "simple_review" and entry["versions"][0]["deployed_by"] == "dana"
    # the deployed file downloads as it was uploaded
    response = designer.client.get("/api/v1/designer/processes/simple_review/versions/1/files/simple_review.bpmn",
                                   headers=designer._headers())
    assert response.status_code == 200 and response.data.decode() == SIMPLE
    assert "attachment" in response.headers["Content-Disposition"]


@pytest.mark.parametrize("name, content, expected", [
    ("xxe.bpmn", b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><d>&x;</d>', "DOCTYPE"),
    ("laughs.bpmn", b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;'
                    b'&a;&a;&a;">]><l>&b;</l>', "DOCTYPE"),
    ("importer.bpmn", SIMPLE.replace('recorded = decision + "-recorded"', "import os").encode(), "import"),
])
def test_hostile_files_are_refused_with_a_clear_message_and_nothing_deployed(designer, name, content, expected):
    draft_id = _new_draft(designer, {"simple_decision.form": FORM})
    assert _upload(designer, draft_id, (name, content))[0] == 200
    status, verdict = designer.post(f"/designer/drafts/{draft_id}/validate")
    assert status == 200 and not verdict["valid"]
    assert any(expected.lower() in p["message"].lower() for p in verdict["problems"]), verdict
    status, refused = designer.post(f"/designer/drafts/{draft_id}/deploy")
    assert status == 422 and refused["error"]["code"] == "invalid_definition"
    assert designer.get("/designer/processes") == (200, [])


def test_a_huge_or_misnamed_upload_is_refused_before_it_is_stored(designer):
    draft_id = _new_draft(designer)
    status, body = _upload(designer, draft_id, ("huge.bpmn", b"<a>" + b" " * (5 * 1024 * 1024) + b"</a>"))
    assert status == 422 and "content" in body["error"]["fields"]
    status, body = _upload(designer, draft_id, ("notes.txt", b"hello"))
    assert status == 422 and "filename" in body["error"]["fields"]
    assert _upload(designer, draft_id, ("latin1.bpmn", "é".encode("latin-1")))[0] == 400
    assert designer.get(f"/designer/drafts/{draft_id}")[1]["files"] == []


def test_a_stale_save_gets_409_and_keeps_the_newer_text(designer):
    draft_id = _new_draft(designer, {"simple_review.bpmn": SIMPLE})
    revision = designer.get(f"/designer/drafts/{draft_id}")[1]["revision"]
    newer = SIMPLE.replace("Simple review", "Newer")
    assert designer.client.put(f"/api/v1/designer/drafts/{draft_id}/files/simple_review.bpmn",
                               json={"content": newer, "revision": revision},
                               headers=designer._headers()).status_code == 200
    stale = designer.client.put(f"/api/v1/designer/drafts/{draft_id}/files/simple_review.bpmn",
                                json={"content": SIMPLE, "revision": revision}, headers=designer._headers())
    assert stale.status_code == 409
    text = designer.client.get(f"/api/v1/designer/drafts/{draft_id}/files/simple_review.bpmn",
                               headers=designer._headers()).data.decode()
    assert text == newer


def test_compare_migrate_and_test_run_through_the_api(api, designer):
    draft_id = _new_draft(designer, {"simple_review.bpmn": SIMPLE, "simple_decision.form": FORM})
    designer.post(f"/designer/drafts/{draft_id}/deploy")
    applicant = api("alice")
    old = applicant.post("/process-instances", {"process_key": "simple_review"})[1]["id"]
    changed = SIMPLE.replace('camunda:candidateGroups="reviewers"', 'camunda:candidateGroups="experts"')
    designer.client.put(f"/api/v1/designer/drafts/{draft_id}/files/simple_review.bpmn",
                        json={"content": changed}, headers=designer._headers())
    assert designer.post(f"/designer/drafts/{draft_id}/deploy")[0] == 201
    status, diff = designer.get("/designer/processes/simple_review/compare?from=1&to=2")
    assert status == 200 and diff["changed"][0]["id"] == "review"
    assert designer.get("/designer/processes/simple_review/compare?from=1")[0] == 422
    status, plans = designer.post("/designer/processes/simple_review/migrations/preview",
                                  {"to_version": 2, "from_version": 1})
    assert status == 200 and [(p["instance_id"], p["possible"]) for p in plans] == [(old, True)]
    assert designer.post("/designer/processes/simple_review/migrations", {"to_version": 2, "instance_ids": [old]})[0] == 422
    status, report = designer.post("/designer/processes/simple_review/migrations",
                                   {"to_version": 2, "instance_ids": [old], "reason": "new routing"})
    assert status == 200 and report == {"to_version": 2, "migrated": [old], "failures": []}
    assert applicant.get(f"/process-instances/{old}")[1]["version"] == 2
    # a test run of the draft, acting as the reviewers
    status, trial = designer.post(f"/designer/drafts/{draft_id}/trials", {"data": {}})
    assert status == 201 and trial["tasks"][0]["candidate_groups"] == ["experts"]
    task = trial["tasks"][0]["id"]
    status, bad = designer.post(f"/designer/trials/{trial['id']}/tasks/{task}/complete", {"data": {"decision": "x"}})
    assert status == 422 and "decision" in bad["error"]["fields"]
    status, done = designer.post(f"/designer/trials/{trial['id']}/tasks/{task}/complete",
                                 {"data": {"decision": "reject"}, "as_role": "experts"})
    assert status == 200 and done["state"] == "completed" and done["data"]["recorded"] == "reject-recorded"


def _corpus() -> list[str]:
    if not (CORPUS / "manifest.csv").exists():
        return []
    with (CORPUS / "manifest.csv").open(newline="") as handle:
        return [r["file"] for r in csv.DictReader(handle) if r["file"].endswith(".bpmn")]


@pytest.mark.skipif(not _corpus(), reason="../shared/bpmn-corpus is not present")
def test_every_corpus_file_uploaded_to_a_draft_validates_or_is_refused_never_a_crash(designer):
    draft_id = _new_draft(designer)
    outcomes = {"valid": 0, "refused": 0}
    for name in _corpus():
        path = CORPUS / name
        filename = path.name if path.name[0].isalnum() else "x" + path.name
        status, _ = _upload(designer, draft_id, (filename, path.read_bytes()))
        if status != 200:  # a name or encoding we refuse at upload, with a JSON error
            assert status in (400, 422)
            outcomes["refused"] += 1
            continue
        status, verdict = designer.post(f"/designer/drafts/{draft_id}/validate")
        assert status == 200, (name, verdict)
        assert all(p["message"].strip() for p in verdict["problems"])
        outcomes["valid" if verdict["valid"] else "refused"] += 1
        designer.client.delete(f"/api/v1/designer/drafts/{draft_id}/files/{filename}", headers=designer._headers())
    assert outcomes["valid"] >= 5 and outcomes["refused"] >= 1
