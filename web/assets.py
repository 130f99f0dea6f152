"""Front-end packages served straight from node_modules/ (installed by `make install` with
`npm ci` from package-lock.json): no CDN, no build step, no copies in git. Only the files named
in `ASSETS` are reachable, under /assets/NAME; anything else in node_modules/ is a 404, so the
route can never become a way to read the server's files. Add a line to `ASSETS` to publish
another file of an installed package.

Caching: every URL of an asset and of web/static/ carries the first 12 hex digits of the file's
SHA-256 (`?v=`, added by `asset_url` and by `url_for('static', ...)` itself), so a changed file has
a new URL and browsers may keep each version for a year without asking again
(`Cache-Control: public, max-age=31536000, immutable`). A request without the current hash (an
old page, a hand-typed URL) is answered with `no-cache`, so it is revalidated. The favicon is our
own SVG at /favicon.ico too, where browsers look without being told."""
from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, Response, abort, request, send_from_directory, url_for

NODE_MODULES = Path(__file__).resolve().parent.parent / "node_modules"
STATIC = Path(__file__).resolve().parent / "static"
FOREVER = "public, max-age=31536000, immutable"
_HASHES: dict[Path, tuple[int, int, str]] = {}

# public name -> path inside node_modules/
ASSETS: dict[str, str] = {
    "htmx.min.js": "htmx.org/dist/htmx.min.js",
    "bpmn-navigated-viewer.js": "bpmn-js/dist/bpmn-navigated-viewer.production.min.js",
    "bpmn-viewer.js": "bpmn-js/dist/bpmn-viewer.production.min.js",
    "bpmn-modeler.js": "bpmn-js/dist/bpmn-modeler.production.min.js",
    "diagram-js.css": "bpmn-js/dist/assets/diagram-js.css",
    "bpmn-js.css": "bpmn-js/dist/assets/bpmn-js.css",
    "bpmn-font.css": "bpmn-js/dist/assets/bpmn-font/css/bpmn-embedded.css",
    "form-viewer.js": "@bpmn-io/form-js/dist/form-viewer.umd.js",
    "form-editor.js": "@bpmn-io/form-js/dist/form-editor.umd.js",
    "form-js.css": "@bpmn-io/form-js/dist/assets/form-js.css",
    "form-js-editor.css": "@bpmn-io/form-js/dist/assets/form-js-editor.css",
    "chart.umd.js": "chart.js/dist/chart.umd.min.js",
    # the designer's modeler: the Camunda 7 properties panel and its moddle extension
    "bpmn-properties-panel.js": "bpmn-js-properties-panel/dist/bpmn-js-properties-panel.umd.js",
    "properties-panel.css": "@bpmn-io/properties-panel/dist/assets/properties-panel.css",
    "camunda-moddle.json": "camunda-bpmn-moddle/resources/camunda.json",
    # the designer's decision-table editor
    "dmn-modeler.js": "dmn-js/dist/dmn-modeler.production.min.js",
    "dmn-js-diagram.css": "dmn-js/dist/assets/diagram-js.css",
    "dmn-js-shared.css": "dmn-js/dist/assets/dmn-js-shared.css",
    "dmn-js-drd.css": "dmn-js/dist/assets/dmn-js-drd.css",
    "dmn-js-decision-table.css": "dmn-js/dist/assets/dmn-js-decision-table.css",
    "dmn-js-decision-table-controls.css": "dmn-js/dist/assets/dmn-js-decision-table-controls.css",
    "dmn-js-literal-expression.css": "dmn-js/dist/assets/dmn-js-literal-expression.css",
    "dmn-font.css": "dmn-js/dist/assets/dmn-font/css/dmn-embedded.css",
    # accessibility checks: the browser tests inject it (tests/web/test_accessibility.py)
    "axe.min.js": "axe-core/axe.min.js",
}

assets = Blueprint("assets", __name__)
log = logging.getLogger(__name__)


@assets.get("/assets/<path:name>")
def asset(name: str):  # type: ignore[no-untyped-def]
    relative = ASSETS.get(name)
    if relative is None:
        abort(404)
    if not (NODE_MODULES / relative).is_file():
        log.error("asset %s is missing: run `make install` (npm ci) to install node_modules/", name)
        abort(404)
    return _cached(send_from_directory(NODE_MODULES, relative), NODE_MODULES / relative)


@assets.get("/favicon.ico")
def favicon():  # type: ignore[no-untyped-def]
    """Browsers ask here on every site; our own mark, so that it is never a 404."""
    response = send_from_directory(STATIC, "favicon.svg", mimetype="image/svg+xml")
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response


def version_of(path: Path) -> str:
    """The first 12 hex digits of the file's SHA-256, computed again only when it changed."""
    stat = path.stat()
    known = _HASHES.get(path)
    if known is None or known[:2] != (stat.st_mtime_ns, stat.st_size):
        known = (stat.st_mtime_ns, stat.st_size, hashlib.sha256(path.read_bytes()).hexdigest()[:12])
        _HASHES[path] = known
    return known[2]


def asset_url(name: str) -> str:
    """URL of a published asset, versioned by its content."""
    if name not in ASSETS:
        raise KeyError(f"asset {name!r} is not published in web/assets.py")
    path = NODE_MODULES / ASSETS[name]
    return url_for("assets.asset", name=name, v=version_of(path) if path.is_file() else "0")


def _cached(response: Response, path: Path) -> Response:
    """A year for the current version's URL, revalidation for any other."""
    current = path.is_file() and request.args.get("v") == version_of(path)
    response.headers["Cache-Control"] = FOREVER if current else "no-cache"
    if current:
        response.headers.pop("ETag", None)  # immutable: nothing to revalidate
    return response


def _static_version(endpoint: str, values: dict[str, Any]) -> None:
    if endpoint == "static" and "filename" in values and "v" not in values:
        path = STATIC / values["filename"]
        if path.is_file():
            values["v"] = version_of(path)


def _static_headers(response: Response) -> Response:
    if request.endpoint == "static" and response.status_code == 200 and request.view_args:
        _cached(response, STATIC / request.view_args["filename"])
    return response


def register(app: Flask) -> None:
    app.register_blueprint(assets)
    app.jinja_env.globals["asset_url"] = asset_url
    app.url_defaults(_static_version)
    app.after_request(_static_headers)
    if not NODE_MODULES.is_dir():
        app.logger.warning("node_modules/ is missing: run `make install` to install the front-end packages")
