"""Composition root: the engine runtime each request uses, built once per app."""

from __future__ import annotations

from flask import Flask
from flask import current_app

import os

from engine.clock import SystemClock
from engine.documents import DocumentStore
from engine.documents import FolderStore
from engine.documents import store_from_environment
from engine.services.runtime import Runtime
from engine.store.database import Database


def init_app(app: Flask) -> None:
    app.extensions["motcua_runtime_factory"] = lambda: Runtime(
        db=Database(app.config["SQLALCHEMY_DATABASE_URI"]), clock=app.config.get("MOTCUA_CLOCK") or SystemClock(),
        documents=document_store(app))


def document_store(app: Flask) -> DocumentStore:
    """The app's own folder when its configuration names one (tests do), else the environment's
    choice (MOTCUA_S3_BUCKET, MOTCUA_DOCUMENTS_DIR), else instance/documents."""
    if app.config.get("MOTCUA_DOCUMENTS_DIR"):
        return FolderStore(app.config["MOTCUA_DOCUMENTS_DIR"])
    return store_from_environment(os.path.join(app.instance_path, "documents"))


def runtime() -> Runtime:
    rt = current_app.extensions.get("motcua_runtime")
    if rt is None:
        rt = current_app.extensions["motcua_runtime"] = current_app.extensions["motcua_runtime_factory"]()
    return rt
