"""What operators get from a running web process: /healthz, /readyz (503 until a worker has beaten),
/metrics in Prometheus format, and the administrator's incident page (list, retry, close)."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from engine import secret_box
from engine.services import worker
from engine.services.delivery import default_channels
from engine.store.operations_records import IncidentRecord
from engine.store.records import UserRecord
from tests.conftest import ROOT
from tests.engine.test_incidents import _break_state
from tests.engine.test_incidents import _dossiers_waiting_on_a_timer
from tests.web.conftest import _HASH
from tests.web.conftest import csrf_token
from tests.web.conftest import login


def test_health_readiness_and_metrics_answer_without_signing_in(client, web_rt):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    not_ready = client.get("/readyz")
    assert not_ready.status_code == 503 and not not_ready.get_json()["checks"]["worker"]["ok"]
    worker.run_once(web_rt, default_channels())
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.get_json()["ready"], ready.get_json()

    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'motcua_http_requests_total{method="GET",route="/readyz",status="503"} 1.0' in metrics
    assert "motcua_http_request_seconds_bucket" in metrics
    assert "motcua_worker_heartbeat_age_seconds 0.0" in metrics
    assert "motcua_due_timers 0.0" in metrics
    assert "motcua_worker_passes_total 1.0" in metrics and "motcua_dossiers_started_total 0.0" in metrics
    assert 'motcua_worker_done_total{kind="breach"} 0.0' in metrics
    dashboard = json.loads((ROOT / "docs" / "grafana-dashboard.json").read_text(encoding="utf-8"))
    queried = {
        name
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"motcua_\w+", target["expr"])
    }
    exposed = set(re.findall(r"^# TYPE (\w+) ", metrics, re.M)) | set(re.findall(r"^(\w+)[ {]", metrics, re.M))
    assert len(queried) >= 12 and queried - exposed == set()


def test_the_administrator_sees_an_incident_with_its_error_and_retries_then_closes_it(client, web_rt, clock):
    with web_rt.db.session() as s:
        s.add(UserRecord(username="quan_tri", full_name="Quản trị", unit_code="01", roles="admin", password_hash=_HASH))
    ids = _dossiers_waiting_on_a_timer(web_rt, 2)
    _break_state(web_rt, ids[1])
    clock.advance(timedelta(days=1))
    worker.run_once(web_rt, default_channels())
    login(client, "quan_tri")

    page = client.get("/quan-tri/su-co").get_data(as_text=True)
    with web_rt.db.read_session() as s:
        incident = s.scalar(select(IncidentRecord))
    assert "Hẹn giờ" in page and "Đang thử lại" in page and incident.error.split(":")[0] in page
    token = csrf_token(page)
    retried = client.post(f"/quan-tri/su-co/{incident.id}/thu-lai", data={"csrf_token": token})
    assert retried.status_code == 302
    closed = client.post(f"/quan-tri/su-co/{incident.id}/dong", data={"csrf_token": token}, follow_redirects=True)
    assert "Đã đóng sự cố" in closed.get_data(as_text=True)
    again = client.post(f"/quan-tri/su-co/{incident.id}/dong", data={"csrf_token": token}, follow_redirects=True)
    assert "đã được xử lý xong" in again.get_data(as_text=True)
    with web_rt.db.read_session() as s:
        assert (s.get(IncidentRecord, incident.id).status, s.get(IncidentRecord, incident.id).resolved_by) == (
            "resolved",
            "quan_tri",
        )


def test_the_supervisor_dashboard_counts_dossiers_with_an_open_incident(client, web_rt, clock):
    ids = _dossiers_waiting_on_a_timer(web_rt, 2)
    _break_state(web_rt, ids[0])
    clock.advance(timedelta(days=1))
    login(client, "giam_sat")
    for _ in range(3):  # the first run and two retries, an hour apart: retrying is not yet shown
        assert 'id="su-co"' not in client.get("/giam-sat/").get_data(as_text=True)
        worker.run_once(web_rt, default_channels())
        clock.advance(timedelta(hours=1))
    with web_rt.db.read_session() as s:
        assert s.scalar(select(IncidentRecord.status)) == "open"
    page = client.get("/giam-sat/").get_data(as_text=True)
    assert "1 hồ sơ có sự cố xử lý nền" in page


def test_production_sends_the_session_cookie_only_over_https(monkeypatch, tmp_path):
    from web.app import create_app

    monkeypatch.setenv("MOTCUA_ENV", "production")
    monkeypatch.setenv("MOTCUA_SECRET_KEY", "k" * 64)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'x.sqlite3'}")
    monkeypatch.delenv("MOTCUA_NOTIFY_KEYS", raising=False)
    with pytest.raises(RuntimeError, match="set MOTCUA_NOTIFY_KEYS"):
        create_app()  # the notification providers' secrets need their key
    monkeypatch.setenv("MOTCUA_NOTIFY_KEYS", secret_box.new_key())
    app = create_app()
    assert (
        app.config["SESSION_COOKIE_SECURE"],
        app.config["SESSION_COOKIE_HTTPONLY"],
        app.config["SESSION_COOKIE_SAMESITE"],
    ) == (True, True, "Lax")
    answer = app.test_client().get("/dang-nhap", base_url="https://motcua.example.vn")
    cookie = answer.headers.get("Set-Cookie", "")
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_metrics_show_the_replica_lag_only_when_reports_read_a_replica(web_rt, clock, tmp_path):
    """With MOTCUA_READ_DATABASE_URL the supervisors' figures come from a replica, and operators
    watch how far behind it is (benchmarks/province_day.py reads it from a real streaming replica)."""
    from web.app import create_app

    settings = {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": web_rt.db.url,
        "MOTCUA_CLOCK": clock,
        "SECRET_KEY": "test",
        "MOTCUA_DOCUMENTS_DIR": str(tmp_path / "documents"),
    }
    alone = create_app(settings).test_client().get("/metrics").get_data(as_text=True)
    assert "motcua_replica_lag_seconds" not in alone
    with_replica = create_app({**settings, "READ_DATABASE_URL": web_rt.db.url}).test_client()
    assert "motcua_replica_lag_seconds 0.0" in with_replica.get("/metrics").get_data(as_text=True)
