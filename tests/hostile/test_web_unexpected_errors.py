"""Attack: anything that makes a view fail unexpectedly (a bug, a database gone away). Outcome:
never a bare 500: the API answers JSON and the web a page, both quoting a request id that the
log's traceback carries too; HTTP errors of the API are JSON with the API's error body."""

from __future__ import annotations

import logging

from engine.store import queries
from tests.hostile.web_fixtures import bearer
from tests.hostile.web_fixtures import desk_token  # noqa: F401  (fixture)
from tests.hostile.web_fixtures import hostile_app  # noqa: F401  (fixture)
from tests.hostile.web_fixtures import hostile_client  # noqa: F401  (fixture)
from tests.hostile.web_fixtures import hostile_rt  # noqa: F401  (fixture)
from tests.hostile.web_fixtures import login
from web.api import catalogue


def explode(*_args, **_kwargs):
    raise RuntimeError("the database went away")


def test_an_unexpected_api_failure_is_json_with_a_request_id_that_the_log_carries(
    hostile_client, desk_token, monkeypatch, caplog
):
    monkeypatch.setattr(catalogue.catalogue, "search", explode)
    with caplog.at_level(logging.ERROR, logger="motcua.web"):
        answer = hostile_client.get("/api/v1/procedures", headers=bearer(desk_token))
    request_id = answer.headers["X-Request-Id"]
    assert answer.status_code == 500 and answer.is_json
    assert answer.json["request_id"] == request_id and request_id in answer.json["message"]
    assert "the database went away" not in answer.get_data(as_text=True)  # internals stay in the log
    [record] = caplog.records
    assert request_id in record.getMessage() and record.exc_info[1].args == ("the database went away",)


def test_an_unexpected_page_failure_is_the_error_page_with_the_request_id(hostile_client, monkeypatch, caplog):
    monkeypatch.setattr(queries, "status_counts", explode)
    with caplog.at_level(logging.ERROR, logger="motcua.web"):
        answer = hostile_client.get("/")
    page = answer.get_data(as_text=True)
    assert answer.status_code == 500 and "<html" in page and answer.headers["X-Request-Id"] in page


def test_api_http_errors_are_json_even_outside_any_route(hostile_client, desk_token):
    for method, url in (("GET", "/api/v1/khong-co"), ("DELETE", "/api/v1/procedures")):
        answer = hostile_client.open(url, method=method, headers=bearer(desk_token))
        assert answer.status_code in (404, 405) and answer.is_json and set(answer.json) >= {"error", "message"}
    page = hostile_client.get("/khong-co")
    assert page.status_code == 404 and "<html" in page.get_data(as_text=True)


def test_a_refusal_quoting_a_percent_sign_from_the_request_is_still_a_page(hostile_client):
    login(hostile_client, "mo_hinh")
    answer = hostile_client.get("/mo-hinh/%25")  # the refusal quotes the code '%', which Jinja's _() formatted
    assert answer.status_code == 404 and "mã %.</p>" in answer.get_data(as_text=True)
