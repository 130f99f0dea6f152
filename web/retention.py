"""History-retention settings of the app, read from its configuration or the environment:
`ARCHIVE_DIR` (where archive files go; default instance/archive) and `ARCHIVE_AFTER_DAYS`
(ended instances older than this many days are archived; default 365)."""
from __future__ import annotations

import os
from pathlib import Path

from flask import Flask, current_app

from engine.supervision.archive import DEFAULT_AFTER_DAYS


def archive_dir(app: Flask | None = None) -> Path:
    app = app or current_app
    configured = app.config.get("ARCHIVE_DIR") or os.environ.get("ARCHIVE_DIR")
    return Path(configured) if configured else Path(app.instance_path) / "archive"


def archive_after_days(app: Flask | None = None) -> int:
    app = app or current_app
    value = app.config.get("ARCHIVE_AFTER_DAYS") or os.environ.get("ARCHIVE_AFTER_DAYS")
    try:
        return int(value) if value not in (None, "") else DEFAULT_AFTER_DAYS
    except ValueError:
        raise ValueError(f"ARCHIVE_AFTER_DAYS must be a whole number of days, not {value!r}") from None
