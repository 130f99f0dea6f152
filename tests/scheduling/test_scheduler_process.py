"""`flask --app web scheduler run`: the long-running process (APScheduler, its job kept in the
application's database) does real passes at real time and e-mails what is due."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import text

from .support import start

ROOT = Path(__file__).resolve().parents[2]


def test_the_scheduler_process_runs_passes_with_its_job_in_the_database(db, database_url, deploy_process,
                                                                         person, smtp):
    box, mail = smtp
    # given a review that has been overdue for a long time
    deploy_process("sla_review", {"dueWorkingDays": "1", "escalationAction": "none"})
    person("erin", ("experts",))
    start(db, "sla_review", "2025-09-29 10:00", {"expert": "erin"})
    # when the scheduler process runs
    env = {**os.environ, "DATABASE_URL": database_url, "SMTP_HOST": mail.host,
           "SMTP_PORT": str(mail.port), "MAIL_LANGUAGE": "en", "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen([str(Path(sys.executable).with_name("flask")), "--app", "web", "scheduler",
                                "run", "--interval", "2"], cwd=ROOT, env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while not box.messages and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.2)
        with db.engine.connect() as conn:
            jobs = conn.execute(text("SELECT id FROM apscheduler_jobs")).scalars().all()
        beats = _heartbeats(db, deadline)
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=30)
    # then its first pass sent erin the overdue notice, and its job is kept in the database
    assert [m["Subject"] for m in box.messages] == ["Task overdue: Expert review"], output
    assert jobs == ["scheduler-pass"]
    assert "scheduler running, a pass every 2 s, e-mail via 127.0.0.1" in output
    assert "1 overdue notice(s)" in output and "scheduler stopped" in output
    # and it told it through logging, one JSON object per line, each pass under its own request id
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    told = [entry for entry in lines if entry["logger"] == "engine.scheduling.scheduler"]
    assert told and all(entry["level"] in ("INFO", "WARNING") for entry in told)
    assert any(e["message"].startswith("tick at") and e["request_id"].startswith("pass-") for e in told)
    # and while it ran it kept a heartbeat row with its passes, removed when it stopped cleanly
    assert len(beats) == 1 and beats[0].pid == process.pid and beats[0].passes >= 1
    assert beats[0].pass_seconds is not None and beats[0].lag_seconds is not None
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM scheduler_heartbeats")).scalar() == 0


def _heartbeats(db, deadline: float) -> list:  # type: ignore[no-untyped-def, type-arg]
    """The heartbeat rows once a pass has ended (the e-mail goes out before the pass's last beat)."""
    from engine.core import commands
    from engine.scheduling import heartbeat
    while True:
        beats = commands.query(db, heartbeat.schedulers)
        if any(b.pass_ended_at for b in beats) or time.monotonic() > deadline:
            return beats
        time.sleep(0.2)
