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
from engine.store import queries
from web import throttle
from web.display import NEXT_STEP_VI
from web.display import STATUS_LABELS_VI
from web.navigation import home_endpoint
from web.public import bp
from web.security import client_address
from web.wiring import runtime

MAX_UNKNOWN_LOOKUPS = 20
CODE_SHAPE = re.compile(r"^[0-9A-Za-z.]{1,40}-\d{6}-\d{4,6}$")


@bp.get("/")
def index():
    with runtime().db.read_session() as s:
        counts = queries.status_counts(s)
        definitions = queries.published_definitions(s)
        units = queries.unit_count(s)
    return render_template("public/index.html", counts=counts, labels=STATUS_LABELS_VI,
                           definitions=definitions, units=units)


@bp.get("/trang-chu")
@login_required
def home():
    """Where a user lands after signing in: their inbox, dashboard or modeller's list."""
    return redirect(url_for(home_endpoint(current_user)))


@bp.get("/tra-cuu")
def lookup():
    code = (request.args.get("ma") or "").strip()
    found, error = None, None
    if code:
        if not CODE_SHAPE.match(code):
            error = "Mã hồ sơ không đúng định dạng (ví dụ: 01.00070-260302-0001)."
        else:
            found, error = _look_up(code)
    status_label = STATUS_LABELS_VI.get(DossierStatus(found.status)) if found else None
    return render_template("public/lookup.html", code=code, found=found, error=error, status_label=status_label,
                           next_step=NEXT_STEP_VI.get(DossierStatus(found.status)) if found else None)


def _look_up(code: str):
    """The dossier's public status, or the one answer every unknown code gets. An address that
    tries many unknown codes is told to wait, whatever it asks next, so codes cannot be mined."""
    rt = runtime()
    now = rt.clock.now()
    bucket = f"lookup-address:{client_address()}"
    with rt.db.session() as s:
        if throttle.blocked(s, {bucket: MAX_UNKNOWN_LOOKUPS}, now):
            return None, gettext("Bạn đã tra cứu quá nhiều mã không đúng. Vui lòng thử lại sau %(minutes)s phút.",
                                 minutes=throttle.WINDOW_MINUTES)
        found = queries.public_status(s, code)
        if found is None:
            throttle.hit(s, [bucket], now)
            return None, "Không tìm thấy hồ sơ với mã này. Vui lòng kiểm tra lại mã trên giấy hẹn."
    return found, None
