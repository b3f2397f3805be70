"""Error pages: HTML for people, JSON for /api/, both saying what was wrong. Nothing reaches the
client as a bare 500: an unexpected exception is logged with its traceback under a request id,
and the page or JSON it gets quotes that id."""

from __future__ import annotations

import logging
import secrets

from flask import Flask
from flask import g
from flask import jsonify
from flask import render_template
from flask import request
from flask_babel import gettext
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from engine.domain.errors import ConflictError
from engine.domain.errors import EngineError
from engine.domain.errors import NotFound
from engine.domain.errors import PermissionDenied
from engine.store.database import statement_cancelled
from web.i18n import N_
from web.refusals import localised
from web.security import client_address


def init_app(app: Flask) -> None:
    app.register_error_handler(CSRFError, _csrf)
    app.register_error_handler(HTTPException, _http)
    app.register_error_handler(EngineError, _refused)
    app.register_error_handler(Exception, _unexpected)
    app.add_template_filter(localised)


#: (HTTP status, title) of each kind of refusal; the most specific class first.
REFUSALS = (
    (PermissionDenied, 403, N_("Không được phép")),
    (NotFound, 404, N_("Không tìm thấy")),
    (ConflictError, 409, N_("Xung đột")),
    (EngineError, 422, N_("Không thực hiện được")),
)


def refusal_kind(error: EngineError) -> tuple[int, str]:
    """The HTTP status of an engine refusal and its title in the reader's language."""
    status, title = next((status, title) for kind, status, title in REFUSALS if isinstance(error, kind))
    return status, gettext(title)


def _refused(error: EngineError):
    status, title = refusal_kind(error)
    if request.path.startswith("/api/"):
        return jsonify({"error": title, "message": error.message}), status
    return _render(status, title, localised(error))


def _csrf(error: CSRFError):
    return _render(
        400,
        gettext("Phiên làm việc đã hết hạn"),
        gettext("Biểu mẫu đã hết hạn hoặc không hợp lệ (CSRF). Vui lòng tải lại trang và thử lại."),
    )


#: Titles of the HTTP errors a page may show, in the reader's language.
HTTP_TITLES = {
    400: N_("Yêu cầu không hợp lệ"),
    401: N_("Chưa xác thực"),
    403: N_("Không được phép"),
    404: N_("Không tìm thấy"),
    405: N_("Phương thức không được hỗ trợ"),
    413: N_("Dữ liệu gửi lên quá lớn"),
    422: N_("Dữ liệu không hợp lệ"),
    500: N_("Lỗi máy chủ"),
    503: N_("Dịch vụ tạm thời không đáp ứng"),
}


def _http(error: HTTPException):
    status = error.code or 500
    title = gettext(HTTP_TITLES[status]) if status in HTTP_TITLES else error.name
    # Translated here, not in the template: a description may quote the request ("%" included),
    # which Jinja's _() would try to format.
    return _render(status, title, gettext(error.description) if error.description else "")


def request_id() -> str:
    """This request's id (web.request_log gives every request one, the caller's when it is sane,
    and answers it in X-Request-ID): in the log of its errors and the answer they get."""
    if not g.get("motcua_request_id"):
        g.motcua_request_id = secrets.token_hex(16)
    return g.motcua_request_id


def _unexpected(error: Exception):
    if isinstance(error, HTTPException):  # a subclass without a handler of its own
        return _http(error)
    if statement_cancelled(error):
        return _cancelled(error)
    logging.getLogger("motcua.web").error(
        "unexpected error, request %s, %s %s from %s",
        request_id(),
        request.method,
        request.path,
        client_address(),
        exc_info=error,
    )
    return _render(
        500,
        gettext(HTTP_TITLES[500]),
        gettext(
            "Đã có lỗi không lường trước. Mã yêu cầu: %(id)s; vui lòng báo mã này cho quản trị viên.", id=request_id()
        ),
    )


#: What a client whose request was cancelled is asked to wait before trying again, in seconds.
RETRY_AFTER_CANCELLED = 30


def _cancelled(error: Exception):
    """PostgreSQL cancelled a statement of the request (its statement_timeout, web.config): the
    request's transaction was rolled back, so nothing of it was written; the client may try again."""
    statement = " ".join(str(getattr(error, "statement", "") or "").split())[:200]
    logging.getLogger("motcua.web").warning(
        "statement cancelled, request %s, %s %s from %s: %s",
        request_id(),
        request.method,
        request.path,
        client_address(),
        statement,
    )
    response, status = _render(
        503,
        gettext(HTTP_TITLES[503]),
        gettext(
            "Cơ sở dữ liệu không trả lời kịp nên yêu cầu đã bị huỷ, không có gì được ghi. "
            "Vui lòng thử lại sau ít phút. Mã yêu cầu: %(id)s.",
            id=request_id(),
        ),
    )
    return response, status, {"Retry-After": str(RETRY_AFTER_CANCELLED)}


def _render(status: int, title: str, message: str):
    if request.path.startswith("/api/"):
        response = jsonify({"error": title, "message": message, "field": None, "request_id": request_id()})
        return response, status
    if request.headers.get("HX-Request"):
        return render_template("partials/error.html", title=title, message=message), status
    return render_template("error.html", title=title, message=message, status=status), status
