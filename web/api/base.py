"""What every API blueprint shares: who is calling (bearer token, or a browser session for
reads), and errors as JSON {"error", "message", "field", "errors"} with the right status.

The hooks are attached when a blueprint is created (Flask refuses hooks on a blueprint after
its first registration, and each test builds a new app)."""

from __future__ import annotations

from collections.abc import Iterator
from collections.abc import Mapping
from contextlib import contextmanager

import marshmallow as ma
from flask import current_app
from flask import g
from flask import jsonify
from flask import request
from flask_login import current_user
from flask_smorest import Blueprint
from flask_smorest import pagination
from webargs.core import missing
from webargs.flaskparser import FlaskParser
from werkzeug.exceptions import HTTPException

from configurator.forms import FormError
from engine.domain.errors import ConflictError
from engine.domain.errors import EngineError
from engine.domain.errors import InvalidAction
from engine.domain.errors import NotFound
from engine.domain.errors import PermissionDenied
from engine.services import api_tokens
from web.guards import DB_INT_MAX
from web.guards import PARSED_JSON
from web.refusals import localised
from web.security import SUPERVISORS
from web.security import SignedInUser
from web.security import user_of
from web.wiring import runtime

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: The OpenAPI security of a write: a bearer token only (the global one also lists the session).
TOKEN_ONLY = [{"bearerAuth": []}]
TITLES = {
    400: "Yêu cầu không hợp lệ",
    401: "Chưa xác thực",
    403: "Không được phép",
    404: "Không tìm thấy",
    405: "Phương thức không được hỗ trợ",
    409: "Xung đột",
    422: "Dữ liệu không hợp lệ",
    500: "Lỗi máy chủ",
}
#: Where webargs reports errors ({"json": {...}}): not part of the field's path for a client.
_LOCATIONS = frozenset({"json", "query", "querystring", "form", "headers", "view_args", "path"})


class ApiError(Exception):
    """An answer other than success, raised by the API's own checks."""

    def __init__(
        self, status: int, message: str, *, field: str | None = None, headers: Mapping[str, str] | None = None
    ):
        super().__init__(message)
        self.status, self.message, self.field, self.headers = status, message, field, dict(headers or {})


def _bounded_pagination_schema(page: int, page_size: int, max_page_size: int) -> type[ma.Schema]:
    """flask-smorest's page parameters with a last page: an offset beyond the database's integers
    used to reach it (a 5xx on PostgreSQL and SQLite); now the document states the bound and a
    larger page is a 422 naming `page`."""
    schema = _smorest_pagination_schema(page, page_size, max_page_size)
    last_page = DB_INT_MAX // max_page_size
    page_field = ma.fields.Integer(load_default=page, validate=ma.validate.Range(min=1, max=last_page))
    return type(schema.__name__, (schema,), {"page": page_field})


# flask-smorest builds the schema inside Blueprint.paginate with this module-level factory (0.47).
_smorest_pagination_schema = pagination._pagination_parameters_schema_factory
pagination._pagination_parameters_schema_factory = _bounded_pagination_schema


class GuardedJsonParser(FlaskParser):
    """webargs' parser, taking a JSON body that web.guards has parsed the way webargs parses one
    (UTF-8 text) instead of parsing it a second time; any other body it parses itself, so that
    its answer to a body it cannot read (not JSON, not UTF-8) stays its own. The guard leaves a
    body only when the request names JSON (web.guards.names_json), so that is not asked again
    (webargs passes Flask's request proxy: each read through it is ~1.3 µs)."""

    def _raw_load_json(self, req):
        parsed = req.environ.get(PARSED_JSON, missing)
        if parsed is not missing:
            return parsed
        return super()._raw_load_json(req)


class ApiBlueprint(Blueprint):
    ARGUMENTS_PARSER = GuardedJsonParser()


def api_blueprint(name: str, url_prefix: str, description: str, authenticate: bool = True) -> Blueprint:
    """A blueprint of the API; `authenticate=False` for the citizen's routes, which prove otherwise."""
    blp = ApiBlueprint(name, __name__, url_prefix=url_prefix, description=description)
    if authenticate:
        blp.before_request(_authenticate)
        blp.after_request(_settle_token)
        blp.teardown_request(_forget_token_check)  # even after an error no answer was made for
        blp.register_error_handler(api_tokens.TokenChanged, _token_changed)
    blp.register_error_handler(ApiError, _api_error)
    blp.register_error_handler(FormError, _form_error)
    blp.register_error_handler(EngineError, _engine_error)
    blp.register_error_handler(HTTPException, _http_error)
    return blp


