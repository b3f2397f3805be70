"""Decisions a step's form records (`ket_qua`) that the citizen is told about in writing: a request
to supplement the dossier, or a refusal. A refusal is printed on the refusal slip with its reason,
so it is never recorded without one.

Standard library only: the engine checks a step's data with it, the printed forms read it.
"""

from __future__ import annotations

from collections.abc import Mapping

from engine.domain.errors import InvalidAction

DECISION_KEY = "ket_qua"
SUPPLEMENT_DECISIONS = frozenset({"bo_sung"})
REFUSAL_DECISIONS = frozenset({"tu_choi", "khong_dat"})
#: Where the library's forms write what the supplement request or the refusal says, in order.
SUPPLEMENT_TEXT_FIELDS = ("noi_dung_bo_sung", "y_kien")
REFUSAL_TEXT_FIELDS = ("ly_do_tu_choi", "y_kien")
#: The field a refusal's reason belongs in: reception refuses (ly_do_tu_choi), appraisal finds the
#: conditions unmet and says why in its opinion (y_kien).
REFUSAL_REASON_FIELD = {"tu_choi": "ly_do_tu_choi", "khong_dat": "y_kien"}


def is_refusal(data: Mapping) -> bool:
    decision = data.get(DECISION_KEY)
    return isinstance(decision, str) and decision in REFUSAL_DECISIONS  # a dict or list is no decision (nor a 500)


def decision_text(data: Mapping, text_fields: tuple[str, ...]) -> str | None:
    """The first non-blank text the decision was recorded with."""
    return next((str(data[f]).strip() for f in text_fields if str(data.get(f) or "").strip()), None)


def refusal_without_reason(data: Mapping) -> InvalidAction | None:
    """Why a step's data may not be recorded: a refusal with no reason (None when it may)."""
    if not is_refusal(data) or decision_text(data, REFUSAL_TEXT_FIELDS):
        return None
    return InvalidAction(
        "a refusal needs a reason (it is printed on the refusal slip)", field=REFUSAL_REASON_FIELD[data[DECISION_KEY]]
    )
