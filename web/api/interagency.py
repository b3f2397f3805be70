"""Interconnected procedures (liên thông): another agency's system sends a BPMN message or signal
to a dossier, so the step waiting for it (a receive task, a message or signal catch event) moves
on. With an Idempotency-Key header the same request twice does the work once and gets the same
answer; another request under the same key is a 409."""

from __future__ import annotations

from flask import jsonify
from flask import request

from engine.domain.errors import EngineError
from engine.services import dossiers as dossier_service
from engine.services import idempotency
from engine.store import api_queries
from web.api import schemas
from web.api.base import TOKEN_ONLY
from web.api.base import ApiError
from web.api.base import api_blueprint
from web.api.base import api_user
from web.api.base import engine_error_answer
from web.api.views_data import dossier_payload
from web.wiring import runtime

blp = api_blueprint("api_interagency", "/interagency", "Liên thông: hệ thống cơ quan khác gửi message/signal tới hồ sơ")

IDEMPOTENCY_HEADER = {"in": "header", "name": "Idempotency-Key", "required": False, "schema": {
    "type": "string", "maxLength": 120},
    "description": "Cùng khoá và cùng yêu cầu: chỉ xử lý một lần, trả lại đúng câu trả lời; khác yêu cầu: 409"}


@blp.route("/dossiers/<code>/events", methods=["POST"])
@blp.arguments(schemas.InteragencyEventSchema)
@blp.response(200, schemas.DossierSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(403, response="FORBIDDEN")
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(409, response="CONFLICT")
@blp.doc(security=TOKEN_ONLY, parameters=[IDEMPOTENCY_HEADER])
def send_event(body: dict, code: str):
    """Deliver `message` (with `payload`) or `signal` to the dossier: 409 when nothing in it waits
    for that event; the dossier as it is after."""
    rt, user = runtime(), api_user()
    key = (request.headers.get("Idempotency-Key") or "").strip()
    if len(key) > 120:
        raise ApiError(422, "Idempotency-Key dài quá 120 ký tự.", field="Idempotency-Key")

    def work() -> tuple[int, dict]:
        with rt.db.read_session() as s:
            view = api_queries.dossier_by_code(s, code, user.visible_units)
        if view is None:
            return 404, {"error": "Không tìm thấy", "message": f"Không tìm thấy hồ sơ {code}.", "field": None}
        try:
            if "message" in body:
                dossier_service.send_message(rt, view.dossier.id, body["message"], user.actor(), body["payload"])
            else:
                dossier_service.send_signal(rt, view.dossier.id, body["signal"], user.actor())
        except EngineError as exc:
            return engine_error_answer(exc)
        with rt.db.read_session() as s:
            after = api_queries.dossier_by_code(s, code, user.visible_units)
        return 200, schemas.DossierSchema().dump(dossier_payload(after))

    if not key:
        status, answer = work()
        return _answer(status, answer, repeated=False)
    outcome = idempotency.once(rt, f"{user.username}:{key}", {"dossier": code, **body}, work)
    return _answer(outcome.status, outcome.body, outcome.repeated)


def _answer(status: int, body: dict, repeated: bool):
    response = jsonify(body)
    response.status_code = status
    if repeated:
        response.headers["Idempotent-Replayed"] = "true"
    return response
