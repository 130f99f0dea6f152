"""Protections every page gets: CSRF tokens on every form and htmx request (Flask-WTF; the
REST API is exempt because it authenticates with bearer tokens, not cookies) and the security
headers (a strict Content-Security-Policy with no inline scripts, no framing, no sniffing, no
referrer leaks to other sites). Behind a reverse proxy, PROXY_FIX (environment or config) is the
number of proxies to trust: their X-Forwarded-For/-Proto/-Host then give the client's address
(which the sign-in throttle keys on) and whether it came over HTTPS (Secure cookie, HSTS).
Without it those headers are ignored, since any client could send them."""
from __future__ import annotations

import os

from flask import Flask, Response, request
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

csrf = CSRFProtect()

CSP = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    # bpmn-js and htmx set style attributes; no inline <style> of ours relies on this
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "frame-ancestors 'none'",
    "form-action 'self'",
    "base-uri 'self'",
    "object-src 'none'",
])

# For designer-written markup that a script fetches as text (the instance's BPMN XML): a
# download and a sandboxed one, never a document of our origin, even when opened directly.
NOT_A_DOCUMENT = {"Content-Disposition": 'attachment; filename="diagram.bpmn"',
                  "X-Content-Type-Options": "nosniff",
                  "Content-Security-Policy": "default-src 'none'; sandbox"}


# every answer's headers, unless the view set its own (the diagram's NOT_A_DOCUMENT)
_ALWAYS = (("Content-Security-Policy", CSP), ("X-Content-Type-Options", "nosniff"),
           ("X-Frame-Options", "DENY"), ("Referrer-Policy", "same-origin"),
           ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
           ("Cross-Origin-Opener-Policy", "same-origin"))


def _headers(response: Response) -> Response:
    headers = response.headers
    # the names present, read once: `setdefault` per header scanned the list and raised and
    # caught a KeyError for each missing one, on every answer (a tenth of an API call's overhead)
    present = {name.lower() for name, _value in headers.items()}
    for name, value in _ALWAYS:
        if name.lower() not in present:
            headers.add(name, value)
    if "strict-transport-security" not in present and request.is_secure:
        headers.add("Strict-Transport-Security", "max-age=31536000")
    if "cache-control" not in present and response.mimetype == "text/html":
        # pages show personal data: never from a shared cache or the back button after sign-out
        headers.add("Cache-Control", "no-store")
    return response


def init_app(app: Flask, api_blueprint) -> None:  # type: ignore[no-untyped-def]
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # the token lives as long as the session
    csrf.init_app(app)
    csrf.exempt(api_blueprint)
    app.after_request(_headers)
    app.before_request(_refuse_nul_characters)
    proxies = int(app.config.get("PROXY_FIX") or os.environ.get("PROXY_FIX") or 0)
    if proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)  # type: ignore[method-assign]


def _refuse_nul_characters() -> None:
    """No field of ours holds a NUL character, and PostgreSQL cannot store or even compare one:
    a request carrying it (in the query, a form or a JSON body) is malformed, refused before any
    view reads it, so it never reaches the database as a 500."""
    from flask import abort
    current = request._get_current_object()  # type: ignore[attr-defined]  # one proxy lookup, not eight
    # no query string, no arguments: parsing an empty one for nothing cost every API call
    values = [*current.args.keys(), *current.args.values()] if current.query_string else []
    if current.method != "GET" and current.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        values += [*current.form.keys(), *current.form.values()]
    if any("\x00" in value for value in values) or (
            current.is_json and b"\\u0000" in (current.get_data(cache=True) or b"")):
        abort(400, description="the request holds a NUL character, which no field accepts")
