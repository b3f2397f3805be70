"""The inbox (hộp việc): the unit's open steps in four tabs, soonest due first, with badges from
the clock; htmx refreshes the list every minute and on each filter change."""

from __future__ import annotations

from flask import abort
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext
from flask_login import current_user

from engine.domain.assignment import StepHolding
from engine.domain.assignment import offered_actions
from engine.domain.errors import EngineError
from engine.domain.errors import NotFound
from engine.services import dossiers
from engine.store import worklist_queries
from web.desk import bp
from web.desk.common import refusal_text
from web.desk.labels import TAB_LABELS
from web.desk.labels import role_label
from web.security import clerk_required
from web.wiring import runtime


@bp.get("/")
@clerk_required
def inbox():
    return render_template("desk/inbox.html", **_listing())


@bp.get("/danh-sach")
@clerk_required
def inbox_list():
    return render_template("desk/_inbox_list.html", **_listing())


@bp.post("/buoc/<int:item_id>/nhan")
@clerk_required
def claim(item_id: int):
    return _hand(item_id, dossiers.claim_work_item, gettext("Đã nhận xử lý."))


@bp.post("/buoc/<int:item_id>/tra-nhom")
@clerk_required
def unclaim(item_id: int):
    return _hand(item_id, dossiers.unclaim_work_item, gettext("Đã trả bước về nhóm."))


def _hand(item_id: int, action, done: str):
    """Claim or release; from the inbox (htmx) the refreshed list comes back, else the step's page.
    A step of a unit the clerk cannot see is answered as unknown, checked in the change itself."""
    error = None
    try:
        action(runtime(), item_id, current_user.actor(), seen_by=current_user.may_see_unit)
    except NotFound:
        abort(404, description=gettext("Không tìm thấy bước xử lý này trong đơn vị của bạn."))
    except EngineError as exc:
        error = refusal_text(exc)
    if request.headers.get("HX-Request"):
        return render_template(
            "desk/_inbox_list.html", **_listing(), message=error or done, failed=error is not None
        ), (422 if error else 200)
    flash(error or done, "error" if error else "success")
    return redirect(url_for("desk.work_item", item_id=item_id))


def _listing() -> dict:
    args = request.values
    asked = worklist_queries.TAB_ALIASES.get(args.get("tab") or "", args.get("tab"))
    tab = asked if asked in worklist_queries.TABS else "cua_toi"
    who = worklist_queries.WorklistFilter(
        current_user.username,
        current_user.process_roles,
        current_user.unit_code,
        procedure_key=args.get("thu_tuc") or None,
        text=args.get("q") or None,
    )
    with runtime().db.read_session() as s:
        page = worklist_queries.inbox_page(s, who, tab)
    return {
        "rows": page.rows,
        "counts": page.counts,
        "tab": tab,
        "tabs": TAB_LABELS,
        "filters": who,
        "procedures": page.procedures,
        "names": page.names,
        "returned": page.returned,
        "now": runtime().clock.now(),
        "role_label": role_label,
        "offered": _offered_to(current_user.actor()),
    }


def _offered_to(actor):
    """The inbox offers claim and release exactly when the engine would accept them."""
    return lambda row: offered_actions(actor, StepHolding.of(row))
