"""Deployment through the API and the CLI: good files deploy atomically and are versioned by
content; bad and hostile files are refused quickly with a clear, element-level message, and
nothing at all is deployed."""
from __future__ import annotations

import io
import time

import pytest

from tests.conftest import FIXTURES, ROOT

GOOD = ("bpmn/simple_review.bpmn", "forms/simple_decision.form")

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE definitions [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="x">
  <bpmn:process id="p" name="&xxe;" isExecutable="true"><bpmn:startEvent id="s"/></bpmn:process>
</bpmn:definitions>"""

LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
<!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
<!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
<!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
<!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
<!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="x">
  <bpmn:process id="p" name="&lol9;" isExecutable="true"><bpmn:startEvent id="s"/></bpmn:process>
</bpmn:definitions>"""


def _variant(old: str, new: str, name: str = "bpmn/simple_review.bpmn") -> bytes:
    return (FIXTURES / name).read_bytes().replace(old.encode(), new.encode())


DANGLING = _variant('<bpmn:sequenceFlow id="f3" sourceRef="record" targetRef="end" />',
                    '<bpmn:sequenceFlow id="f3" sourceRef="record" targetRef="nowhere" />')
UNKNOWN_FORM = _variant('camunda:formKey="simple_decision"', 'camunda:formKey="no_such_form"')
IMPORTING_SCRIPT = _variant('recorded = decision + "-recorded"', 'import os\nrecorded = os.getcwd()')
ESCAPING_EXPR = _variant('camunda:candidateGroups="reviewers"',
                         'camunda:candidateGroups="${().__class__.__base__.__subclasses__()}"')


def _post_files(user, files):  # type: ignore[no-untyped-def]
    data = {"files": [(io.BytesIO(content), name) for name, content in files]}
    return user.post("/process-definitions", data=data, content_type="multipart/form-data")


@pytest.fixture
def designer(api):  # type: ignore[no-untyped-def]
    return api("dora", ["designers"])


def _good_files() -> list[tuple[str, bytes]]:
    return [(name.split("/")[-1], (FIXTURES / name).read_bytes()) for name in GOOD]


def test_a_designer_deploys_and_unchanged_content_keeps_its_version(designer):
    status, body = _post_files(designer, _good_files())
    assert status == 201
    assert {"key": "simple_review", "version": 1, "kind": "process", "changed": True} in body
    status, body = _post_files(designer, _good_files())
    assert status == 201 and {"key": "simple_review", "version": 1, "kind": "process", "changed": False} in body
    status, listed = designer.get("/process-definitions")
    assert [(d["key"], d["version"]) for d in listed] == [("simple_review", 1)]


def test_changed_content_gets_the_next_version(designer):
    _post_files(designer, _good_files())
    changed = [("simple_review.bpmn", _variant('name="Simple review"', 'name="Simple review, revised"')),
               _good_files()[1]]
    status, body = _post_files(designer, changed)
    assert status == 201 and {"key": "simple_review", "version": 2, "kind": "process", "changed": True} in body


def test_only_designers_may_deploy(api):
    reviewer = api("rita", ["reviewers"])
    assert _post_files(reviewer, _good_files())[0] == 403


@pytest.mark.timeout(20)
@pytest.mark.parametrize("name, content, expected", [
    ("xxe.bpmn", XXE, "DOCTYPE"),
    ("laughs.bpmn", LAUGHS, "DOCTYPE"),
    ("huge.bpmn", b"<x>" + b" " * (50 * 1024 * 1024) + b"</x>", "limit"),
    ("dangling.bpmn", DANGLING, "nowhere"),
    ("unknown_form.bpmn", UNKNOWN_FORM, "no_such_form"),
    ("importing.bpmn", IMPORTING_SCRIPT, "import"),
    ("escaping.bpmn", ESCAPING_EXPR, "__class__"),
    ("broken.bpmn", b"<bpmn:definitions xmlns:bpmn='http://www.omg.org/spec/BPMN/20100524/MODEL'><oops>", "well-formed"),
    ("notes.txt", b"hello", "unsupported"),
])
def test_bad_and_hostile_files_are_refused_quickly_and_nothing_is_deployed(designer, name, content, expected):
    started = time.monotonic()
    # given a good form beside the bad file: all or nothing means the form is not deployed either
    status, body = _post_files(designer, [(name, content), _good_files()[1]])
    elapsed = time.monotonic() - started
    assert status == 422, body
    problems = body["error"]["fields"]["problems"]
    text = " ".join(p["message"] for p in problems)
    assert expected.lower() in text.lower(), problems
    assert "root:" not in text  # the XXE never read /etc/passwd
    assert designer.get("/process-definitions")[1] == []
    assert elapsed < 10, f"refusal took {elapsed:.1f}s"


def test_problems_name_the_element_and_line(designer):
    status, body = _post_files(designer, [("unknown_form.bpmn", UNKNOWN_FORM), _good_files()[1]])
    [problem] = [p for p in body["error"]["fields"]["problems"] if "no_such_form" in p["message"]]
    assert problem["element_id"] == "review" and problem["line"] and problem["file"] == "unknown_form.bpmn"


def test_one_bad_file_among_good_ones_deploys_nothing(designer):
    files = _good_files() + [("dangling.bpmn", DANGLING.replace(b'id="simple_review"', b'id="other"'))]
    assert _post_files(designer, files)[0] == 422
    assert designer.get("/process-definitions")[1] == []


def test_cli_validate_prints_file_line_and_element_and_exits_1(runner, tmp_path):
    bad = tmp_path / "unknown_form.bpmn"
    bad.write_bytes(UNKNOWN_FORM)
    result = runner.invoke(args=["processes", "validate", str(bad), str(FIXTURES / "forms")])
    assert result.exit_code == 1
    assert "unknown_form.bpmn:" in result.output and "[review]" in result.output


def test_cli_validate_on_a_fresh_machine_checks_the_files_on_their_own_and_says_so(tmp_path):
    import subprocess
    import sys
    # given no migrated database (a fresh machine: the SQLite file does not exist yet)
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'never-migrated.sqlite3'}", "PATH": "/usr/bin:/bin"}
    flask = [sys.executable, "-m", "flask", "--app", "web", "processes", "validate"]
    # when the real processes and forms are validated, then they are valid, with a note
    good = subprocess.run(flask + [str(ROOT / "processes"), str(ROOT / "forms")], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert good.returncode == 0, good.stderr
    assert "file(s) valid" in good.stdout and "no migrated database here" in good.stderr
    assert "Traceback" not in good.stderr
    # and a stage that calls processes not among the files is refused with the element named
    alone = subprocess.run(flask + [str(ROOT / "processes" / "project_lifecycle.bpmn")], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=300)
    assert alone.returncode == 1 and "neither in these files nor deployed" in alone.stderr + alone.stdout


def test_cli_deploy_and_list_the_real_processes(runner):
    result = runner.invoke(args=["processes", "deploy", str(ROOT / "processes"), str(ROOT / "forms")])
    assert result.exit_code == 0, result.output
    assert "process application_formal_review version 1" in result.output
    again = runner.invoke(args=["processes", "deploy", str(ROOT / "processes"), str(ROOT / "forms")])
    assert "version 1 (unchanged)" in again.output
    listed = runner.invoke(args=["processes", "list"])
    assert "application_formal_review" in listed.output and "version 1" in listed.output


def test_cli_deploy_of_a_bad_file_exits_1_and_deploys_nothing(runner, tmp_path):
    bad = tmp_path / "dangling.bpmn"
    bad.write_bytes(DANGLING)
    result = runner.invoke(args=["processes", "deploy", str(bad), str(FIXTURES / "forms")])
    assert result.exit_code == 1 and "nothing was deployed" in result.output
    assert "no process is deployed yet" in runner.invoke(args=["processes", "list"]).output


def test_cli_users_create(runner, db):
    from engine.core import commands, users
    result = runner.invoke(args=["users", "create", "li", "--password", "Lantern-Orchard-42", "--groups",
                                 "reviewers,experts", "--org", "Bureau", "--email", "li@example.org",
                                 "--display-name", "Li Lei"])
    assert result.exit_code == 0, result.output
    user = commands.query(db, users.find, "li")
    assert user.group_names == {"reviewers", "experts"} and user.org == "Bureau"
    again = runner.invoke(args=["users", "create", "li", "--password", "Lantern-Orchard-42"])
    assert again.exit_code == 1 and "already exists" in again.output
