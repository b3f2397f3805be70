from __future__ import annotations

import re

from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_login import current_user
from flask_login import login_required

from engine.domain.model import DossierStatus
from engine.store import queries
from web.navigation import home_endpoint
from web.public import bp
from web.wiring import runtime

STATUS_LABELS_VI = {
    DossierStatus.NEW: "Mới đăng ký", DossierStatus.ACCEPTED: "Được tiếp nhận",
    DossierStatus.NOT_ACCEPTED: "Không được tiếp nhận", DossierStatus.IN_PROCESSING: "Đang xử lý",
    DossierStatus.SUPPLEMENT_REQUESTED: "Yêu cầu bổ sung giấy tờ",
    DossierStatus.FINANCIAL_OBLIGATION: "Yêu cầu thực hiện nghĩa vụ tài chính",
    DossierStatus.WITHDRAWAL_REQUESTED: "Công dân yêu cầu rút hồ sơ", DossierStatus.STOPPED: "Dừng xử lý",
    DossierStatus.PROCESSED: "Đã xử lý xong", DossierStatus.RESULT_RETURNED: "Đã trả kết quả",
}
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
            with runtime().db.read_session() as s:
                found = queries.public_status(s, code)
            if found is None:
                # The same answer for every unknown code: the page does not confirm which codes exist.
                error = "Không tìm thấy hồ sơ với mã này. Vui lòng kiểm tra lại mã trên giấy hẹn."
    status_label = STATUS_LABELS_VI.get(DossierStatus(found.status)) if found else None
    return render_template("public/lookup.html", code=code, found=found, error=error, status_label=status_label)
