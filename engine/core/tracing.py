"""The request id: one short string naming the piece of work in progress (an HTTP request, a
scheduler pass), kept in a context variable so that whatever runs on its behalf, the command's
audit events and every log line, carries it without being handed it. An id that comes from
outside (a proxy's X-Request-Id) is kept only when it is a plain token of bounded length, so
that it can neither forge log lines nor grow without limit."""
from __future__ import annotations

import contextlib
import re
import uuid
from contextvars import ContextVar
from typing import Iterator

MAX_LENGTH = 64
_PLAIN = re.compile(r"[A-Za-z0-9._:@-]{1,%d}" % MAX_LENGTH)
_current: ContextVar[str | None] = ContextVar("request_id", default=None)


def new_id(prefix: str = "") -> str:
    return prefix + uuid.uuid4().hex


def accepted(offered: str | None) -> str | None:
    """`offered` when it is a plain token an id may be, else None (a new one is made)."""
    return offered if offered and _PLAIN.fullmatch(offered) else None


def current() -> str | None:
    """The id of the work running in this context, if any."""
    return _current.get()


@contextlib.contextmanager
def bound(request_id: str) -> Iterator[str]:
    """Run the enclosed code as the work `request_id`."""
    token = _current.set(request_id)
    try:
        yield request_id
    finally:
        _current.reset(token)


def bind(request_id: str) -> object:
    """Set the id until `unbind(token)`, for hooks that open and close apart (before and after
    a request)."""
    return _current.set(request_id)


def unbind(token: object) -> None:
    _current.reset(token)  # type: ignore[arg-type]
