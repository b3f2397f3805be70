"""Configuration: defaults, then MOTCUA_* environment variables, then a mapping (tests)."""

from __future__ import annotations

import os
import secrets
from typing import Mapping

from flask import Flask

from engine.store.database import default_database_url


def load_config(app: Flask, overrides: Mapping | None) -> None:
    app.config.from_mapping(
        SQLALCHEMY_DATABASE_URI=default_database_url(),
        SQLALCHEMY_ENGINE_OPTIONS={},
        SECRET_KEY=None,
        BABEL_DEFAULT_LOCALE="vi",
    )
    app.config.from_prefixed_env("MOTCUA")
    if overrides:
        app.config.from_mapping(overrides)
    if not app.config.get("SECRET_KEY"):
        if os.environ.get("MOTCUA_ENV") == "production":
            raise RuntimeError("set MOTCUA_SECRET_KEY: production refuses to start with a generated key")
        # Development only: a fresh key per start (sessions do not survive a restart).
        app.config["SECRET_KEY"] = secrets.token_hex(32)
