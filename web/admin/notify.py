"""The administrator's notification providers (SMS, Zalo, e-mail) per province or unit: the list,
the settings form of one channel (secrets write-only), removal and a test message."""

from __future__ import annotations

from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext
from flask_login import current_user

from engine.domain.errors import EngineError
from engine.services import notify_providers
from engine.services.citizen_channels import APPLICANT_CHANNELS
from web.admin import bp
from web.refusals import localised
from web.security import admin_required
from web.wiring import runtime


def channel_labels() -> dict[str, str]:
    return {
        "sms": gettext("SMS thương hiệu (eSMS.vn)"),
        "zalo": gettext("Zalo ZNS (Official Account)"),
        "email": gettext("Thư điện tử (SMTP)"),
    }


def setting_labels() -> dict[str, str]:
    return {
        "api_key": gettext("Khóa API (ApiKey)"),
        "secret_key": gettext("Khóa bí mật (SecretKey)"),
        "brandname": gettext("Tên thương hiệu đã đăng ký (brandname)"),
        "url": gettext("Địa chỉ API (để trống: địa chỉ của nhà cung cấp)"),
        "sms_type": gettext("Loại tin (SmsType, mặc định 2: chăm sóc khách hàng)"),
        "unicode": gettext("Gửi tiếng Việt có dấu (tốn phí hơn)"),
        "sandbox": gettext("Chế độ thử của nhà cung cấp"),
        "access_token": gettext("Access token của Official Account"),
        "template_id": gettext("Mã mẫu ZNS đã được Zalo duyệt"),
        "host": gettext("Máy chủ SMTP"),
        "port": gettext("Cổng (mặc định 25)"),
        "sender": gettext("Địa chỉ người gửi"),
        "username": gettext("Tên đăng nhập"),
        "password": gettext("Mật khẩu"),
        "starttls": gettext("Nâng cấp kết nối (STARTTLS)"),
    }


@bp.get("/kenh-thong-bao")
@admin_required
def notify_providers_page():
    channel = request.args.get("kenh") if request.args.get("kenh") in APPLICANT_CHANNELS else "sms"
    unit_code = (request.args.get("don_vi") or "").strip()[:16]
    current = notify_providers.provider(runtime(), unit_code, channel) if unit_code else None
    values = {"unit_code": unit_code, **(current.settings if current else {})}
    return _page(channel, values, current, {})


@bp.post("/kenh-thong-bao/<channel>")
@admin_required
def save_notify_provider(channel: str):
    if channel not in APPLICANT_CHANNELS:
        return redirect(url_for("admin.notify_providers_page"))
    unit_code = (request.form.get("unit_code") or "").strip()[:16]
    values = {spec.name: request.form.get(spec.name, "") for spec in notify_providers.SETTINGS[channel]}
    try:
        notify_providers.save(runtime(), unit_code, channel, values, current_user.actor())
    except EngineError as exc:
        current = notify_providers.provider(runtime(), unit_code, channel) if unit_code else None
        shown = {name: value for name, value in values.items() if name not in _secrets(channel)}
        return _page(
            channel, {"unit_code": unit_code, **shown}, current, {exc.field or "unit_code": localised(exc)}
        ), 422
    flash(gettext("Đã lưu kênh %(channel)s của đơn vị %(unit)s.", channel=channel_labels()[channel], unit=unit_code))
    return redirect(url_for("admin.notify_providers_page", kenh=channel, don_vi=unit_code))


@bp.post("/kenh-thong-bao/<channel>/<unit_code>/xoa")
@admin_required
def remove_notify_provider(channel: str, unit_code: str):
    try:
        notify_providers.remove(runtime(), unit_code, channel, current_user.actor())
        flash(
            gettext(
                "Đã tắt kênh %(channel)s của đơn vị %(unit)s.", channel=channel_labels().get(channel), unit=unit_code
            )
        )
    except EngineError as exc:
        flash(localised(exc), "error")
    return redirect(url_for("admin.notify_providers_page", kenh=channel))


@bp.post("/kenh-thong-bao/gui-thu")
@admin_required
def test_notify_provider():
    channel = request.form.get("channel", "")
    unit_code = (request.form.get("unit_code") or "").strip()[:16]
    recipient = request.form.get("recipient", "")
    try:
        notify_providers.send_test(runtime(), unit_code, channel, recipient, current_user.actor())
        flash(gettext("Nhà cung cấp đã nhận tin nhắn thử tới %(to)s.", to=recipient.strip()))
    except EngineError as exc:
        flash(localised(exc), "error")
    shown = channel if channel in APPLICANT_CHANNELS else "sms"
    return redirect(url_for("admin.notify_providers_page", kenh=shown, don_vi=unit_code or None))


def _page(channel: str, values: dict, current, errors: dict):
    return render_template(
        "admin/notify_providers.html",
        providers=notify_providers.providers(runtime()),
        channel=channel,
        channels=channel_labels(),
        specs=notify_providers.SETTINGS[channel],
        labels=setting_labels(),
        values=values,
        kept=set(current.secrets_kept) if current else set(),
        errors=errors,
    )


def _secrets(channel: str) -> set[str]:
    return {spec.name for spec in notify_providers.SETTINGS[channel] if spec.kind == "secret"}
