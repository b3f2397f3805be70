"""The forms the one-stop office prints for a dossier (Appendix I of Circular 03/2025/TT-VPCP, which
took over and renumbered Circular 01/2018's forms): HTML with print CSS, or the same page as PDF (WeasyPrint), each with its
official form number and a QR code that opens the dossier's public lookup."""

from __future__ import annotations

from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta

from flask import abort
from flask import current_app
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext
from flask_login import current_user
from markupsafe import Markup

from engine import pdf
from engine.services import citizen_copies
from engine.services import dossier_papers
from engine.services import payments
from engine.store import dossier_queries
from web.desk import bp
from web.desk import pdf_pages
from web.desk.common import visible_dossier
from web.desk.labels import ACTION_LABELS
from web.desk.labels import CLASSIFICATION_LABELS
from web.desk.labels import STATUS_LABELS_VI
from web.desk.labels import role_label
from web.display import LOCAL_TZ as VN
from web.public.lookup_codes import qr_token
from web.security import clerk_required
from web.wiring import runtime

KINDS = {
    "tiep_nhan": "Giấy tiếp nhận hồ sơ và hẹn trả kết quả",
    "bo_sung": "Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ",
    "tu_choi": "Phiếu từ chối tiếp nhận giải quyết hồ sơ",
    "xin_loi": "Phiếu xin lỗi và hẹn lại ngày trả kết quả",
    "kiem_soat": "Phiếu kiểm soát quá trình giải quyết hồ sơ",
    "so_theo_doi": "Sổ theo dõi hồ sơ",
    "dung": "Thông báo dừng giải quyết hồ sơ",
    "bien_lai": "Biên lai thu phí, lệ phí",
}
#: The official form numbers: Appendix I of Circular 03/2025/TT-VPCP (in force since 15 Sep 2025,
#: replacing Circular 01/2018's Mẫu số 01-06). It adds the stop notice as Mẫu số 05, so the control
#: slip and the log moved to 06 and 07 (docs/signing.md, "The printed forms' numbers").
FORM_NUMBERS = {
    "tiep_nhan": "Mẫu số 01",
    "bo_sung": "Mẫu số 02",
    "tu_choi": "Mẫu số 03",
    "xin_loi": "Mẫu số 04",
    "dung": "Mẫu số 05",
    "kiem_soat": "Mẫu số 06",
    "so_theo_doi": "Mẫu số 07",
}
FORM_SOURCE = "Phụ lục I, Thông tư 03/2025/TT-VPCP"

PAYMENT_METHODS = {"cash": "Tiền mặt", "bank": "Chuyển khoản", "portal": "Thanh toán trực tuyến"}
# A form that has nothing to say yet is not printed blank: say why instead.
MISSING = {
    "bo_sung": "Hồ sơ chưa có yêu cầu bổ sung nào.",
    "tu_choi": "Hồ sơ chưa bị từ chối.",
    "xin_loi": "Hồ sơ chưa được hẹn lại ngày trả kết quả.",
    "dung": "Hồ sơ chưa bị dừng xử lý.",
    "bien_lai": "Hồ sơ chưa có khoản nộp phí, lệ phí nào.",
}


@bp.get("/in/<int:dossier_id>/<kind>", endpoint="print")
@clerk_required
def print_form(dossier_id: int, kind: str):
    if kind not in KINDS:
        abort(404, description=gettext("Không có mẫu phiếu này."))
    with runtime().db.read_session() as s:
        visible_dossier(s, dossier_id)
    return render_form(dossier_id, kind, dossier_papers.papers(runtime(), dossier_id))


@bp.get("/in/<int:dossier_id>/<kind>.pdf", endpoint="print_pdf")
@clerk_required
def print_form_pdf(dossier_id: int, kind: str):
    """The same form as a PDF file (A5, or A4 for the control slip and the log), fonts embedded."""
    if kind not in KINDS:
        abort(404, description=gettext("Không có mẫu phiếu này."))
    with runtime().db.read_session() as s:
        code = visible_dossier(s, dossier_id).dossier.code
    page = render_form(dossier_id, kind, dossier_papers.papers(runtime(), dossier_id), as_pdf=True)
    return pdf_pages.pdf_response(page, f"{code}-{kind}.pdf")


