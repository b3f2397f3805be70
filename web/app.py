"""The Flask app: configuration, extensions, blueprints, the filters every page uses."""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Mapping

from flask import Flask
from flask import Request
from flask import Response
from flask_babel import gettext
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import MapAdapter
from werkzeug.wsgi import get_host

from web.config import load_config
from web.extensions import csrf
from web.extensions import db
from web.extensions import login_manager


class ServedResponse(Response):
    """Flask's response, handed to the WSGI server without werkzeug's copy of its headers when
    the copy would change nothing.

    werkzeug's `get_wsgi_headers` copies every header into a new `Headers` (checking each name
    and value again, as when they were added: 40 Python calls for an API answer's four headers,
    about a tenth of a claim's calls outside the engine) only to make its fixes on the copy: a
    Location or Content-Location made a URL, Content-Length dropped for 1xx and 204 and the
    entity headers for 304, Content-Length added to a body in a list that has none. An answer
    needing none of them (every JSON answer: Flask sets its length) is sent with its own headers,
    which nothing changes after this."""

    def get_wsgi_headers(self, environ):
        status = self.status_code
        if 100 <= status < 200 or status in (204, 304) or not _sent_as_they_are(self.headers):
            return super().get_wsgi_headers(environ)
        return self.headers


def _sent_as_they_are(headers) -> bool:
    """Whether werkzeug's fixes leave these headers alone: a length given, no (content) location."""
    length = False
    for name, _ in headers:
        lowered = name.lower()
        if lowered == "content-length":
            length = True
        elif lowered in ("location", "content-location"):
            return False
    return length


class MotcuaFlask(Flask):
    """Flask, answering with `ServedResponse`, binding a request's routes from what its Request
    has read, and with the sync form of each hook, view and error handler found once per function.

    Flask asks `inspect.iscoroutinefunction` about every function it calls for a request (about
    twenty: the hooks before and after, the view, the teardowns), five Python calls each time
    for an answer that never changes for a given function (a tenth of an API request's calls
    outside its view)."""

    response_class = ServedResponse

    #: Functions remembered at most (the app's are a few hundred; one made per call is not kept).
    SYNC_FORMS_KEPT = 2048

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._sync_forms: dict[Callable, Callable] = {}

    def create_url_adapter(self, request: Request | None) -> MapAdapter | None:
        """Flask's adapter for a request, bound with the host Flask has just checked and the path
        werkzeug's Request has decoded: Flask's own binding (`bind_to_environ`) reads the host
        again, decodes the path, root and query a second time and looks for a WebSocket upgrade,
        45 Python calls of the 90 a request's routing makes, for the same adapter. A request
        whose binding has more to it (mounted below a root, with a query, an upgrade, or an app
        set up to match hosts, subdomains or its SERVER_NAME) is bound by Flask."""
        if request is None or not self._bound_plainly(request.environ):
            return super().create_url_adapter(request)
        if (trusted_hosts := self.config["TRUSTED_HOSTS"]) is not None:
            request.trusted_hosts = trusted_hosts
        request.host = get_host(request.environ, request.trusted_hosts)  # type: ignore[misc]  (Flask's too)
        return self.url_map.bind(
            request.host,
            subdomain=self.url_map.default_subdomain or "",
            url_scheme=request.environ["wsgi.url_scheme"],
            default_method=request.environ["REQUEST_METHOD"],
            path_info=request.path,  # matched without its leading slashes either way
        )

    def _bound_plainly(self, environ: dict) -> bool:
        return not (
            environ.get("SCRIPT_NAME")
            or environ.get("QUERY_STRING")
            or "HTTP_UPGRADE" in environ
            or self.config["SERVER_NAME"] is not None
            or self.url_map.host_matching
            or self.subdomain_matching
        )

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
    from web import request_log

    request_log.init_app(app)  # first: a request refused by any other hook (CSRF, guards) has its id
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
