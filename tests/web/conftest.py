"""A signed-in browser-less client for the web pages: the app on a SQLite file and a frozen clock."""

from __future__ import annotations

import re

import pytest
from werkzeug.security import generate_password_hash

from engine.services.runtime import Runtime
from engine.store.records import UserRecord
from tests.factories import add_units
from web.app import create_app

PASSWORD = "dung-mat-khau-2026"
# A cheap hash for the tests' officers: scrypt is slow on purpose (0.1-0.2 s a sign-in, a fifth of
# the web tests' time) and sign-in checks either kind; the product's own hashes stay scrypt.
_HASH = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


def add_web_users(rt: Runtime, *, administrator: bool = False) -> None:
    """Units 01 / 00070 / 00073, the factory's officers with a password, a supervisor and a
    modeller (and an administrator, when asked)."""
    add_units(rt)
    people = [("giam_sat", "Giám sát viên", "supervisor"), ("mo_hinh", "Cán bộ mô hình", "modeller")]
    people += [("quan_tri", "Quản trị", "admin")] if administrator else []
    with rt.db.session() as s:
        for user in s.query(UserRecord):
            user.password_hash = _HASH
        for username, full_name, roles in people:
            s.add(UserRecord(username=username, full_name=full_name, unit_code="01", roles=roles, password_hash=_HASH))


def make_app(rt: Runtime, clock, **config):
    """The web app on the runtime's database and clock (`config` adds or overrides settings)."""
    return create_app(
        {"TESTING": True, "SQLALCHEMY_DATABASE_URI": rt.db.url, "MOTCUA_CLOCK": clock, "SECRET_KEY": "test", **config}
    )


@pytest.fixture
def web_rt(sqlite_database, clock) -> Runtime:
    rt = Runtime(db=sqlite_database, clock=clock)
    add_web_users(rt)
    return rt


@pytest.fixture
def app(web_rt, clock, tmp_path):
    return make_app(web_rt, clock, MOTCUA_DOCUMENTS_DIR=str(tmp_path / "documents"))


@pytest.fixture
def client(app):
    return app.test_client()


def csrf_token(page: str) -> str:
    found = CSRF.search(page) or re.search(r'<meta name="csrf-token" content="([^"]+)"', page)
    assert found, "no CSRF token on the page"
    return next(g for g in found.groups() if g)


def login(client, username: str, password: str = PASSWORD):
    token = csrf_token(client.get("/dang-nhap").get_data(as_text=True))
    return client.post("/dang-nhap", data={"username": username, "password": password, "csrf_token": token})
