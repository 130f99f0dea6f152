"""Real BPMN written by others (the BPMN MIWG suite and SpiffWorkflow's own test models in
../shared/bpmn-corpus): every file either validates or is refused with problems that name the
file, never a crash."""
from __future__ import annotations

import csv

import pytest

from engine.definitions.validation import validate_sources
from tests.conftest import SHARED

CORPUS = SHARED / "bpmn-corpus"
MANIFEST = CORPUS / "manifest.csv"


def _rows() -> list[dict[str, str]]:
    if not MANIFEST.exists():
        return []
    with MANIFEST.open(newline="") as handle:
        return [r for r in csv.DictReader(handle) if r["file"].endswith(".bpmn")]


@pytest.mark.skipif(not MANIFEST.exists(), reason="../shared/bpmn-corpus is not present")
@pytest.mark.parametrize("row", _rows(), ids=lambda r: r["file"])
def test_every_corpus_file_validates_or_is_refused_with_a_clear_message(row):
    path = CORPUS / row["file"]
    bundle = validate_sources([(path.name, path.read_bytes())])
    for problem in bundle.problems:
        assert problem.file and problem.message.strip()
    if row["xsd_valid_omg"] == "valid" and row["executable_process_ids"] and \
            row["parses_CamundaParser"].startswith("ok") and not bundle.problems:
        assert {p.key for p in bundle.processes} <= set(row["executable_process_ids"].split())


def test_the_corpus_has_files_that_deploy_cleanly():
    rows = _rows()
    if not rows:
        pytest.skip("../shared/bpmn-corpus is not present")
    clean = [r for r in rows if not validate_sources(
        [((CORPUS / r["file"]).name, (CORPUS / r["file"]).read_bytes())]).problems]
    assert len(clean) >= 5, "expected several corpus files to pass every check"
