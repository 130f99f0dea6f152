"""Front-end packages served straight from node_modules/ (installed by `make install` with
`npm ci` from package-lock.json): no CDN, no build step, no copies in git. Only the files named
in `ASSETS` are reachable, under /assets/NAME; anything else in node_modules/ is a 404, so the
route can never become a way to read the server's files. Add a line to `ASSETS` to publish
another file of an installed package."""
from __future__ import annotations

import logging
from pathlib import Path

from flask import Blueprint, abort, send_from_directory, url_for

NODE_MODULES = Path(__file__).resolve().parent.parent / "node_modules"

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
    # versioned by package-lock through asset_url(), so browsers may keep them a day
    return send_from_directory(NODE_MODULES, relative, max_age=86400)


def asset_url(name: str) -> str:
    """URL of a published asset, with the lock file's mtime so an upgrade busts caches."""
    if name not in ASSETS:
        raise KeyError(f"asset {name!r} is not published in web/assets.py")
    lock = NODE_MODULES / ".package-lock.json"
    version = int(lock.stat().st_mtime) if lock.exists() else 0
    return url_for("assets.asset", name=name, v=version)


def register(app) -> None:  # type: ignore[no-untyped-def]
    app.register_blueprint(assets)
    app.jinja_env.globals["asset_url"] = asset_url
    if not NODE_MODULES.is_dir():
        app.logger.warning("node_modules/ is missing: run `make install` to install the front-end packages")
