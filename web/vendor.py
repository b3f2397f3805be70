"""The browser builds of the front-end packages in package.json, served from node_modules.

Only the listed folders are reachable, so nothing else of node_modules is exposed."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint
from flask import abort
from flask import send_from_directory

NODE_MODULES = Path(__file__).resolve().parents[1] / "node_modules"
SERVED = {
    "htmx": "htmx.org/dist",
    "bpmn-js": "bpmn-js/dist",
    "dmn-js": "dmn-js/dist",
    "chart.js": "chart.js/dist",
}

bp = Blueprint("vendor", __name__, url_prefix="/vendor")


@bp.get("/<package>/<path:filename>")
def asset(package: str, filename: str):
    folder = SERVED.get(package)
    if folder is None:
        abort(404)
    return send_from_directory(NODE_MODULES / folder, filename, max_age=86400)