#: The error answers the API documents, by status (each a response registered by name).
ERROR_RESPONSES = {401: "UNAUTHORIZED", 403: "FORBIDDEN", 404: "NOT_FOUND", 409: "CONFLICT"}
#: What a write may answer besides its result.
WRITE_ERRORS = (401, 403, 404, 409)


def documented_errors(blp: Blueprint, *statuses: int, token_only: bool = False):
    """A view's error answers in the API's document and, for a write (`token_only`), that it
    takes a bearer token and never the browser's session."""

    def document(view):
        for status in statuses:
            view = documentation_only(blp.alt_response(status, response=ERROR_RESPONSES[status]))(view)
        return documentation_only(blp.doc(security=TOKEN_ONLY))(view) if token_only else view

    return document


def documentation_only(decorator):
    """A flask-smorest documentation decorator (`alt_response`, `doc`) that leaves the view itself
    in place. smorest wraps the view in a layer that only calls it (through `current_app` and
    `ensure_sync`: five Python calls per request and layer, six layers on a completion) and keeps
    what it documents in that layer's `_apidoc`, which is all the API's document is built from."""

    def document(view):
        view._apidoc = decorator(view)._apidoc
        return view

    return document


def answered_by_the_view(blp: Blueprint, status: int, schema: type[ma.Schema] | ma.Schema):
    """`blp.response` for a view that returns its own Response (a change's answer, dumped by this
    schema inside the change's transaction, web.api.replies): the schema documents the answer.
    smorest's layer around the view would only pass that Response through (looking the app up
    behind its proxy, ten Python calls per request), so it is left out as `documentation_only`
    leaves the others out."""
    return documentation_only(blp.response(status, schema))


def api_user() -> SignedInUser:
    """The user this request acts as (set by the blueprint's before_request)."""
    return g._get_current_object().api_user


@contextmanager
def fields_named(names: Mapping[str, str]) -> Iterator[None]:
    """Report an engine error's field by the request's name for it (engine `to_username` is `to`)."""
    try:
        yield
    except EngineError as exc:
        if exc.field in names:
            exc.field = names[exc.field]
        raise


# -- authentication -------------------------------------------------------------------------------


def _authenticate() -> None:
    api_tokens.forget_unchecked()
    # Flask's request and `g` behind their proxies once (each read through one is ~1.3 µs).
    req = request._get_current_object()  # type: ignore[attr-defined]
    header = req.environ.get("HTTP_AUTHORIZATION")  # the header as passed, without Headers' lookup
    if header is not None:
        checked = req.endpoint in CHANGES_CHECKING_THEIR_TOKEN
        g._get_current_object().api_user = _token_user(header, check_with_change=checked)
        return
    if current_user.is_authenticated:
        if request.method in READ_METHODS:
            g.api_user = current_user._get_current_object()
            return
        # A cookie is sent by the browser on its own: writes need a token, so no page can forge one.
        raise _unauthorized(
            "Ghi dữ liệu qua API cần mã truy cập (Authorization: Bearer <mã>); "
            "phiên đăng nhập trình duyệt chỉ được đọc."
        )
    raise _unauthorized("Cần mã truy cập: gửi tiêu đề Authorization: Bearer <mã>.")


def _token_user(header: str, *, check_with_change: bool) -> SignedInUser:
    """The token's user; `check_with_change`: the request's change checks the token (a token
    answered from memory), else it is looked up now."""
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized("Tiêu đề Authorization phải có dạng: Bearer <mã>.", error="invalid_request")
    checked = _checked_with_change if check_with_change else None
    user = api_tokens.authenticate(runtime(), token.strip(), load=user_of, checked_with_change=checked)
    if user is None:  # unknown, revoked, expired, or its user is no longer active: the same answer for all
        raise _invalid_token()
    return user


#: The changes whose token may be answered from memory and checked with the change's first read
#: (api_tokens.authenticate): the three every dossier goes through, and a step's release, which open
#: their transaction before anything else (each one's first statement checks the token itself: a
#: start's template read and a completion's step read, engine.store.repositories; a claim's and a
#: release's write).
CHANGES_CHECKING_THEIR_TOKEN = frozenset(
    {"api_dossiers.start_dossier", "api_work_items.claim", "api_work_items.unclaim", "api_work_items.complete"}
)


def _checked_with_change(user: SignedInUser) -> bool:
    """A supervisor's communes are read with the account, and a change's check reads only the
    account: their tokens are looked up every time."""
    return not user.roles & SUPERVISORS


