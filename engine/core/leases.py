"""Exactly-once claims for the scheduler's work, so that two scheduler processes on one database
never send the same reminder, take the same escalation step or deliver the same e-mail twice.

Two mechanisms, one per kind of work:

- Database work (a reminder, an escalation step, a stuck mark) is claimed and done in ONE
  transaction. On PostgreSQL the due rows are selected `FOR UPDATE SKIP LOCKED`: a second
  scheduler skips the rows the first holds and takes the next ones, and once the first commits
  the rows are no longer due. On SQLite every write transaction starts with `BEGIN IMMEDIATE`
  (engine/core/db.py), the database's single-writer lock: a second scheduler waits for the lock and
  then finds the rows already advanced. Either way the claim and the step commit together, so a
  crash leaves the row due and the step is done by the next pass, never twice.
- Work that leaves the database (an SMTP delivery) cannot sit inside a transaction, so it takes a
  lease: the row gets an owner and an expiry in a short transaction, the work is done, and the
  result is written only if the lease is still the owner's. A scheduler that dies mid-delivery
  leaves a lease that expires, and the e-mail is retried."""
from __future__ import annotations

import os
import socket
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import Select
from sqlalchemy.orm import Session

# long enough for an SMTP conversation with a slow server, short enough that a crashed
# scheduler's e-mails go out again within minutes
MAIL_LEASE = timedelta(minutes=5)

_OWNER = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def owner_id() -> str:
    """This process's name as a lease owner: host, pid and a random part (pids are reused)."""
    return _OWNER


def claim_rows(session: Session, stmt: Select[Any], of: Any = None) -> Select[Any]:
    """`stmt` made into a claim of the rows it selects, for the current transaction: `FOR UPDATE
    SKIP LOCKED` on PostgreSQL (`of` names the tables to lock in a join); unchanged on SQLite,
    whose write transactions already hold the database's single-writer lock."""
    if session.get_bind().dialect.name == "postgresql":
        return stmt.with_for_update(skip_locked=True, of=of)
    return stmt
