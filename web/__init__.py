"""Flask delivery: app factory, blueprints, CLI. Views parse input, call one service, render."""

from __future__ import annotations

from typing import Mapping

from flask import Flask

from web.config import load_config
from web.extensions import db


def create_app(config: Mapping | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    load_config(app, config)
    db.init_app(app)
    from web import wiring
    from web.public import bp as public_bp

    wiring.init_app(app)
    app.add_template_filter(_vn_datetime, "vn_datetime")
    app.register_blueprint(public_bp)
    return app


def _vn_datetime(value) -> str:
    from zoneinfo import ZoneInfo

    return value.astimezone(ZoneInfo("Asia/Ho_Chi_Minh")).strftime("%H:%M ngày %d/%m/%Y")
