"""Work items: the caller's list, and the actions on one step (claim, unclaim, complete,
return, delegate, resolve). Each action is one engine transaction; a refusal writes nothing.
Claim and complete accept an Idempotency-Key (web.api.idempotency)."""

from __future__ import annotations

from flask import jsonify

from configurator.steps import complete_step
from engine.domain import decisions
from engine.domain.model import Worklist
from engine.services import actions
from engine.services import dossiers as dossier_service
from engine.services import idempotency
from engine.store import dossier_queries
from engine.store import worklist_queries
from web.api import schemas
from web.api.base import WRITE_ERRORS
from web.api.base import ApiError
from web.api.base import answered_by_the_view
from web.api.base import api_blueprint
from web.api.base import api_user
from web.api.base import documented_errors
from web.api.base import fields_named
from web.api.idempotency import accepts_key
from web.api.idempotency import keyed_request
from web.api.idempotency import respond
from web.api.replies import claimed_step_reply
from web.api.replies import dossier_reply
from web.api.views_data import dossier_payload
from web.api.views_data import work_item_payload
from web.wiring import runtime

blp = api_blueprint("api_work_items", "/work-items", "Việc cần xử lý của người dùng gắn với mã truy cập")

#: A refusal's reason is a field of the step's form, which arrives under `data`.
_REASON_FIELDS = {name: f"data.{name}" for name in decisions.REFUSAL_REASON_FIELD.values()}


@blp.route("")
@blp.arguments(schemas.WorkItemQuerySchema(), location="query", as_kwargs=True)
@blp.response(200, schemas.WorkItemSchema(many=True))
@blp.paginate(page_size=50, max_page_size=200)
@blp.alt_response(401, response="UNAUTHORIZED")
def list_work_items(pagination_parameters, filter: Worklist):  # noqa: A002  (the query parameter's name)
    """Open steps of the caller, soonest due first; X-Pagination carries the total."""
    user = api_user()
    who = worklist_queries.WorklistFilter(user.username, user.process_roles, user.unit_code)
    with runtime().db.read_session() as s:
        rows, total = worklist_queries.work_items_for(
            s,
            who,
            filter,
            limit=pagination_parameters.page_size,
            offset=pagination_parameters.first_item,
        )
    pagination_parameters.item_count = total
    return [work_item_payload(item, dossier) for item, dossier in rows]


@blp.route("/<int:item_id>/claim", methods=["POST"])
@answered_by_the_view(blp, 200, schemas.WorkItemSchema)
@documented_errors(blp, *WRITE_ERRORS, token_only=True)
@accepts_key(blp)
def claim(item_id: int):
    """Take an open step of your role and unit."""
    rt, user = runtime(), api_user()
    keyed = keyed_request({})

    def claim_it(keep):
        return dossier_service.claim_work_item(
            rt,
            item_id,
            user.actor(),
            seen_by=user.may_see_unit,
            answer=keep(200, claimed_step_reply),
            answer_writes=keyed is not None,  # the key's record, written in the claim's transaction
        )

    # The claim's statement is its first word to the database: the key's lookup goes with it.
    return respond(idempotency.once(rt, keyed, claim_it, lookup_rides=True))


@blp.route("/<int:item_id>/unclaim", methods=["POST"])
@answered_by_the_view(blp, 200, schemas.WorkItemSchema)
@documented_errors(blp, *WRITE_ERRORS, token_only=True)
def unclaim(item_id: int):
    """Put a step you hold back into its role's pool (a leader may do it for anyone)."""
    user = api_user()
    released = dossier_service.unclaim_work_item(
        runtime(), item_id, user.actor(), seen_by=user.may_see_unit, answer=claimed_step_reply
    )
    return jsonify(released)  # dumped by its schema inside the transaction, as a claim's answer is


@blp.route("/<int:item_id>/complete", methods=["POST"])
@blp.arguments(schemas.CompleteSchema())
@answered_by_the_view(blp, 200, schemas.DossierSchema)
@documented_errors(blp, *WRITE_ERRORS, token_only=True)
@accepts_key(blp)
def complete(body: dict, item_id: int):
    """Complete the step with its form data (checked against the step's form: 422 names the field,
    e.g. `data.ly_do_tu_choi` for a refusal without its reason)."""
    rt, user = runtime(), api_user()

    def complete_it(keep):
        return complete_step(
            rt,
            item_id,
            user.actor(),
            body["data"],
            expected_version=body.get("version"),
            seen_by=user.may_see_unit,
            answer=keep(200, dossier_reply),
        )

    with fields_named(_REASON_FIELDS):
        return respond(idempotency.once(rt, keyed_request(body), complete_it))


@blp.route("/<int:item_id>/return", methods=["POST"])
@blp.arguments(schemas.ReturnSchema())
@blp.response(200, schemas.DossierSchema)
@documented_errors(blp, *WRITE_ERRORS, token_only=True)
def return_step(body: dict, item_id: int):
    """Send the dossier back to the previous step (trả lại), with the reason."""
    _check_visible(item_id)
    actions.return_to_previous(runtime(), item_id, api_user().actor(), body["reason"])
    return _dossier(_dossier_code(item_id))


@blp.route("/<int:item_id>/delegate", methods=["POST"])
@blp.arguments(schemas.DelegateSchema())
@blp.response(200, schemas.WorkItemSchema)
@documented_errors(blp, *WRITE_ERRORS, token_only=True)
def delegate(body: dict, item_id: int):
    """Hand the step to a colleague who works it and resolves it back to you."""
    _check_visible(item_id)
    with fields_named({"to_username": "to"}):
        actions.delegate_work_item(runtime(), item_id, api_user().actor(), body["to"], note=body.get("note"))
    return _item(item_id)


@blp.route("/<int:item_id>/resolve", methods=["POST"])
@blp.arguments(schemas.ResolveSchema())
@blp.response(200, schemas.WorkItemSchema)
@documented_errors(blp, *WRITE_ERRORS, token_only=True)
def resolve(body: dict, item_id: int):
    """As the delegate, hand the step back to its owner, who completes it."""
    _check_visible(item_id)
    actions.resolve_work_item(runtime(), item_id, api_user().actor(), body.get("data"), note=body.get("note"))
    return _item(item_id)


def _check_visible(item_id: int) -> str:
    """The step's unit; a step of a unit the caller cannot see is answered as unknown."""
    with runtime().db.read_session() as s:
        unit = worklist_queries.work_item_unit(s, item_id)
    if unit is None or not api_user().may_see_unit(unit):
        raise ApiError(404, f"Không tìm thấy bước xử lý {item_id}.")
    return unit


def _item(item_id: int) -> dict:
    with runtime().db.read_session() as s:
        item, dossier = worklist_queries.step_and_dossier(s, item_id)
    return work_item_payload(item, dossier)


def _dossier_code(item_id: int) -> str:
    with runtime().db.read_session() as s:
        return worklist_queries.step_and_dossier(s, item_id)[1].code


def _dossier(code: str) -> dict:
    with runtime().db.read_session() as s:
        return dossier_payload(dossier_queries.dossier_by_code(s, code))
