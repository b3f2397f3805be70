from __future__ import annotations

from datetime import date

from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext
from flask_login import current_user
from werkzeug.security import generate_password_hash

from engine.domain.errors import EngineError
from engine.services import administration
from engine.services import incidents as incident_service
from engine.services import portal_admin
from engine.services.administration import Account
from engine.store import admin_queries
from web.admin import bp
from web.admin.roles import role_choices
from web.refusals import localised
from web.security import admin_required
from web.wiring import runtime

MIN_PASSWORD = 10


@bp.get("/nguoi-dung")
@admin_required
def users():
    unit, text = request.args.get("don_vi") or None, (request.args.get("q") or "").strip()
    with runtime().db.read_session() as s:
        found = admin_queries.users(s, unit_code=unit, text=text)
        units = admin_queries.unit_choices(s)
    return render_template("admin/users.html", users=found, units=units, unit=unit, q=text)


@bp.route("/nguoi-dung/moi", methods=["GET", "POST"])
@admin_required
def new_user():
    return _user_form(None)


@bp.route("/nguoi-dung/<username>", methods=["GET", "POST"])
@admin_required
def edit_user(username: str):
    with runtime().db.read_session() as s:
        user = admin_queries.user(s, username)
    if user is None:
        return render_template(
            "error.html",
            title=gettext("Không tìm thấy"),
            message=gettext("Không có tài khoản %(username)s", username=username),
            status=404,
        ), 404
    return _user_form(user)


def _user_form(user):
    values = _form_values(user)
    error = None
    if request.method == "POST":
        values = dict(request.form, roles=request.form.getlist("roles"), active="active" in request.form)
        try:
            _save_user(user, values)
        except EngineError as exc:
            error = exc
        else:
            username = values["username"] if user is None else user.username
            flash(gettext("Đã lưu tài khoản %(username)s.", username=username))
            return redirect(url_for("admin.users"))
    with runtime().db.read_session() as s:
        units = admin_queries.unit_choices(s)
    return render_template(
        "admin/user_form.html", user=user, values=values, units=units, roles=role_choices(), error=error
    ), (422 if error else 200)


def _save_user(user, values: dict) -> None:
    password = values.get("password") or ""
    if (user is None or password) and len(password) < MIN_PASSWORD:
        raise EngineError("a password needs at least %(count)s characters", field="password", count=MIN_PASSWORD)
    account = Account(
        username=(values.get("username") or "").strip() if user is None else user.username,
        full_name=values.get("full_name") or "",
        unit_code=values.get("unit_code") or None,
        roles=tuple(values.get("roles") or ()),
        email=values.get("email") or None,
        phone=values.get("phone") or None,
        active=bool(values.get("active")),
    )
    digest = generate_password_hash(password) if password else None
    if user is None:
        administration.create_user(runtime(), current_user.actor(), account, digest)
    else:
        administration.update_user(runtime(), current_user.actor(), account, digest)


def _form_values(user) -> dict:
    if user is None:
        return {"username": "", "full_name": "", "unit_code": "", "roles": [], "email": "", "phone": "", "active": True}
    return {
        "username": user.username,
        "full_name": user.full_name,
        "unit_code": user.unit_code or "",
        "roles": sorted(user.role_set),
        "email": user.email or "",
        "phone": user.phone or "",
        "active": user.active,
    }


@bp.get("/lich")
@admin_required
def calendar():
    code = (request.args.get("ma") or "VN").strip()
    month = _month(request.args.get("thang"))
    rt = runtime()
    with rt.db.read_session() as s:
        overrides = admin_queries.calendar_overrides(s, code)
        units = admin_queries.unit_choices(s)
        days = admin_queries.month_days(s, rt.calendars, code, month)
    return render_template(
        "admin/calendar.html",
        code=code,
        overrides=overrides,
        units=units,
        month=month,
        days=days,
        error=None,
        values={},
    )


