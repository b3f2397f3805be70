"""The API's Idempotency-Key header, in one place: read and checked here, documented on each
route that accepts it, and answers sent with `Idempotent-Replayed: true` when they are replays
(engine.services.idempotency keeps the key in the change's own transaction)."""

from __future__ import annotations

from collections.abc import Mapping

from flask import jsonify
from flask import request
from flask_smorest import Blueprint

from engine.services import idempotency
from engine.services.idempotency import Answer
from web.api.base import ApiError
from web.api.base import api_user
from web.api.base import documentation_only

HEADER = "Idempotency-Key"
_ENVIRON_KEY = "HTTP_IDEMPOTENCY_KEY"
PARAMETER = {
    "in": "header",
    "name": HEADER,
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": idempotency.KEY_MAX},
    "description": (
        "Khoá chống làm hai lần (mỗi tài khoản một không gian khoá). Gửi lại cùng khoá và cùng "
        "yêu cầu: việc chỉ làm một lần, nhận lại đúng câu trả lời đầu với header "
        "`Idempotent-Replayed: true`; cùng khoá cho yêu cầu khác: 409 nêu Idempotency-Key. "
        "Yêu cầu bị từ chối không giữ khoá (không có gì thay đổi), gửi lại sẽ được xét lại."
    ),
}


def accepts_key(blp: Blueprint):
    """Document the header on a route (the route reads it with `keyed_request`)."""
    return documentation_only(blp.doc(parameters=[PARAMETER]))


def keyed_request(asked: Mapping) -> idempotency.Request | None:
    """The caller's keyed request (None without the header): `asked` is what makes two requests
    the same besides the route (the checked body)."""
    req = request._get_current_object()  # type: ignore[attr-defined]  # the proxy once
    key = req.environ.get(_ENVIRON_KEY)  # the header as the WSGI server passes it, without Headers' lookup
    if key is None:
        return None
    if not key.strip() or len(key) > idempotency.KEY_MAX or not key.isprintable():
        raise ApiError(422, f"{HEADER}: từ 1 đến {idempotency.KEY_MAX} ký tự in được.", field=HEADER)
    return idempotency.Request.of(api_user().username, key, {"route": f"{req.method} {req.path}", "body": dict(asked)})


def respond(answer: Answer, headers: Mapping[str, str] | None = None):
    """The answer as the response (the same bytes for the first answer and its replays)."""
    response = jsonify(answer.body)
    # The body is a list holding its bytes, nothing to close with it: the server takes that list
    # (werkzeug's way of passing a body through), not the closing iterator over two generators
    # werkzeug would wrap around it (20 Python calls, a typing cast among them).
    response.direct_passthrough = True
    if answer.status != response.status_code:  # jsonify's 200: the setter parses the status again
        response.status_code = answer.status
    if headers:
        response.headers.update(headers)
    if answer.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response
