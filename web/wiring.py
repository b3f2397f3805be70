"""Composition root: the engine runtime each request uses, built once per app (reports on
MOTCUA_READ_DATABASE_URL, a read-only replica, when it is set)."""

from __future__ import annotations

from flask import Flask
from flask import current_app

from engine.clock import SystemClock
from engine.services.runtime import Runtime
from engine.store.database import Database


def init_app(app: Flask) -> None:
    app.extensions["motcua_runtime_factory"] = lambda: Runtime(
        db=Database(app.config["SQLALCHEMY_DATABASE_URI"], report_url=app.config.get("READ_DATABASE_URL") or None),
        clock=app.config.get("MOTCUA_CLOCK") or SystemClock())


def runtime() -> Runtime:
    rt = current_app.extensions.get("motcua_runtime")
    if rt is None:
        rt = current_app.extensions["motcua_runtime"] = current_app.extensions["motcua_runtime_factory"]()
    return rt
