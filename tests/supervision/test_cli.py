"""The `supervisor` CLI group: the attention list for operators, and bulk interventions with a
preview, a confirmation and a report of each failure."""
from __future__ import annotations

from datetime import timedelta

from .helpers import MONDAY, complete, plan, start, state_of


def test_the_cli_lists_what_needs_attention(processes, runner, tmp_path):
    failing = start(processes, "grant", {"title": "Broken budget"})
    complete(processes, failing, plan("Broken budget", years=0), MONDAY + timedelta(hours=1))
    result = runner.invoke(args=["supervisor", "attention", "--kind", "error"])
    assert result.exit_code == 0, result.output
    assert "Broken budget" in result.output and "grant/per_year" in result.output
    result = runner.invoke(args=["supervisor", "attention", "--format", "xlsx"])
    assert result.exit_code != 0 and "--output" in result.output
    target = tmp_path / "attention.xlsx"
    result = runner.invoke(args=["supervisor", "attention", "--format", "xlsx", "--output", str(target)])
    assert result.exit_code == 0 and target.read_bytes()[:2] == b"PK"


def test_the_cli_previews_then_runs_a_bulk_suspension(processes, runner):
    ids = [start(processes, "grant", {"title": f"P{n}"}) for n in range(2)]
    args = ["supervisor", "bulk", "suspend", "--as", "boss", "--reason", "audit", "--process-key", "grant"]
    result = runner.invoke(args=args + ["--dry-run"])
    assert result.exit_code == 0 and "2 of 2 instance(s) would change" in result.output
    assert [state_of(processes, i) for i in ids] == ["running", "running"]
    result = runner.invoke(args=args, input="n\n")
    assert [state_of(processes, i) for i in ids] == ["running", "running"]
    result = runner.invoke(args=args + ["--yes"])
    assert result.exit_code == 0 and "2 done, 0 failed" in result.output
    assert [state_of(processes, i) for i in ids] == ["suspended", "suspended"]
    # a non-supervisor is refused
    result = runner.invoke(args=["supervisor", "bulk", "resume", "--as", "olga", "--reason", "x", "--ids", str(ids[0])])
    assert result.exit_code == 1 and "supervisors" in result.output
