"""Logging for every motcua process: one line per event, JSON in production (MOTCUA_LOG_FORMAT=json,
the default when MOTCUA_ENV=production) and readable text in development, each line carrying the
request id, user and unit of the web request that caused it. These travel in context variables,
so the engine's and the outbox's log lines of a request carry them without being passed along;
a notification keeps its request's id in its outbox row and the worker logs its delivery with it.

SpiffWorkflow logs every task's state change at INFO; that chatter is kept at WARNING unless
MOTCUA_SPIFF_LOG=1."""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

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
#: process id stays: it tells the server's workers apart.
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


class SecondsWrittenOnce(logging.Formatter):
    """A line's time (`asctime`) from the text of its second, made once a second: logging's own
    `formatTime` converts and formats the time anew for every line (localtime and strftime, a
    tenth of an access line's cost) for a text that changes once a second. With a `datefmt` of
    its own a formatter writes as logging does."""

    _second_text: tuple[int, str] = (-1, "")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802  (logging's)
        if datefmt:
            return super().formatTime(record, datefmt)
        second = int(record.created)  # the second time.localtime takes from the time (floor)
        kept = self._second_text
        if kept[0] != second:
            kept = self._second_text = (second, time.strftime(self.default_time_format, self.converter(second)))
        return self.default_msec_format % (kept[1], record.msecs) if self.default_msec_format else kept[1]


class TextLines(SecondsWrittenOnce):
    """The readable line of development."""


class JsonLines(SecondsWrittenOnce, JsonFormatter):
    """python-json-logger's line of production."""


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
        else TextLines(TEXT_FORMAT)
    )
    logging._srcfile = None  # the record's pathname, lineno and funcName: UNFILLED_FIELDS
    logging.logThreads = False
    logging.logMultiprocessing = False
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level or os.environ.get("MOTCUA_LOG_LEVEL", "INFO"))
    set_spiff_level()
    logging.getLogger("alembic").setLevel(logging.WARNING)  # its per-connection setup lines


def set_spiff_level() -> None:
    """SpiffWorkflow's loggers at WARNING (INFO with MOTCUA_SPIFF_LOG=1), as every motcua process
    runs them. Below INFO (a logger left unset is at 0) the library also puts each task's data
    in every state change's log extras and walks the whole task tree when a workflow completes,
    whether or not any record is written."""
    spiff_level = logging.INFO if os.environ.get("MOTCUA_SPIFF_LOG") == "1" else logging.WARNING
    for name in SPIFF_LOGGERS:
        logging.getLogger(name).setLevel(spiff_level)
