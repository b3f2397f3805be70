"""Logs an operator can search: one JSON object per line in production, each carrying the request
id (the caller's X-Request-ID or a new one), the user and unit; an access line per request; the
worker logs a notification's delivery with the id of the request that queued it."""

from __future__ import annotations

import io
import json
import logging

import pytest

from engine import logs
from engine.services import outbox
from engine.services.delivery import default_channels
from tests.web.conftest import login


@pytest.fixture
def json_lines():
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    stream = io.StringIO()
    logs.configure("INFO", as_json=True, stream=stream)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])


def test_each_request_gets_an_id_and_an_access_line_with_user_and_unit(client, json_lines):
    answer = client.get("/healthz", headers={"X-Request-ID": "lb-7f3a9c01"})
    assert answer.headers["X-Request-ID"] == "lb-7f3a9c01"
    assert len(client.get("/healthz", headers={"X-Request-ID": "bad id; drop"}).headers["X-Request-ID"]) == 32
    login(client, "giam_sat")
    client.get("/giam-sat/")
    access = [line for line in json_lines() if line["logger"] == "motcua.access"]
    first = access[0]
    assert (first["request_id"], first["route"], first["status"], first["user"]) == (
        "lb-7f3a9c01",
        "/healthz",
        200,
        "-",
    )
    assert first["duration_ms"] >= 0 and first["level"] == "INFO"
    dashboard = [line for line in access if line["route"] == "/giam-sat/"][-1]
    assert dashboard["user"] == "giam_sat" and dashboard["unit"] != "-"


def test_a_request_refused_by_the_input_guard_or_csrf_has_its_id_in_the_answer_and_the_access_line(client, json_lines):
    nul = client.post("/api/v1/work-items/1/claim", json={"ghi_chu": "a\x00b"}, headers={"X-Request-ID": "lb-0000nul1"})
    too_big = client.post("/api/v1/work-items/1/claim", data=b"x" * 3_000_000, content_type="application/json")
    forged = client.post("/dang-nhap", data={"username": "giam_sat"}, headers={"X-Request-ID": "lb-0000csrf"})

    assert (nul.status_code, too_big.status_code, forged.status_code) == (422, 413, 400)
    assert nul.headers["X-Request-ID"] == "lb-0000nul1" and forged.headers["X-Request-ID"] == "lb-0000csrf"
    assert len(too_big.headers["X-Request-ID"]) == 32
    access = {line["status"]: line for line in json_lines() if line["logger"] == "motcua.access"}
    assert (access[422]["request_id"], access[400]["request_id"]) == ("lb-0000nul1", "lb-0000csrf")
    assert access[413]["request_id"] == too_big.headers["X-Request-ID"]


def test_the_worker_logs_a_delivery_with_the_request_that_queued_it(web_rt, json_lines):
    with logs.bound(request="req-4242abcd", username="mot_cua_00070_1"), web_rt.db.session() as s:
        outbox.enqueue(
            s, key="t:1", channel="in_app", recipient="giam_sat", subject="Thử", body="Nội dung", now=web_rt.clock.now()
        )
    assert outbox.deliver_due(web_rt, default_channels())["sent"] == 1
    [delivered] = [line for line in json_lines() if line["logger"] == "motcua.outbox"]
    assert delivered["request_id"] == "req-4242abcd" and "delivered in_app message" in delivered["message"]


def test_spiffworkflow_task_chatter_is_off_by_default(json_lines):
    logging.getLogger("spiff.task").info("task changed state")
    assert [line for line in json_lines() if line["logger"].startswith("spiff")] == []


def test_the_formats_write_none_of_the_fields_left_unfilled_and_lines_stay_whole():
    """`configure` has the logging module skip the caller's frame, the thread's and the process's
    names: no format of ours may name them (they would read "(unknown file)" or None)."""
    for unfilled in logs.UNFILLED_FIELDS:
        assert f"%({unfilled})" not in logs.TEXT_FORMAT and f"%({unfilled})" not in logs.JSON_FIELDS
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    stream = io.StringIO()
    try:
        logs.configure("INFO", as_json=False, stream=stream)
        with logs.bound(request="req-5151abcd", username="mot_cua_1", unit_code="00070"):
            logging.getLogger("motcua.access").info("%s %s %s", "POST", "/api/v1/dossiers", 201)
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
    line = stream.getvalue()
    assert line.endswith(" INFO motcua.access [req-5151abcd mot_cua_1@00070] POST /api/v1/dossiers 201\n")
