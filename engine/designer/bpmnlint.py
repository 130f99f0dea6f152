"""bpmnlint in the designer: the recommended rules of bpmn.io's linter plus the bureau's own
(lint/bpmnlint-plugin-scitech: every user task has a form, a role and a due date; names in both
languages), run by Node.js (lint/lint.cjs, one process per call) over a draft's BPMN files.
Findings are advice shown beside the validation findings in the editor; the deployment pipeline
(engine/definitions/validation.py) alone decides what may be deployed. Without Node.js or the installed
packages, linting says it is unavailable instead of failing the validation."""
from __future__ import annotations

import json
import logging
import shutil
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "lint" / "lint.cjs"
TIMEOUT_SECONDS = 30
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Finding:
    file: str
    rule: str
    element_id: str | None
    message: str
    category: str  # bpmnlint's: error, warn, info (all advice here)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def lint(files: dict[str, str]) -> tuple[list[Finding], str | None]:
    """(findings, None), or ([], why linting is unavailable)."""
    # a file with a DTD is refused by validation anyway, and is never handed to another parser
    bpmn = {name: text for name, text in files.items()
            if name.lower().endswith(".bpmn") and "<!DOCTYPE" not in text and "<!ENTITY" not in text}
    if not bpmn:
        return [], None
    node = shutil.which("node")
    if node is None or not (ROOT / "node_modules" / "bpmnlint").is_dir():
        return [], "bpmnlint is not installed (Node.js and `make install` are needed)"
    try:
        run = subprocess.run([node, str(SCRIPT)], input=json.dumps(bpmn), capture_output=True, text=True,
                             timeout=TIMEOUT_SECONDS, cwd=ROOT, check=False)
    except subprocess.TimeoutExpired:
        return [], f"bpmnlint took longer than {TIMEOUT_SECONDS} s"
    if run.returncode != 0:
        log.warning("bpmnlint failed: %s", run.stderr[-2000:])
        return [], "bpmnlint failed: " + (run.stderr.strip().splitlines() or ["no output"])[-1]
    return [Finding(r["file"], r["rule"], r.get("id"), r["message"], r.get("category") or "warn")
            for r in json.loads(run.stdout or "[]")], None
