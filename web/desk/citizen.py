"""The dossier page's citizen side: what the applicant was told and whether it reached them (a
channel with no provider, or failing, is shown, never silent), the fees with their payments and the
form recording one, and the printed receipt."""

from __future__ import annotations

from flask import flash
from flask_babel import gettext
from flask_babel import lazy_gettext
from flask_login import current_user

from engine.domain.errors import EngineError
from engine.services import fees
from engine.services.payments import Payment
from engine.services.payments import account
from engine.store import notification_queries
from engine.store.records import DossierRecord
from web.refusals import localised
from web.wiring import runtime

CHANNEL_NAMES = {"sms": lazy_gettext("SMS"), "zalo": lazy_gettext("Zalo"), "email": lazy_gettext("Thư điện tử")}
MESSAGE_STATES = {
    "pending": lazy_gettext("đang gửi"),
    "sent": lazy_gettext("đã gửi"),
    "dead": lazy_gettext("không gửi được sau nhiều lần thử"),
    "off": lazy_gettext("chưa gửi: kênh chưa được cấu hình cho đơn vị"),
}
METHOD_NAMES = {
    "cash": lazy_gettext("Tiền mặt tại quầy"),
    "bank": lazy_gettext("Chuyển khoản ngân hàng"),
    "portal": lazy_gettext("Thanh toán trực tuyến qua cổng dịch vụ công"),
}


def citizen_context(dossier: DossierRecord) -> dict:
    with runtime().db.read_session() as s:
        fee_account = account(s, dossier)
        messages = notification_queries.applicant_messages(s, dossier.id)
    return {
        "fee_account": fee_account,
        "applicant_messages": messages,
        "not_told": sorted({(m.channel, m.status) for m in messages if m.status in ("off", "dead")}),
        "channel_names": CHANNEL_NAMES,
        "message_states": MESSAGE_STATES,
        "method_names": METHOD_NAMES,
    }


def payment_from_form(form) -> tuple[Payment | None, dict[str, str]]:
    """The payment form's payment, or the error beside its amount."""
    amount = (form.get("amount_vnd") or "").strip().replace(".", "")
    if not amount.isdigit() or len(amount) > 12:
        return None, {"payment.amount_vnd": gettext("Số tiền nộp là số đồng, ví dụ 8000.")}
    return Payment(int(amount), form.get("method") or "cash", form.get("reference")), {}


def record_payment(dossier_id: int, form) -> dict[str, str]:
    """Record the payment; the errors to show beside the form's fields (none when recorded)."""
    payment, errors = payment_from_form(form)
    if errors:
        return errors
    try:
        fees.record_payment(runtime(), dossier_id, current_user.actor(), payment)
    except EngineError as error:
        return {f"payment.{error.field}" if error.field else "payment": localised(error)}
    amount = f"{payment.amount_vnd:,}".replace(",", ".")
    flash(gettext("Đã ghi nhận khoản nộp %(amount)s đồng.", amount=amount), "success")
    return {}
