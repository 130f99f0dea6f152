"""Assets are cached for a year under URLs that change with their content, so that pages do not
revalidate app.css and app.js on every visit; and the site has its own favicon (no 404 on
every page). Through the Flask test client."""
from __future__ import annotations

import hashlib
import re
from pathlib import Path

from web.assets import ASSETS, NODE_MODULES

from .conftest import PASSWORD, csrf_from

STATIC = Path(__file__).resolve().parents[2] / "web" / "static"
FOREVER = "public, max-age=31536000, immutable"


def _signed_in(client):  # type: ignore[no-untyped-def]
    token = csrf_from(client.get("/login").get_data(as_text=True))
    client.post("/login", data={"csrf_token": token, "username": "wang", "password": PASSWORD})
    return client


def test_every_asset_url_of_a_page_names_its_content_and_is_cached_for_a_year(client, people):
    # given a signed-in page
    html = _signed_in(client).get("/inbox").get_data(as_text=True)
    urls = re.findall(r'(?:href|src)="(/(?:static|assets)/[^"?]+)\?v=([0-9a-f]{12})"', html)
    # then app.css, app.js, htmx and the icon are all versioned by their content's hash
    names = {url.rsplit("/", 1)[1] for url, _ in urls}
    assert {"app.css", "app.js", "htmx.min.js", "favicon.svg"} <= names
    for url, version in urls:
        path = STATIC / url[len("/static/"):] if url.startswith("/static/") else NODE_MODULES / ASSETS[url[len("/assets/"):]]
        assert version == hashlib.sha256(path.read_bytes()).hexdigest()[:12], url
        # and served with a year's lifetime, never revalidated
        response = client.get(f"{url}?v={version}")
        assert response.status_code == 200 and response.headers["Cache-Control"] == FOREVER, url


def test_an_unversioned_or_outdated_asset_url_is_revalidated(client):
    # when a URL without the current hash is asked for (an old page, a hand-typed URL)
    for url in ("/static/css/app.css", "/static/css/app.css?v=000000000000", "/assets/htmx.min.js?v=1"):
        response = client.get(url)
        # then it is still served, but must be revalidated rather than kept
        assert response.status_code == 200 and response.headers["Cache-Control"] == "no-cache", url


def test_the_site_has_its_own_favicon_where_browsers_look(client):
    # when a browser asks for /favicon.ico, signed in or not
    response = client.get("/favicon.ico")
    # then it gets our SVG mark, not a 404
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    assert b"<svg" in response.data and response.data == (STATIC / "favicon.svg").read_bytes()
    # and the sign-in page names it too
    assert 'rel="icon"' in client.get("/login").get_data(as_text=True)
