"""The systemd units and the nginx example in deploy/ are ones an operator can install as they
are: each unit parses as INI with what it must have (a dedicated user, the environment file,
restart on failure, a start command that exists in this repository), systemd itself accepts them
where `systemd-analyze` is installed, and nginx proxies to the address gunicorn listens on, over
TLS, with the proxy headers, a static cache and the upload limit."""
from __future__ import annotations

import configparser
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT

SYSTEMD = ROOT / "deploy" / "systemd"
INSTALLED = "/opt/workflow"  # where the units expect the checkout
SERVICES = ["workflow-web.service", "workflow-scheduler@.service", "workflow-backup.service"]


def _unit(name: str) -> configparser.ConfigParser:
    # systemd's syntax is INI; keys are case-sensitive and `%i`/`$MAINPID` are not interpolated
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string((SYSTEMD / name).read_text(encoding="utf-8"))
    return parser


def _in_repository(path: str) -> Path:
    assert path.startswith(INSTALLED + "/"), path
    return ROOT / path[len(INSTALLED) + 1:]


@pytest.mark.parametrize("name", SERVICES)
def test_each_service_runs_as_the_dedicated_user_with_the_environment_file_and_restarts_on_failure(name):
    unit = _unit(name)
    service = unit["Service"]
    assert unit["Unit"]["Description"]
    assert service["User"] == service["Group"] == "workflow"
    assert service["EnvironmentFile"] == "/etc/workflow/workflow.env"
    assert service["Restart"] == "on-failure"
    assert service["WorkingDirectory"] == INSTALLED
    assert _in_repository(shlex.split(service["ExecStart"])[0]).name in {"gunicorn", "flask", "backup.sh"}


def test_the_web_unit_starts_gunicorn_with_the_repositorys_config_and_reloads_gracefully():
    unit = _unit("workflow-web.service")
    command = shlex.split(unit["Service"]["ExecStart"])
    assert command[1:3] == ["-c", f"{INSTALLED}/deploy/gunicorn.conf.py"]
    assert _in_repository(command[2]).is_file()
    assert "HUP" in unit["Service"]["ExecReload"] and unit["Install"]["WantedBy"] == "multi-user.target"


def test_the_scheduler_unit_runs_a_command_the_cli_has(app):
    command = shlex.split(_unit("workflow-scheduler@.service")["Service"]["ExecStart"])
    assert command[1:3] == ["--app", "web"]
    result = app.test_cli_runner().invoke(args=command[3:] + ["--help"])
    assert result.exit_code == 0, result.output


def test_the_backup_runs_the_repositorys_script_nightly():
    script = _in_repository(shlex.split(_unit("workflow-backup.service")["Service"]["ExecStart"])[0])
    assert script.is_file() and script.stat().st_mode & 0o111
    assert _unit("workflow-backup.timer")["Timer"]["OnCalendar"]


def test_systemd_accepts_the_units_as_written(tmp_path):
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    # the units as they would be installed, pointing at this checkout instead of /opt/workflow
    for name in SERVICES + ["workflow-backup.timer"]:
        text = (SYSTEMD / name).read_text(encoding="utf-8").replace(INSTALLED, str(ROOT))
        (tmp_path / name).write_text(text.replace("/etc/workflow/workflow.env",
                                                  str(SYSTEMD / "workflow.env.example")), encoding="utf-8")
    names = ["workflow-web.service", "workflow-scheduler@1.service", "workflow-backup.timer"]
    result = subprocess.run([analyze, "verify", *names], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert not re.search(r"Unknown (key|section|lvalue)", result.stderr), result.stderr


def test_nginx_proxies_to_gunicorns_address_over_tls_with_headers_cache_and_upload_limit():
    conf = (ROOT / "deploy" / "nginx" / "workflow.conf").read_text(encoding="utf-8")
    gunicorn_default = re.search(r'"GUNICORN_BIND"\) or "([^"]+)"',
                                 (ROOT / "deploy" / "gunicorn.conf.py").read_text(encoding="utf-8")).group(1)
    assert re.search(r"upstream workflow_web \{\s*server " + re.escape(gunicorn_default) + ";", conf)
    assert conf.count("proxy_pass http://workflow_web;") >= 2
    assert re.search(r"listen 443 ssl", conf) and "ssl_certificate_key" in conf and "return 301 https://" in conf
    for header in ("Host", "X-Forwarded-For", "X-Forwarded-Proto", "X-Real-IP"):
        assert f"proxy_set_header {header} " in conf
    assert "client_max_body_size 60m;" in conf and "proxy_cache workflow_static;" in conf
    assert conf.count("{") == conf.count("}")
    # the env example's bind is the same address
    assert f"GUNICORN_BIND={gunicorn_default}" in (SYSTEMD / "workflow.env.example").read_text(encoding="utf-8")
