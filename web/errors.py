"""Error pages: HTML for people, JSON for /api/, both saying what was wrong."""

from __future__ import annotations

from flask import Flask
from flask import jsonify
from flask import render_template
from flask import request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from engine.domain.errors import ConflictError
from engine.domain.errors import EngineError
from engine.domain.errors import NotFound
from engine.domain.errors import PermissionDenied
from web.refusals import in_vietnamese


def init_app(app: Flask) -> None:
    app.register_error_handler(CSRFError, _csrf)
    app.register_error_handler(HTTPException, _http)
    app.register_error_handler(PermissionDenied, lambda e: _render(403, "Không được phép", str(e)))
    app.register_error_handler(NotFound, lambda e: _render(404, "Không tìm thấy", str(e)))
    app.register_error_handler(ConflictError, lambda e: _render(409, "Xung đột", str(e)))
    app.register_error_handler(EngineError, lambda e: _render(422, "Không thực hiện được", str(e)))


def _csrf(error: CSRFError):
    return _render(400, "Phiên làm việc đã hết hạn",
                   "Biểu mẫu đã hết hạn hoặc không hợp lệ (CSRF). Vui lòng tải lại trang và thử lại.")


def _http(error: HTTPException):
    return _render(error.code or 500, error.name, error.description or "")


def _render(status: int, title: str, message: str):
    if request.path.startswith("/api/"):
        return jsonify({"error": title, "message": message}), status
    message = in_vietnamese(message)  # people read the engine's reasons in their language
    if request.headers.get("HX-Request"):
        return render_template("partials/error.html", title=title, message=message), status
    return render_template("error.html", title=title, message=message, status=status), status
