"""The overview page and the citizen's lookup of a dossier by its code and a second factor (or the
slip's QR code)."""

from __future__ import annotations

import re

from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext
from flask_login import current_user
from flask_login import login_required

from engine.domain.model import DossierStatus
from engine.services import citizen_copies
from engine.services import payments
from engine.store import queries
from engine.store.records import DossierRecord
from web.display import NEXT_STEP_VI
from web.display import STATUS_LABELS_VI
from web.navigation import home_endpoint
from web.public import bp
from web.public import copies
from web.public import dossier_lookup
from web.public import lookup_codes
from web.public import rating
from web.public import records
from web.wiring import runtime

CODE_SHAPE = re.compile(r"^[0-9A-Za-z.]{1,40}-\d{6}-\d{4,6}$")


@bp.get("/")
def index():
    with runtime().db.read_session() as s:
        counts = queries.status_counts(s)
        definitions = queries.published_definitions(s)
        units = queries.unit_count(s)
    return render_template(
        "public/index.html", counts=counts, labels=STATUS_LABELS_VI, definitions=definitions, units=units
    )


@bp.get("/trang-chu")
@login_required
def home():
    """Where a user lands after signing in: their inbox, dashboard or modeller's list."""
    return redirect(url_for(home_endpoint(current_user)))


@bp.get("/tra-cuu")
def lookup():
    code = (request.args.get("ma") or "").strip()
    token = (request.args.get("k") or "").strip()
    factor = (request.args.get("so") or "").strip()
    found, error = None, None
    if code and not CODE_SHAPE.match(code):
        error = gettext("Mã hồ sơ không đúng định dạng (ví dụ: 01.00070-260302-0001).")
    elif code and factor and not token and not lookup_codes.FACTOR_SHAPE.match(factor):
        error = gettext(
            "Nhập đúng 4 chữ số cuối của số điện thoại (hoặc của số CCCD nếu hồ sơ không có số điện thoại)."
        )
    elif code and (token or factor):  # the code alone proves nothing: the form then asks for the digits
        found, error = dossier_lookup.look_up(code, token=token, factor=factor)
    status_label = STATUS_LABELS_VI.get(DossierStatus(found.status)) if found else None
    found_id = citizen_copies.dossier_id_of(runtime(), found.code) if found else None
    return render_template(
        "public/lookup.html",
        code=code,
        factor=factor,
        found=found,
        error=error,
        checks=records.result_checks(found_id) if found_id else [],
        reuses=records.reuses(found_id) if found_id else [],
        copies=copies.listed_copies(found.code) if found else [],
        status_label=status_label,
        asks_factor=bool(code) and not found,
        next_step=NEXT_STEP_VI.get(DossierStatus(found.status)) if found else None,
        token=token,
        fees=_fees_of(found.code) if found else None,
        **rating.rating_context(found),
    )


def _fees_of(code: str):
    """The dossier's fees and what was paid, for the citizen (None when none were recorded)."""
    with runtime().db.read_session() as s:
        dossier = s.get(DossierRecord, queries.dossier_id_by_code(s, code))
        fee_account = payments.account(s, dossier)
    return fee_account if fee_account.lines or fee_account.payments else None
