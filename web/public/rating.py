"""The citizen's satisfaction rating from the lookup page (Decision 766/QĐ-TTg criteria): shown once
the dossier has its result, to whoever proved the lookup (code and digits, or the slip's QR), once."""

from __future__ import annotations

from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext
from flask_babel import lazy_gettext

from engine.domain.errors import ConflictError
from engine.domain.errors import EngineError
from engine.services import satisfaction
from web.public import bp
from web.public import dossier_lookup
from web.refusals import localised
from web.wiring import runtime

CRITERION_LABELS = {
    "time": lazy_gettext("Thời gian giải quyết"),
    "attitude": lazy_gettext("Thái độ của cán bộ"),
    "information": lazy_gettext("Thông tin, hướng dẫn"),
    "result": lazy_gettext("Kết quả giải quyết"),
}
SCORE_LABELS = {2: lazy_gettext("Rất hài lòng"), 1: lazy_gettext("Hài lòng"), 0: lazy_gettext("Không hài lòng")}


def rating_context(found) -> dict:
    """What the lookup page shows about rating a dossier it found."""
    if found is None or not satisfaction.can_rate(found.status):
        return {"rateable": False}
    return {
        "rateable": True,
        "rating": satisfaction.rating_of(runtime(), found.code),
        "criteria": CRITERION_LABELS,
        "score_labels": SCORE_LABELS,
    }


@bp.post("/tra-cuu/danh-gia")
def rate():
    code, token, factor = (request.form.get(name, "").strip() for name in ("ma", "k", "so"))
    back = url_for("public.lookup", ma=code, **({"k": token} if token else {"so": factor}))
    found, error = (
        dossier_lookup.look_up(code, token=token, factor=factor) if code and (token or factor) else (None, None)
    )
    if found is None:
        return render_template(
            "public/lookup.html",
            code=code,
            factor=factor,
            found=None,
            copies=[],
            error=error or gettext("Không tìm thấy hồ sơ với mã và số đã nhập."),
            asks_factor=False,
            rateable=False,
        ), 404
    scores = {criterion: _score(request.form.get(criterion)) for criterion in satisfaction.CRITERIA}
    try:
        satisfaction.rate(runtime(), found.code, scores, request.form.get("comment"))
    except ConflictError:
        flash(gettext("Hồ sơ này đã được đánh giá; mỗi hồ sơ chỉ đánh giá một lần."), "warning")
    except EngineError as problem:
        label = CRITERION_LABELS.get(problem.field)
        flash(
            gettext("Chọn mức đánh giá cho tiêu chí «%(criterion)s».", criterion=label)
            if label
            else localised(problem),
            "error",
        )
    else:
        flash(gettext("Cảm ơn ông/bà đã đánh giá mức độ hài lòng."), "success")
    return redirect(back + "#danh-gia")


def _score(text: str | None) -> int | None:
    return int(text) if text in ("0", "1", "2") else None