@bp.post("/lich")
@admin_required
def add_calendar_days():
    form = request.form
    code = (form.get("ma") or "VN").strip()
    try:
        date_from = _date(form.get("date_from"), "date_from")
        date_to = _date(form.get("date_to") or form.get("date_from"), "date_to")
        administration.add_calendar_days(
            runtime(),
            current_user.actor(),
            calendar_code=code,
            date_from=date_from,
            date_to=date_to,
            kind=form.get("kind") or "",
            note=form.get("note") or "",
        )
    except EngineError as exc:
        rt = runtime()
        month = _month(form.get("thang"))
        with rt.db.read_session() as s:
            overrides = admin_queries.calendar_overrides(s, code)
            units = admin_queries.unit_choices(s)
            days = admin_queries.month_days(s, rt.calendars, code, month)
        return render_template(
            "admin/calendar.html",
            code=code,
            overrides=overrides,
            units=units,
            month=month,
            days=days,
            error=exc,
            values=form,
        ), 422
    flash(gettext("Đã thêm ngày vào lịch %(code)s.", code=code))
    return redirect(url_for("admin.calendar", ma=code, thang=date_from.strftime("%Y-%m")))


@bp.post("/lich/<int:override_id>/xoa")
@admin_required
def remove_calendar_day(override_id: int):
    record = administration.remove_calendar_day(runtime(), current_user.actor(), override_id)
    flash(
        gettext(
            "Đã xoá thay đổi lịch %(start)s–%(end)s.",
            start=f"{record.date_from:%d/%m/%Y}",
            end=f"{record.date_to:%d/%m/%Y}",
        )
    )
    return redirect(url_for("admin.calendar", ma=record.calendar_code))


def _date(text: str | None, field: str) -> date:
    try:
        return date.fromisoformat((text or "").strip())
    except ValueError:
        raise EngineError("enter the date as YYYY-MM-DD", field=field) from None


def _month(text: str | None) -> date:
    try:
        return date.fromisoformat(f"{text}-01") if text else runtime().clock.now().date().replace(day=1)
    except ValueError:
        return runtime().clock.now().date().replace(day=1)


def _incident_kinds() -> dict[str, str]:
    return {
        "timer": gettext("Hẹn giờ"),
        "sla": gettext("Cảnh báo hạn xử lý"),
        "forecast": gettext("Dự báo trễ hẹn"),
        "outbox": gettext("Thông báo"),
        "absence": gettext("Chuyển xử lý thay"),
        "service": gettext("Bước dịch vụ (trình kết nối)"),
    }


def _incident_statuses() -> dict[str, str]:
    return {"retrying": gettext("Đang thử lại"), "open": gettext("Chờ xử lý"), "resolved": gettext("Đã đóng")}


@bp.get("/su-co")
@admin_required
def incidents():
    """Background work that failed: what, on which dossier and element, the error; retry or close."""
    found = incident_service.listing(runtime(), include_resolved=request.args.get("tat_ca") == "1")
    return render_template(
        "admin/incidents.html", incidents=found, kinds=_incident_kinds(), statuses=_incident_statuses()
    )


@bp.post("/su-co/<int:incident_id>/thu-lai")
@admin_required
def retry_incident(incident_id: int):
    return _incident_action(
        incident_service.retry,
        incident_id,
        gettext("Sự cố %(id)s sẽ được chạy lại ở lượt xử lý nền kế tiếp.", id=incident_id),
    )


@bp.post("/su-co/<int:incident_id>/dong")
@admin_required
def resolve_incident(incident_id: int):
    return _incident_action(incident_service.resolve, incident_id, gettext("Đã đóng sự cố %(id)s.", id=incident_id))


def _incident_action(action, incident_id: int, done: str):
    try:
        action(runtime(), incident_id, current_user.actor())
        flash(done)
    except EngineError as exc:
        flash(localised(exc), "error")
    return redirect(url_for("admin.incidents"))


@bp.get("/cong-dvc")
@admin_required
def portal():
    """The portal connection: each province's settings, and the messages the portal did not take
    (dead letters, with the error) or has not taken yet; a dead letter can be sent again."""
    return render_template(
        "admin/portal.html", settings=portal_admin.settings(runtime()), backlog=portal_admin.backlog(runtime())
    )


@bp.post("/cong-dvc/<int:message_id>/gui-lai")
@admin_required
def resend_portal_message(message_id: int):
    try:
        portal_admin.resend(runtime(), message_id, current_user.actor())
        flash(gettext("Thông điệp %(id)s sẽ được gửi lại lên Cổng ở lượt xử lý nền kế tiếp.", id=message_id))
    except EngineError as exc:
        flash(localised(exc), "error")
    return redirect(url_for("admin.portal"))