def _invalid_token() -> ApiError:
    return _unauthorized("Mã truy cập không hợp lệ, đã hết hạn hoặc đã bị thu hồi.", error="invalid_token")


def _token_changed(changed: api_tokens.TokenChanged):
    """The token, checked with the change, was taken away (401, nothing written), or its account
    changed meanwhile: the request is made again as the account now is."""
    api_tokens.forget_unchecked()  # heard: its answer is this one
    if changed.refused:
        return current_app.make_response(_api_error(_invalid_token()))
    view = current_app.view_functions[request.endpoint]
    try:
        g.api_user = _token_user(request.headers["Authorization"], check_with_change=False)
        return current_app.make_response(view(**(request.view_args or {})))
    except Exception as failed:  # noqa: BLE001 - answered by the app's handlers, as the first try's would be
        return current_app.make_response(current_app.handle_user_exception(failed))


def _forget_token_check(_error) -> None:
    api_tokens.forget_unchecked()


def _settle_token(response):
    """A token answered from memory whose check did not travel with a change is checked now."""
    try:
        api_tokens.settle(runtime)  # the runtime looked up only when a check is left
    except api_tokens.TokenChanged as changed:
        return _token_changed(changed)
    return response


def _unauthorized(message: str, error: str | None = None) -> ApiError:
    challenge = 'Bearer realm="motcua"' + (f', error="{error}"' if error else "")
    return ApiError(401, message, headers={"WWW-Authenticate": challenge})


# -- errors ---------------------------------------------------------------------------------------


def _api_error(exc: ApiError):
    errors = {exc.field: [exc.message]} if exc.field else None
    return _json(exc.status, exc.message, exc.field, errors, headers=exc.headers)


def _form_error(exc: FormError):
    # The form's fields arrive under `data` in the request body; name them by that path.
    errors = {f"data.{name}": messages for name, messages in exc.errors.items()}
    return _json(422, exc.message, f"data.{exc.field}", errors)


def _engine_error(exc: EngineError):
    status, body = engine_error_answer(exc)
    response = jsonify(body)
    response.status_code = status
    return response


def engine_error_answer(exc: EngineError) -> tuple[int, dict]:
    """The status and JSON body an engine refusal is answered with (kept for idempotent repeats)."""
    if isinstance(exc, PermissionDenied):
        status = 403
    elif isinstance(exc, ConflictError):
        status = 409
    elif exc.field:
        status = 422  # a value the caller sent is wrong (an unknown unit or user included)
    elif isinstance(exc, NotFound):
        status = 404
    elif isinstance(exc, InvalidAction):
        status = 409  # not possible in the current state
    else:
        status = 422
    message = localised(exc)  # in Vietnamese, like the API's own messages
    body = {"error": TITLES.get(status, "Lỗi"), "message": message, "field": exc.field}
    if exc.field:
        body["errors"] = {exc.field: [message]}
    return status, body


def _http_error(exc: HTTPException):
    data = getattr(exc, "data", None) or {}
    messages = data.get("messages") or data.get("errors")
    if messages:  # webargs: a body or query that does not fit its schema, or is not JSON at all
        errors = _flatten(messages)
        first = next(iter(errors))
        field = first or None
        message = f"{first}: {'; '.join(errors[first])}" if field else "; ".join(errors[first])
        return _json(
            exc.code or 422, message, field, {k: v for k, v in errors.items() if k}, headers=data.get("headers")
        )
    message = data.get("message") or exc.description or ""
    return _json(exc.code or 500, message, None, headers=data.get("headers"))


def _flatten(messages, path: str = "") -> dict[str, list[str]]:
    """{"json": {"applicant": {"name": ["..."]}}} -> {"applicant.name": ["..."]}; "" is the whole body."""
    if isinstance(messages, list):
        return {path: [str(m) for m in messages]}
    flat: dict[str, list[str]] = {}
    for key, value in messages.items():
        key = str(key)
        if not path and key in _LOCATIONS:
            child = ""
        elif key == "_schema":
            child = path
        else:
            child = f"{path}.{key}" if path else key
        for name, texts in _flatten(value, child).items():
            flat.setdefault(name, []).extend(texts)
    return flat


def _json(status: int, message: str, field: str | None, errors: Mapping | None = None, headers: Mapping | None = None):
    body = {"error": TITLES.get(status, "Lỗi"), "message": message, "field": field}
    if errors:
        body["errors"] = dict(errors)
    response = jsonify(body)
    response.status_code = status
    response.headers.update(headers or {})
    return response
