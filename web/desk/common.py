"""What every desk view shares: unit scoping (another unit's dossier is not found, not forbidden,
so its existence is not confirmed), local times, and the engine's refusals as page messages."""

from __future__ import annotations

from datetime import datetime

from flask import abort
from flask_babel import gettext
from flask_login import current_user

from engine.domain.errors import EngineError
from engine.store import dossier_queries
from engine.store import worklist_queries
from web.display import LOCAL_TZ as VN
from web.errors import refusal_kind
from web.refusals import localised


def visible_item(session, item_id: int):
    item = worklist_queries.work_item(session, item_id)
    if item is None or not current_user.may_see_unit(item.unit_code):
        abort(404, description=gettext("Không tìm thấy bước xử lý này trong đơn vị của bạn."))
    return item


def may_see_dossier(dossier) -> bool:
    return current_user.actor().may_see_dossier(dossier.unit_code, dossier.received_unit)


def visible_dossier(session, dossier_id: int) -> dossier_queries.DossierView:
    view = dossier_queries.dossier_view(session, dossier_id)
    if view is None or not may_see_dossier(view.dossier):
        abort(404, description=gettext("Không tìm thấy hồ sơ này trong đơn vị của bạn."))
    return view


def parse_local_datetime(text: str | None) -> datetime | None:
    """'2026-03-02T08:30' (an <input type=datetime-local>) in Vietnam time; None when unreadable."""
    try:
        value = datetime.fromisoformat((text or "").strip())
    except ValueError:
        return None
    return value.replace(tzinfo=VN) if value.tzinfo is None else value


def local_input(value: datetime | None) -> str:
    return value.astimezone(VN).strftime("%Y-%m-%dT%H:%M") if value else ""


def refusal_text(error: EngineError) -> str:
    """The engine's reason in the reader's language, headed by what kind of refusal it is."""
    return f"{refusal_kind(error)[1]}: {localised(error)}"
