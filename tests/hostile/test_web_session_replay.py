"""Attack: a session cookie copied before its user signed out (or before the password was
changed) stayed valid for 31 days. Outcome: it is refused at once; cookies are Secure, HttpOnly
and SameSite=Lax in production and a session ends after 8 hours without a request."""

from __future__ import annotations

from datetime import timedelta

from werkzeug.security import generate_password_hash

from engine.domain.assignment import Actor
from engine.services import administration
from engine.services.administration import Account
from tests.hostile.web_fixtures import close_app
from tests.hostile.web_fixtures import csrf_token
from tests.hostile.web_fixtures import hostile_app  # noqa: F401  (fixture)
from tests.hostile.web_fixtures import hostile_client  # noqa: F401  (fixture)
from tests.hostile.web_fixtures import hostile_rt  # noqa: F401  (fixture)
from tests.hostile.web_fixtures import login
from tests.hostile.web_fixtures import make_app

ADMIN = Actor("quan_tri", frozenset({"admin"}), "01")
INBOX = "/ban-lam-viec/"


def signed_in(app, username: str = "mot_cua_1"):
    client = app.test_client()
    assert login(client, username).status_code == 302
    assert client.get(INBOX).status_code == 200
    return client


def replay(app, cookie: str):
    thief = app.test_client()
    thief.set_cookie("session", cookie)
    return thief.get(INBOX)


def sent_to_sign_in(answer) -> bool:
    return answer.status_code == 302 and "/dang-nhap" in answer.headers["Location"]


def test_a_cookie_copied_before_sign_out_is_refused_after_it(hostile_app):
    clerk = signed_in(hostile_app)
    copied = clerk.get_cookie("session").value
    assert replay(hostile_app, copied).status_code == 200  # the copy works while the session lives
    token = csrf_token(clerk.get(INBOX).get_data(as_text=True))
    assert sent_to_sign_in(clerk.post("/dang-xuat", data={"csrf_token": token}))
    assert sent_to_sign_in(replay(hostile_app, copied))
    assert signed_in(hostile_app).get(INBOX).status_code == 200  # signing in again works


def test_a_new_password_ends_the_sessions_signed_in_with_the_old_one(hostile_app, hostile_rt):
    clerk = signed_in(hostile_app)
    account = Account(username="mot_cua_1", full_name="Một cửa", unit_code="00070", roles=("mot_cua",))
    administration.update_user(hostile_rt, ADMIN, account, generate_password_hash("mat-khau-moi-2026"))
    assert sent_to_sign_in(clerk.get(INBOX))
    fresh = hostile_app.test_client()
    assert login(fresh, "mot_cua_1", "mat-khau-moi-2026").status_code == 302
    assert fresh.get(INBOX).status_code == 200


def test_production_cookies_are_secure_http_only_and_same_site(hostile_rt, clock, monkeypatch):
    from engine import secret_box

    monkeypatch.setenv("MOTCUA_ENV", "production")
    monkeypatch.setenv("MOTCUA_NOTIFY_KEYS", secret_box.new_key())
    app = make_app(hostile_rt, clock)
    try:
        client = app.test_client()
        answer = login(client, "mot_cua_1")
        cookie = next(v for k, v in answer.headers.items() if k == "Set-Cookie" and v.startswith("session="))
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Expires=" in cookie
    finally:
        close_app(app)


def test_a_session_lasts_eight_idle_hours_unless_configured(hostile_app, hostile_rt, clock):
    assert hostile_app.permanent_session_lifetime == timedelta(hours=8)
    app = make_app(hostile_rt, clock, PERMANENT_SESSION_LIFETIME=1800)
    try:
        assert app.permanent_session_lifetime == timedelta(minutes=30)
    finally:
        close_app(app)
