"""Logging for every motcua process: one line per event, JSON in production (MOTCUA_LOG_FORMAT=json,
the default when MOTCUA_ENV=production) and readable text in development, each line carrying the
request id, user and unit of the web request that caused it. These travel in context variables,
so the engine's and the outbox's log lines of a request carry them without being passed along;
a notification keeps its request's id in its outbox row and the worker logs its delivery with it.

SpiffWorkflow logs every task's state change at INFO; that chatter is kept at WARNING unless
MOTCUA_SPIFF_LOG=1."""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from pythonjsonlogger.json import JsonEncoder
from pythonjsonlogger.json import JsonFormatter

request_id: ContextVar[str | None] = ContextVar("motcua_request_id", default=None)
user: ContextVar[str | None] = ContextVar("motcua_user", default=None)
unit: ContextVar[str | None] = ContextVar("motcua_unit", default=None)

SPIFF_LOGGERS = ("spiff", "spiff.task", "spiff.workflow", "spiff.data", "spiff.dmn")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s %(user)s@%(unit)s] %(message)s"
JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s %(user)s %(unit)s"
#: Record fields no format of ours writes (nor the JSON formatter, which leaves them out), so
#: `configure` has the logging module stop filling them in: where the record was made from
#: (a frame walk per record, a quarter of an access line's Python calls), the thread's name and
#: the multiprocessing process's name, as the logging HOWTO's "Optimization" section says. The
#: process id stays: gunicorn's own lines write it.
UNFILLED_FIELDS = (
    "pathname",
    "filename",
    "module",
    "lineno",
    "funcName",
    "stack_info",
    "thread",
    "threadName",
    "processName",
)


class JsonLines(JsonFormatter):
    """python-json-logger's formatter, each record's fields gathered and encoded with less Python:
    the same line, key for key (the web's access line took 27 µs in JSON against 8 in text).

    The library gathers a record's extra fields with a hasattr and a startswith per attribute of
    the record (some twenty), renames each field through a method call, and has `json.dumps` build
    a new encoder for every line. Here the extras are picked in one comprehension and the encoder
    is made once. A formatter given defaults, static fields, a timestamp or kept missing fields
    gathers them as the library does."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._encoder: json.JSONEncoder | None = None
        if self.json_serializer is json.dumps and self.json_encoder is JsonEncoder and self.json_default is None:
            self._encoder = JsonEncoder(indent=self.json_indent, ensure_ascii=self.json_ensure_ascii)

    def add_fields(self, log_data: dict, record: logging.LogRecord, message_dict: dict) -> None:
        if self.defaults or self.static_fields or self.timestamp or self.rename_fields_keep_missing:
            super().add_fields(log_data, record, message_dict)
            return
        rename, fields = self.rename_fields, record.__dict__
        for field in self._required_fields:
            log_data[rename.get(field, field)] = fields.get(field)
        for key, value in message_dict.items():
            log_data[rename.get(key, key)] = value
        skip = self._skip_fields
        for key in [key for key in fields if key not in skip and not _private(key)]:
            log_data[rename.get(key, key)] = fields[key]

    def jsonify_log_record(self, log_data) -> str:
        if self._encoder is None:
            return super().jsonify_log_record(log_data)
        return self._encoder.encode(log_data)


def _private(key) -> bool:
    """A record attribute the library leaves out of the line (its own test: a name with "_" first)."""
    if type(key) is str:
        return key.startswith("_")
    return hasattr(key, "startswith") and key.startswith("_")


class ContextFilter(logging.Filter):
    """Adds the request id, user and unit of the current context to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get() or "-"
        record.user = user.get() or "-"
        record.unit = unit.get() or "-"
        return True


@contextmanager
def bound(*, request: str | None = None, username: str | None = None, unit_code: str | None = None) -> Iterator[None]:
    """Within the block, log lines carry these (used by the worker for a message's delivery)."""
    tokens = [(var, var.set(value)) for var, value in ((request_id, request), (user, username), (unit, unit_code))]
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


def wants_json() -> bool:
    chosen = os.environ.get("MOTCUA_LOG_FORMAT")
    if chosen:
        return chosen == "json"
    return os.environ.get("MOTCUA_ENV") == "production"


def configure(level: str | None = None, *, as_json: bool | None = None, stream=None) -> None:
    """Send every logger's records to one handler on stderr in the chosen format."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(ContextFilter())
    use_json = wants_json() if as_json is None else as_json
    handler.setFormatter(
        JsonLines(JSON_FIELDS, rename_fields={"levelname": "level", "name": "logger"})
        if use_json
        else logging.Formatter(TEXT_FORMAT)
    )
    logging._srcfile = None  # the record's pathname, lineno and funcName: UNFILLED_FIELDS
    logging.logThreads = False
    logging.logMultiprocessing = False
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level or os.environ.get("MOTCUA_LOG_LEVEL", "INFO"))
    spiff_level = logging.INFO if os.environ.get("MOTCUA_SPIFF_LOG") == "1" else logging.WARNING
    for name in SPIFF_LOGGERS:
        logging.getLogger(name).setLevel(spiff_level)
    logging.getLogger("alembic").setLevel(logging.WARNING)  # its per-connection setup lines
