"""Every route of every workspace, tried by every kind of user: outsiders are refused (403),
anonymous visitors are sent to sign in, and nobody's attempt ends in a server error."""

from __future__ import annotations

import pytest
from werkzeug.routing import IntegerConverter
from werkzeug.routing import Rule

from engine.store.records import UserRecord
from tests.web.conftest import _HASH
from tests.web.conftest import csrf_token
from tests.web.conftest import login

CLERKS = {"mot_cua_1", "chuyen_vien_1", "lanh_dao_1", "chuyen_vien_x"}
AUDIENCE = {  # blueprint -> who may open it
    "desk": CLERKS,
    "supervise": {"giam_sat", "quan_tri"},
    "model": {"mo_hinh", "quan_tri"},
    "admin": {"quan_tri"},
}
EVERYONE = sorted(CLERKS | {"giam_sat", "mo_hinh", "quan_tri"})


@pytest.fixture
def app_with_admin(app, web_rt):
    with web_rt.db.session() as s:
        s.add(UserRecord(username="quan_tri", full_name="Quản trị", unit_code="01", roles="admin", password_hash=_HASH))
    return app


def guarded_rules(app) -> list[Rule]:
    return sorted(
        (
            r
            for r in app.url_map.iter_rules()
            if r.endpoint.split(".")[0] in AUDIENCE and not r.endpoint.endswith(".static")
        ),
        key=lambda r: r.rule,
    )


def url_of(rule: Rule) -> str:
    """The rule with each argument filled in (an id that does not exist: the guard answers first)."""
    values = {name: 1 if isinstance(rule._converters[name], IntegerConverter) else "x" for name in rule.arguments}
    return rule.build(values)[1]


def test_every_workspace_route_is_guarded(app_with_admin):
    rules = guarded_rules(app_with_admin)
    assert {r.endpoint.split(".")[0] for r in rules} == set(AUDIENCE)  # every workspace is registered
    failures = []
    anonymous = app_with_admin.test_client()
    for rule in rules:
        url = url_of(rule)
        if "GET" in rule.methods:
            answer = anonymous.get(url)
            if answer.status_code != 302 or "/dang-nhap" not in answer.headers.get("Location", ""):
                failures.append(f"anonymous GET {url}: {answer.status_code}")
    for username in EVERYONE:
        client = app_with_admin.test_client()
        assert login(client, username).status_code == 302, username
        token = csrf_token(client.get("/").get_data(as_text=True))
        for rule in rules:
            url, allowed = url_of(rule), username in AUDIENCE[rule.endpoint.split(".")[0]]
            for method in sorted(rule.methods & {"GET", "POST"}):
                answer = client.get(url) if method == "GET" else client.post(url, data={"csrf_token": token})
                if answer.status_code >= 500:
                    failures.append(f"{username} {method} {url}: server error {answer.status_code}")
                elif not allowed and answer.status_code != 403:
                    failures.append(f"{username} {method} {url}: {answer.status_code}, expected 403")
    assert failures == []
