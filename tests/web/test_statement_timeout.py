"""A request's statement that runs past MOTCUA_STATEMENT_TIMEOUT_MS is cancelled by PostgreSQL:
the client is answered 503 saying that nothing was written, nothing was, and the operator finds
the request in the log. The server sets no time limit on a request of its own (granian)."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import text

from engine.services import api_tokens
from engine.store.database import Database
from engine.store.records import AuditEventRecord
from engine.store.records import WorkItemRecord
from tests.factories import deploy_fixture
from tests.hostile.web_fixtures import APPLICANT
from tests.hostile.web_fixtures import bearer
from tests.hostile.web_fixtures import close_app
from tests.web.conftest import add_web_users
from tests.web.conftest import make_app
from web.wiring import runtime


@pytest.mark.postgres
def test_a_claim_waiting_on_a_lock_past_the_timeout_is_answered_503_and_writes_nothing(
    postgres_runtime, clock, tmp_path, caplog
):
    rt = postgres_runtime
    add_web_users(rt)
    app = make_app(rt, clock, STATEMENT_TIMEOUT_MS=200, MOTCUA_DOCUMENTS_DIR=str(tmp_path / "documents"))
    client = app.test_client()
    try:
        definition = deploy_fixture(rt, "five_steps")
        _, token = api_tokens.issue(rt, username="mot_cua_1", name="Cổng DVC")
        body = {"definition_id": definition.id, "unit_code": "00070", "applicant": APPLICANT}
        [first] = client.post("/api/v1/dossiers", json=body, headers=bearer(token)).json["current_steps"]
        claim = f"/api/v1/work-items/{first['id']}/claim"
        events = _events(rt)

        with rt.db.engine.connect() as other:  # another connection holds the step's row meanwhile
            other.execute(text("SELECT id FROM work_item WHERE id = :id FOR UPDATE"), {"id": first["id"]})
            with caplog.at_level(logging.WARNING, logger="motcua.web"):
                cancelled = client.post(claim, headers=bearer(token))
            other.rollback()

        assert cancelled.status_code == 503 and cancelled.headers["Retry-After"] == "30"
        assert "không có gì được ghi" in cancelled.json["message"]
        assert f"statement cancelled, request {cancelled.json['request_id']}, POST {claim}" in caplog.text
        with rt.db.read_session() as s:
            step = s.get(WorkItemRecord, first["id"])
            assert (step.state, step.assignee) == ("open", None)
        assert _events(rt) == events
        assert client.post(claim, headers=bearer(token)).status_code == 200  # once the lock is gone
    finally:
        close_app(app)


@pytest.mark.postgres
def test_only_the_web_apps_connections_get_the_timeout_and_zero_sets_none(postgres_runtime, clock, tmp_path):
    """The worker's and the commands' connections (a migration, a rollout) keep PostgreSQL's own."""
    documents = str(tmp_path / "documents")
    for setting, shown in ((45_000, "45s"), (0, "0")):
        app = make_app(postgres_runtime, clock, STATEMENT_TIMEOUT_MS=setting, MOTCUA_DOCUMENTS_DIR=documents)
        try:
            with app.app_context(), runtime().db.read_session() as s:
                assert s.scalar(text("SHOW statement_timeout")) == shown
        finally:
            close_app(app)
    worker = Database(postgres_runtime.db.url)
    try:
        with worker.read_session() as s:
            assert s.scalar(text("SHOW statement_timeout")) == "0"
    finally:
        worker.dispose()


@pytest.mark.parametrize("setting", ["30 giây", "-1", 2.5])
def test_a_timeout_that_is_not_a_whole_number_of_milliseconds_stops_the_app_at_start(web_rt, clock, setting):
    with pytest.raises(RuntimeError, match="MOTCUA_STATEMENT_TIMEOUT_MS is a whole number of milliseconds"):
        make_app(web_rt, clock, STATEMENT_TIMEOUT_MS=setting)


def _events(rt) -> int:
    with rt.db.read_session() as s:
        return s.scalar(select(func.count()).select_from(AuditEventRecord))
