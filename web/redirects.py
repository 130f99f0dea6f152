"""Where a page may send the browser next (`next` after sign-in, a language switch, a form): only
to a path on this site. Browsers drop tabs and newlines inside a URL and read a backslash as a
slash, so `/\t/evil.example` or `/\\evil.example` would leave the site; anything that is not a
plain local path falls back to the page's default, never to an error."""
from __future__ import annotations

from urllib.parse import urlsplit


def local_path(target: object, fallback: str) -> str:
    """`target` when it is a path on this site (starts with one "/", no scheme, no host, no
    backslash, no control character), else `fallback`."""
    if not isinstance(target, str) or not target.startswith("/") or target.startswith("//"):
        return fallback
    if "\\" in target or any(ord(c) < 0x20 or 0x7f <= ord(c) < 0xa0 for c in target):
        return fallback
    try:
        parts = urlsplit(target)
    except ValueError:
        return fallback
    if parts.scheme or parts.netloc:
        return fallback
    return target


safe_next = local_path
