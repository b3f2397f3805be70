"""Error pages: HTML for people, JSON for /api/, both saying what was wrong."""

from __future__ import annotations

from flask import Flask
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
from web.i18n import N_
from web.refusals import localised


def init_app(app: Flask) -> None:
    app.register_error_handler(CSRFError, _csrf)
    app.register_error_handler(HTTPException, _http)
    app.register_error_handler(EngineError, _refused)
    app.add_template_filter(localised)


#: (HTTP status, title) of each kind of refusal; the most specific class first.
REFUSALS = ((PermissionDenied, 403, N_("Không được phép")), (NotFound, 404, N_("Không tìm thấy")),
            (ConflictError, 409, N_("Xung đột")), (EngineError, 422, N_("Không thực hiện được")))


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
    return _render(400, gettext("Phiên làm việc đã hết hạn"),
                   gettext("Biểu mẫu đã hết hạn hoặc không hợp lệ (CSRF). Vui lòng tải lại trang và thử lại."))


def _http(error: HTTPException):
    return _render(error.code or 500, error.name, error.description or "")


def _render(status: int, title: str, message: str):
    if request.path.startswith("/api/"):
        return jsonify({"error": title, "message": message}), status
    if request.headers.get("HX-Request"):
        return render_template("partials/error.html", title=title, message=message), status
    return render_template("error.html", title=title, message=message, status=status), status
