"""Absences (vắng mặt): declare who substitutes while away, optionally for one procedure or role;
list them; end one. Overlapping or circular delegations come back as the engine's refusal."""

from __future__ import annotations

from datetime import date

from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext
from flask_login import current_user

from engine.domain.errors import EngineError
from engine.services import absences as absence_service
from engine.store import people_queries
from engine.store import queries
from web.desk import bp
from web.desk.common import VN
from web.desk.common import refusal_text
from web.desk.labels import role_label
from web.security import PRODUCT_ROLES
from web.security import clerk_required
from web.wiring import runtime


@bp.get("/vang-mat")
@clerk_required
def absences():
    today = runtime().clock.now().astimezone(VN).date().isoformat()
    return _page({"username": current_user.username, "date_from": today, "date_to": today}, {})


@bp.post("/vang-mat")
@clerk_required
def declare_absence():
    form = {k: (v or "").strip() for k, v in request.form.items() if k != "csrf_token"}
    errors = {}
    username = form.get("username") or current_user.username
    if not form.get("substitute"):
        errors["substitute"] = gettext("Chọn người xử lý thay.")
    date_from, date_to = _date(form.get("date_from")), _date(form.get("date_to"))
    if date_from is None:
        errors["date_from"] = gettext("Ngày bắt đầu không hợp lệ.")
    if date_to is None:
        errors["date_to"] = gettext("Ngày kết thúc không hợp lệ.")
    if not errors:
        try:
            absence_service.declare_absence(
                runtime(),
                current_user.actor(),
                username,
                form["substitute"],
                date_from,
                date_to,
                procedure_key=form.get("procedure_key") or None,
                role=form.get("role") or None,
                note=form.get("note") or None,
            )
        except EngineError as error:
            errors[error.field or "form"] = refusal_text(error)
    if errors:
        return _page(form, errors), 422
    flash(gettext("Đã đăng ký vắng mặt, %(name)s xử lý thay.", name=form["substitute"]), "success")
    return redirect(url_for("desk.absences"))


@bp.post("/vang-mat/<int:absence_id>/ket-thuc")
@clerk_required
def end_absence(absence_id: int):
    give_back = request.form.get("give_back", "1") == "1"
    try:
        returned = absence_service.end_absence(runtime(), current_user.actor(), absence_id, give_back=give_back)
    except EngineError as error:
        return _page({"username": current_user.username}, {"form": refusal_text(error)}), 422
    flash(gettext("Đã kết thúc vắng mặt; %(n)s bước được chuyển lại.", n=len(returned)), "success")
    return redirect(url_for("desk.absences"))


def _page(values: dict, errors: dict):
    leader = current_user.actor().is_supervising()
    with runtime().db.read_session() as s:
        listed = (
            people_queries.absences_of_unit(s, current_user.unit_code)
            if leader
            else people_queries.absences_involving(s, current_user.username)
        )
        colleagues = people_queries.colleagues(s, current_user.unit_code)
        procedures = queries.published_definitions(s)
        names = people_queries.full_names(s, [a.username for a in listed] + [a.substitute for a in listed])
    # A leader declares for anyone of the unit: offer every role held there.
    roles = ({r for u in colleagues for r in u.role_set} - PRODUCT_ROLES) if leader else current_user.process_roles
    return render_template(
        "desk/absences.html",
        values=values,
        errors=errors,
        absences=listed,
        leader=leader,
        colleagues=colleagues,
        procedures=procedures,
        names=names,
        role_label=role_label,
        roles=sorted(roles),
    )


def _date(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text or "")
    except ValueError:
        return None
