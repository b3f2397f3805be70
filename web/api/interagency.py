"""Interconnected procedures (liên thông): another agency's system sends a BPMN message or signal
to a dossier, so the step waiting for it (a receive task, a message or signal catch event) moves
on. With an Idempotency-Key header the same request twice does the work once and gets the same
answer; another request under the same key is a 409."""

from __future__ import annotations

from configurator.forms import FormError
from configurator.forms import validate_submission
from engine.services import dossier_record
from engine.services import dossiers as dossier_service
from engine.services import idempotency
from web.api import schemas
from web.api.base import WRITE_ERRORS
from web.api.base import ApiError
from web.api.base import api_blueprint
from web.api.base import api_user
from web.api.base import documented_errors
from web.api.dossiers import visible_dossier
from web.api.idempotency import accepts_key
from web.api.idempotency import keyed_request
from web.api.idempotency import respond
from web.api.replies import dossier_reply
from web.wiring import runtime

blp = api_blueprint("api_interagency", "/interagency", "Liên thông: hệ thống cơ quan khác gửi message/signal tới hồ sơ")


@blp.route("/dossiers/<code>/events", methods=["POST"])
@blp.arguments(schemas.InteragencyEventSchema())
@blp.response(200, schemas.DossierSchema)
@documented_errors(blp, *WRITE_ERRORS, token_only=True)
@accepts_key(blp)
def send_event(body: dict, code: str):
    """Deliver `message` (with `payload`) or `signal` to the dossier: 409 when nothing in it waits
    for that event; the dossier as it is after."""
    rt, user = runtime(), api_user()
    view = visible_dossier(code)

    # The cleaned answer is what is delivered; the request as sent is what its key is checked against.
    payload = _answer_fitting_its_form(rt, view, body["message"], body["payload"]) if "message" in body else None

    def deliver(keep):
        if "message" in body:
            return dossier_service.send_message(
                rt, view.dossier.id, body["message"], user.actor(), payload, answer=keep(200, dossier_reply)
            )
        return dossier_service.send_signal(
            rt, view.dossier.id, body["signal"], user.actor(), answer=keep(200, dossier_reply)
        )

    return respond(idempotency.once(rt, keyed_request(body), deliver))


def _answer_fitting_its_form(rt, view, message: str, payload: dict) -> dict:
    """The answer checked against the form of the step that waits for it (the library's waits
    ship one: the result number, the date, the decision), so a wrong field is a 422 naming
    `payload.<field>` and nothing moves; a wait without a form takes the payload as it is."""
    wait = next((w for w in dossier_service.message_waits(rt, view.dossier.id) if w.event == message), None)
    form = dossier_record.forms_of(rt, view.definition.id).get(wait.element_id) if wait else None
    if form is None:
        return payload
    try:
        return validate_submission(form, payload)
    except FormError as exc:
        raise ApiError(422, exc.message, field=f"payload.{exc.field}") from None
