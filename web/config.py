"""Configuration: defaults, then MOTCUA_* environment variables, then a mapping (tests)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path

from flask import Flask

from engine import secret_box
from engine.store.database import DEFAULT_STATEMENT_TIMEOUT_MS
from engine.store.database import default_database_url
from engine.store.database import engine_options
from engine.store.database import normalise_url

#: Behind TLS (deploy/nginx.conf): cookies only over HTTPS, never read by scripts, not sent on
#: cross-site posts.
PRODUCTION_COOKIES = {
    "SESSION_COOKIE_SECURE": True,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "REMEMBER_COOKIE_SECURE": True,
    "REMEMBER_COOKIE_HTTPONLY": True,
    "REMEMBER_COOKIE_SAMESITE": "Lax",
}


def load_config(app: Flask, overrides: Mapping | None) -> None:
    app.config.from_mapping(
        SQLALCHEMY_DATABASE_URI=default_database_url(),
        SQLALCHEMY_ENGINE_OPTIONS={},
        SECRET_KEY=None,
        BABEL_DEFAULT_LOCALE="vi",
        # A signed-in session ends after this long without a request (MOTCUA_PERMANENT_SESSION_LIFETIME,
        # seconds); the cookie is renewed on each request, so a working day is never cut short.
        PERMANENT_SESSION_LIFETIME=timedelta(hours=8),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        TRUSTED_PROXY=0,
        # Input limits (web.guards), each MOTCUA_<name>: a request with files (a reception with every
        # checklist item scanned, 10 MB a file at most); any other body (the largest honest one is
        # a BPMN file of a few hundred KB); one text value's characters (narrower limits sit on each
        # field); JSON depth.
        MAX_CONTENT_LENGTH=64 * 1024 * 1024,
        MAX_BODY_LENGTH=2 * 1024 * 1024,
        MAX_FIELD_LENGTH=20_000,
        MAX_JSON_DEPTH=32,
        # Citizen lookups that found nothing, per address in the window, before that address is told to
        # wait; a lookup whose second factor matches is always answered (MOTCUA_LOOKUP_LIMIT, ..._WINDOW_MINUTES).
        LOOKUP_LIMIT=30,
        LOOKUP_WINDOW_MINUTES=10,
        # How long the links to a citizen's copies on the lookup page open (MOTCUA_COPY_LINK_MINUTES).
        COPY_LINK_MINUTES=30,
        # PostgreSQL cancels a statement of a request that runs longer (MOTCUA_STATEMENT_TIMEOUT_MS;
        # 0: no limit): the request is answered 503, nothing written. The server sets no timeout
        # of its own on a request, and a statement waiting on a lock would hold its thread.
        STATEMENT_TIMEOUT_MS=DEFAULT_STATEMENT_TIMEOUT_MS,
    )
    if os.environ.get("MOTCUA_ENV") == "production":
        app.config.update(PRODUCTION_COOKIES)  # MOTCUA_SESSION_COOKIE_... below may still change them
    app.config.from_prefixed_env("MOTCUA")
    if overrides:
        app.config.from_mapping(overrides)
    # Flask-SQLAlchemy creates the app's engine: with what every engine of ours needs (engine_options)
    # under whatever options the configuration adds.
    uri = app.config["SQLALCHEMY_DATABASE_URI"] = normalise_url(app.config["SQLALCHEMY_DATABASE_URI"])
    timeout = _statement_timeout_ms(app.config["STATEMENT_TIMEOUT_MS"])
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(uri, statement_timeout_ms=timeout) | dict(
        app.config["SQLALCHEMY_ENGINE_OPTIONS"]
    )
    if not app.config.get("SECRET_KEY"):
        if os.environ.get("MOTCUA_ENV") == "production":
            raise RuntimeError("set MOTCUA_SECRET_KEY: production refuses to start with a generated key")
        app.config["SECRET_KEY"] = _development_key(Path(app.instance_path) / "secret_key")
    secret_box.check_configured()  # the providers' secrets: production needs MOTCUA_NOTIFY_KEYS


def _statement_timeout_ms(value) -> int:
    """MOTCUA_STATEMENT_TIMEOUT_MS as a whole number of milliseconds, 0 or more; anything else
    stops the app at start with what was wrong."""
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise RuntimeError(
            f"MOTCUA_STATEMENT_TIMEOUT_MS is a whole number of milliseconds (0: no limit), not {value!r}"
        )
    return value


def _development_key(path: Path) -> str:
    """Development only: a key generated once and kept in the instance folder, so that several
    server workers (and restarts) accept each other's sessions and CSRF tokens."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="ascii").strip()
    with os.fdopen(fd, "w", encoding="ascii") as out:  # the first worker to start writes it
        out.write(secrets.token_hex(32))
    return path.read_text(encoding="ascii").strip()
