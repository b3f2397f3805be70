"""The Flask app: configuration, extensions, blueprints, the filters every page uses."""

from __future__ import annotations

import json
from collections.abc import Callable
from collections.abc import Mapping

from flask import Flask
from flask import Response
from flask.json.provider import DefaultJSONProvider
from flask_babel import gettext
from werkzeug.datastructures import Headers
from werkzeug.middleware.proxy_fix import ProxyFix

from web.config import load_config
from web.extensions import csrf
from web.extensions import db
from web.extensions import login_manager


class MotcuaResponse(Response):
    """Flask's response, handed to the server without a copy of its headers when werkzeug would
    change nothing in them.

    werkzeug copies every response's headers before it looks at them (a Headers built one header
    at a time: ~40 Python calls, a twentieth of an API request's calls outside its view), to
    absolutize a Location, quote a Content-Location, drop a body's headers from a 1xx, 204 or 304,
    or add a Content-Length; an API answer needs none of that (its length was set with its body),
    and the headers are only read once the answer is handed over."""

    def get_wsgi_headers(self, environ) -> Headers:
        status = self.status_code
        if status < 200 or status in (204, 304):
            return super().get_wsgi_headers(environ)
        has_length = False
        for key, _value in self.headers._list:  # noqa: SLF001  (iterating the Headers: two calls per header)
            lowered = key.lower()
            if lowered == "location" or lowered == "content-location":
                return super().get_wsgi_headers(environ)
            if lowered == "content-length":
                has_length = True
        if not has_length and self.automatically_set_content_length and self.is_sequence:
            return super().get_wsgi_headers(environ)
        return self.headers


class MotcuaJSONProvider(DefaultJSONProvider):
    """Flask's JSON, written by one encoder made once rather than one made per answer.

    `json.dumps` with any setting of its own (Flask passes four) builds a new JSONEncoder on every
    call; the encoder made here from the same settings writes the same text (the C encoder, sorted
    keys, ASCII escapes, compact separators) and is made again when a setting changes."""

    def __init__(self, app: Flask) -> None:
        super().__init__(app)
        self._encoder: tuple[tuple, json.JSONEncoder] | None = None

    def response(self, *args, **kwargs) -> Response:
        if (self.compact is None and self._app.debug) or self.compact is False:
            return super().response(*args, **kwargs)  # indented: as Flask writes it
        obj = self._prepare_response_obj(args, kwargs)
        return self._app.response_class(f"{self._compact_encoder().encode(obj)}\n", mimetype=self.mimetype)

    def _compact_encoder(self) -> json.JSONEncoder:
        settings = (self.default, self.ensure_ascii, self.sort_keys)
        made = self._encoder
        if made is None or made[0] != settings:
            encoder = json.JSONEncoder(
                default=self.default, ensure_ascii=self.ensure_ascii, sort_keys=self.sort_keys, separators=(",", ":")
            )
            made = self._encoder = (settings, encoder)
        return made[1]


class MotcuaFlask(Flask):
    """Flask, with the sync form of each hook, view and error handler found once per function.

    Flask asks `inspect.iscoroutinefunction` about every function it calls for a request (about
    twenty: the hooks before and after, the view, the teardowns), five Python calls each time
    for an answer that never changes for a given function (a tenth of an API request's calls
    outside its view)."""

    response_class = MotcuaResponse
    json_provider_class = MotcuaJSONProvider

    #: Functions remembered at most (the app's are a few hundred; one made per call is not kept).
    SYNC_FORMS_KEPT = 2048

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._sync_forms: dict[Callable, Callable] = {}

    def ensure_sync(self, func: Callable) -> Callable:
        try:
            return self._sync_forms[func]
        except KeyError:
            sync = super().ensure_sync(func)
            if len(self._sync_forms) < self.SYNC_FORMS_KEPT:
                self._sync_forms[func] = sync
            return sync
        except TypeError:  # a callable that cannot be a key
            return super().ensure_sync(func)


def create_app(config: Mapping | None = None) -> Flask:
    app = MotcuaFlask(__name__, instance_relative_config=True)
    load_config(app, config)
    _trust_proxies(app)
    db.init_app(app)
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Vui lòng đăng nhập để tiếp tục."
    login_manager.localize_callback = gettext  # flashed in the reader's language
    from web import api
    from web import display
    from web import document_dates
    from web import errors
    from web import formatting
    from web import guards
    from web import i18n
    from web import navigation
    from web import ops
    from web import request_log
    from web import sessions
    from web import vendor
    from web import wiring
    from web.admin import bp as admin_bp
    from web.auth import bp as auth_bp
    from web.desk import bp as desk_bp
    from web.model import bp as model_bp
    from web.notices import bp as notices_bp
    from web.public import bp as public_bp
    from web.supervise import bp as supervise_bp

    sessions.init_app(app)
    guards.init_app(app)  # first: its bounded `<int:...>` converter must be in place before any route
    wiring.init_app(app)
    i18n.init_app(app)
    errors.init_app(app)
    navigation.init_app(app)
    app.add_template_filter(_vn_datetime, "vn_datetime")
    document_dates.init_app(app)
    formatting.init_app(app)
    display.init_app(app)
    app.add_url_rule("/favicon.ico", "favicon", _favicon)
    app.register_blueprint(public_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(desk_bp)
    app.register_blueprint(notices_bp)
    app.register_blueprint(vendor.bp)
    api.init_app(app)
    app.register_blueprint(model_bp)
    app.register_blueprint(supervise_bp)
    ops.init_app(app)
    request_log.init_app(app)
    return app


def _trust_proxies(app: Flask) -> None:
    """MOTCUA_TRUSTED_PROXY=N: the app sits behind N reverse proxies, so the client's address (for
    the throttles and the logs) and scheme are read from X-Forwarded-For/-Proto as the proxies
    wrote them. Without it those headers are ignored: anyone can send them."""
    value = app.config.get("TRUSTED_PROXY") or 0
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10:
        raise RuntimeError(f"MOTCUA_TRUSTED_PROXY must be the number of proxies in front (0 to 10), not {value!r}")
    if value:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=value, x_proto=value)


def _favicon():
    """Browsers ask for /favicon.ico whatever the page links: the same icon the pages link."""
    from pathlib import Path

    from flask import Response
    from flask import current_app

    icon = (Path(current_app.static_folder) / "favicon.svg").read_bytes()
    return Response(icon, mimetype="image/svg+xml", headers={"Cache-Control": "public, max-age=86400"})


def _vn_datetime(value) -> str:
    """An instant in Vietnam's time, written the way the chosen language writes it."""
    from web.formatting import local_time_writer

    return local_time_writer()(value)
