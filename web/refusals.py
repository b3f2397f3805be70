"""The engine's messages in the reader's language.

The engine words its errors, and the configurator its validation findings, in English for every
caller (CLI, API, logs) as templates with named values (engine/domain/errors.py). The pages show
them through the "engine" catalogue (web/translations/vi/LC_MESSAGES/engine.po: English ids,
Vietnamese text), putting the values back after translating the ones that are words (a
dossier's state, a nested reason). A message the catalogue lacks shows in English rather than not
at all."""

from __future__ import annotations

from datetime import date
from datetime import datetime

from flask_babel import Domain

from configurator.validation import Finding
from engine.domain.errors import EngineError
from engine.domain.errors import Reason
from web.display import LOCAL_TZ
from web.i18n import current_language

engine_messages = Domain(domain="engine")

#: The `state` values: words of the engine's vocabulary (states of dossiers, steps and versions).
_WORDS_VI = {
    "running": "đang xử lý",
    "suspended": "tạm dừng",
    "completed": "hoàn thành",
    "cancelled": "đã dừng",
    "open": "chờ nhận",
    "claimed": "đã nhận",
    "draft": "bản nháp",
    "published": "đã công bố",
    "retired": "ngừng dùng",
    "READY": "sẵn sàng",
    "WAITING": "đang chờ",
    "COMPLETED": "hoàn thành",
    "ready": "đang mở",
    "waiting": "đang chờ",
    "started": "đang chạy",
    "error": "lỗi",
}


def localised(error: EngineError | Reason | Finding) -> str:
    """The message in the reader's language."""
    if current_language() == "en" or not error.template:
        return error.message
    text = engine_messages.gettext(error.template)
    if not error.params:
        return text
    return text % {name: _value(name, value) for name, value in error.params.items()}


def _value(name: str, value):
    if isinstance(value, Reason):
        return localised(value)
    if isinstance(value, datetime):
        return value.astimezone(LOCAL_TZ).strftime("%H:%M %d/%m/%Y")
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    if name == "state":
        return _WORDS_VI.get(value, value)
    return value
