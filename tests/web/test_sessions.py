"""The cookie session is opened only when the request carries one: a browser still signs in and
stays signed in, a forged cookie still counts for nothing, and an API call (a bearer token, no
cookie) neither builds the signer nor gets a cookie back."""

from __future__ import annotations

import pytest
from flask import Response
from flask.sessions import SecureCookieSessionInterface

from engine.services import api_tokens
from tests.web.conftest import login
from web import sessions
from web.sessions import CookieSessionOnDemand

INBOX = "/ban-lam-viec/"


@pytest.fixture
def signers_built(monkeypatch) -> list[int]:
    built: list[int] = []
    original = SecureCookieSessionInterface.get_signing_serializer

    def counted(self, app):
        built.append(1)
        return original(self, app)

    monkeypatch.setattr(SecureCookieSessionInterface, "get_signing_serializer", counted)
    return built


def test_the_app_opens_sessions_on_demand(app):
    assert isinstance(app.session_interface, CookieSessionOnDemand)


def test_a_browser_signs_in_and_its_cookie_keeps_it_signed_in(client):
    assert client.get(INBOX).status_code == 302  # no cookie: sent to sign in
    signed = login(client, "mot_cua_1")
    assert signed.status_code == 302 and "session=" in signed.headers["Set-Cookie"]
    assert client.get(INBOX).status_code == 200


def test_a_forged_cookie_counts_for_nothing(app):
    forger = app.test_client()
    forger.set_cookie("session", "eyJfdXNlcl9pZCI6Im1vdF9jdWFfMSJ9.forged.signature")
    answer = forger.get(INBOX)
    assert answer.status_code == 302 and "/dang-nhap" in answer.headers["Location"]


def test_an_api_call_builds_no_signer_and_gets_no_cookie(client, web_rt, signers_built):
    _, token = api_tokens.issue(web_rt, username="mot_cua_1", name="Cổng DVC")
    answer = client.get("/api/v1/work-items", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200
    assert "Set-Cookie" not in answer.headers
    assert signers_built == []


def test_a_request_with_a_cookie_still_reads_it_with_the_signer(client, signers_built):
    login(client, "mot_cua_1")
    signers_built.clear()
    assert client.get(INBOX).status_code == 200
    assert signers_built  # the cookie was checked against its signature


def test_an_api_answer_still_says_it_varies_with_the_cookie(client, web_rt):
    """Without a cookie the session is saved without Flask's cookie settings, and the answer keeps
    the header a shared cache needs (the session was read: a browser's cookie could change it)."""
    _, token = api_tokens.issue(web_rt, username="mot_cua_1", name="Cổng DVC")
    answer = client.get("/api/v1/work-items", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200
    assert answer.headers.get_all("Vary") == ["Cookie"]
    assert "Set-Cookie" not in answer.headers


def test_an_answer_that_varies_already_adds_the_cookie_to_its_vary_header():
    answer = Response(b"{}", headers={"Vary": "Accept-Language"})
    sessions._vary_with_cookie(answer)
    assert answer.headers.get_all("Vary") == ["Accept-Language, Cookie"]
    plain = Response(b"{}")
    sessions._vary_with_cookie(plain)
    assert plain.headers.get_all("Vary") == ["Cookie"]
