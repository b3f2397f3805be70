"""Composition root: the engine runtime each request uses, built once per app (reports on
MOTCUA_READ_DATABASE_URL, a read-only replica, when it is set)."""

from __future__ import annotations

import os
import threading

from flask import Flask
from flask import current_app
from flask import g
from flask import has_request_context

from engine.clock import clock_from_env
from engine.documents import DocumentStore
from engine.documents import FolderStore
from engine.documents import store_from_environment
from engine.services.runtime import Runtime
from engine.store.database import Database
from web.extensions import db


def init_app(app: Flask) -> None:
    def build() -> Runtime:
        # The engine is Flask-SQLAlchemy's (web.extensions.db), prepared as every engine of ours is.
        rt = Runtime(
            db=Database(engine=db.engine, report_url=app.config.get("READ_DATABASE_URL") or None),
            clock=app.config.get("MOTCUA_CLOCK") or clock_from_env(),
            documents=document_store(app),
        )
        if app.config.get("COUNT_SQL"):
            rt.db.on_round_trip(_count_one)
            rt.db.on_wait(_count_wait)
        return rt

    app.extensions["motcua_runtime_factory"] = build
    if app.config.get("COUNT_SQL"):
        app.after_request(_statements_header)


def document_store(app: Flask) -> DocumentStore:
    """The app's own folder when its configuration names one (tests do), else the environment's
    choice (MOTCUA_S3_BUCKET, MOTCUA_DOCUMENTS_DIR), else instance/documents."""
    if app.config.get("MOTCUA_DOCUMENTS_DIR"):
        return FolderStore(app.config["MOTCUA_DOCUMENTS_DIR"])
    return store_from_environment(os.path.join(app.instance_path, "documents"))


#: Two threads of one worker (the server's threads) meeting a new app must not both build its
#: runtime: the second one's listeners on the shared engine doubled its statement counts and
#: idle pings, and its caches were built twice.
_BUILDING = threading.Lock()


def runtime() -> Runtime:
    extensions = current_app._get_current_object().extensions  # type: ignore[attr-defined]  # the proxy once
    rt = extensions.get("motcua_runtime")
    if rt is None:
        with _BUILDING:
            rt = extensions.get("motcua_runtime")
            if rt is None:
                rt = extensions["motcua_runtime"] = extensions["motcua_runtime_factory"]()
    return rt


def _count_one() -> None:
    """Count the round trips each request makes to the database (benchmarks/http.py reads them from
    the X-Motcua-Statements header); on only when MOTCUA_COUNT_SQL is set."""
    if has_request_context():
        g.motcua_statements = g.get("motcua_statements", 0) + 1


def _count_wait() -> None:
    """Count the network waits each request makes on the database (X-Motcua-Waits): fewer than its
    round trips where statements travel together (engine.store.deferred_begin)."""
    if has_request_context():
        g.motcua_waits = g.get("motcua_waits", 0) + 1


def _statements_header(response):
    response.headers["X-Motcua-Statements"] = str(g.get("motcua_statements", 0))
    response.headers["X-Motcua-Waits"] = str(g.get("motcua_waits", 0))
    return response
