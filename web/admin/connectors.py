"""The administrator's allow-list of hosts the http connector may call (service tasks)."""

from __future__ import annotations

from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext
from flask_login import current_user

from engine.domain import connectors
from engine.domain.errors import EngineError
from engine.services import service_calls
from web.admin import bp
from web.refusals import localised
from web.security import admin_required
from web.wiring import runtime


def connector_labels() -> dict[str, str]:
    return {
        "http": gettext("Gọi dịch vụ HTTP (máy chủ trong danh sách cho phép)"),
        "compute_fee": gettext("Tính phí, lệ phí (danh mục thủ tục hoặc bảng quyết định)"),
        "notify_applicant": gettext("Gửi thông báo cho người nộp hồ sơ"),
        "sync_portal": gettext("Báo trạng thái hồ sơ lên Cổng Dịch vụ công quốc gia"),
    }


@bp.get("/may-chu-ket-noi")
@admin_required
def connector_hosts():
    return render_template(
        "admin/connector_hosts.html",
        hosts=service_calls.allowed_hosts(runtime()),
        connectors=connectors.CONNECTORS.values(),
        labels=connector_labels(),
    )


@bp.post("/may-chu-ket-noi")
@admin_required
def allow_connector_host():
    host = request.form.get("host", "")
    try:
        row = service_calls.allow_host(runtime(), host, current_user.actor(), request.form.get("note"))
        flash(gettext("Đã cho phép máy chủ %(host)s.", host=row.host))
    except EngineError as exc:
        flash(localised(exc), "error")
    return redirect(url_for("admin.connector_hosts"))


@bp.post("/may-chu-ket-noi/<host>/xoa")
@admin_required
def forbid_connector_host(host: str):
    try:
        service_calls.forbid_host(runtime(), host, current_user.actor())
        flash(gettext("Đã bỏ máy chủ %(host)s khỏi danh sách.", host=host))
    except EngineError as exc:
        flash(localised(exc), "error")
    return redirect(url_for("admin.connector_hosts"))
