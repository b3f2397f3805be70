"""A log line's time is the text logging writes for it, in the readable and the JSON format alike,
whether or not a line of the same second came before."""

from __future__ import annotations

import json
import logging

from engine import logs


def _record(created: float) -> logging.LogRecord:
    record = logging.LogRecord("motcua.access", logging.INFO, "", 0, "POST /x 200", (), None)
    record.created, record.msecs = created, (created - int(created)) * 1000 // 1
    return record


def test_each_line_carries_the_time_logging_would_write():
    base = 1_796_450_000.0
    times = [base, base + 0.001, base + 0.999, base + 1.0, base + 1.5, base + 0.2, base + 3_600.25, base + 86_400.7]
    plain = logging.Formatter(logs.TEXT_FORMAT)
    text = logs.TextLines(logs.TEXT_FORMAT)
    as_json = logs.JsonLines(logs.JSON_FIELDS)
    for created in times:
        expected = plain.formatTime(_record(created))
        assert text.formatTime(_record(created)) == expected, created
        assert json.loads(as_json.format(_record(created)))["asctime"] == expected, created


def test_a_date_format_of_its_own_is_written_as_logging_writes_it():
    record = _record(1_796_450_000.5)
    assert logs.TextLines(logs.TEXT_FORMAT, datefmt="%d/%m %H:%M").formatTime(record, "%d/%m %H:%M") == (
        logging.Formatter(logs.TEXT_FORMAT).formatTime(record, "%d/%m %H:%M")
    )