def render_form(dossier_id: int, kind: str, papers, back_url: str | None = None, as_pdf: bool = False) -> str:
    """The form as printed (also the citizen's copy on the lookup page, web.public.copies, which
    passes `back_url` and gets the applicant's ID number and phone masked and no address); 404 with
    the reason when the dossier has nothing for it to say yet."""
    with runtime().db.read_session() as s:
        stop = dossier_queries.stop_event(s, dossier_id) if kind == "dung" else None
        fee_account = payments.account(s, papers.view.dossier) if kind == "bien_lai" else None
    dossier = papers.view.dossier
    if kind == "bien_lai" and not fee_account.payments:
        abort(404, description=MISSING[kind])
    if kind != "bien_lai" and not citizen_copies.form_issued(kind, papers, stop is not None) and kind in MISSING:
        abort(404, description=MISSING[kind])
    lookup_url = url_for(
        "public.lookup", ma=dossier.code, k=qr_token(dossier.code, current_app.config["SECRET_KEY"]), _external=True
    )
    now = runtime().clock.now()
    return render_template(
        f"desk/print/{kind}.html",
        title=KINDS[kind],
        papers=papers,
        dossier=dossier,
        view=papers.view,
        names=papers.names,
        lookup_url=lookup_url,
        qr=_qr_svg(lookup_url),
        form_number=FORM_NUMBERS.get(kind),
        form_source=FORM_SOURCE,
        as_pdf=as_pdf,
        kind=kind,
        back_url=back_url,
        now=now,
        tz=papers.tz,
        issued_at=_issued_at(kind, papers, stop, fee_account) or now,
        classes=CLASSIFICATION_LABELS,
        actions=ACTION_LABELS,
        role_label=role_label,
        stop=stop,
        fee_account=fee_account,
        methods=PAYMENT_METHODS,
        status=STATUS_LABELS_VI.get(dossier.status, str(dossier.status)),
    )


def _issued_at(kind: str, papers, stop, fee_account=None) -> datetime | None:
    """The day a form is dated: when what it records happened (the control slip and the log are
    dated the day they are printed)."""
    issued = {
        "tiep_nhan": lambda: papers.view.dossier.received_at,
        "bo_sung": lambda: papers.supplement.at,
        "tu_choi": lambda: papers.refusal.at,
        "xin_loi": lambda: papers.reappointed_at,
        "dung": lambda: stop.at,
        "bien_lai": lambda: fee_account.payments[-1].paid_at,
    }.get(kind)
    return issued() if issued else None


def _qr_svg(url: str) -> Markup:
    """The engine's inline SVG QR code (no image request, prints sharp), as markup for the page."""
    return Markup(pdf.qr_svg(url))


@bp.get("/so-theo-doi", endpoint="register")
@clerk_required
def unit_register():
    """The unit's register of dossiers for a period (the dossier log, Mẫu số 07: one line per dossier)."""
    rt = runtime()
    today = rt.clock.now().astimezone(VN).date()
    try:
        first = date.fromisoformat(request.args.get("tu") or today.replace(day=1).isoformat())
        last = date.fromisoformat(request.args.get("den") or today.isoformat())
    except ValueError:
        abort(400, description=gettext("Ngày không hợp lệ: nhập dạng YYYY-MM-DD."))
    if last < first:
        abort(400, description=gettext("Đến ngày phải sau từ ngày."))
    start = datetime.combine(first, time.min, VN)
    end = datetime.combine(last + timedelta(days=1), time.min, VN)
    with rt.db.read_session() as s:
        rows = dossier_queries.register(s, current_user.unit_code, start, end)
        tz = rt.calendars.for_unit(s, current_user.unit_code).tz
    return render_template(
        "desk/register.html",
        rows=rows,
        first=first,
        last=last,
        tz=tz,
        limit=dossier_queries.REGISTER_LIMIT,
        statuses=STATUS_LABELS_VI,
        classes=CLASSIFICATION_LABELS,
    )
