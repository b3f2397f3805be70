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
_HASH = generate_password_hash(PASSWORD)  # once: scrypt is slow on purpose
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


@pytest.fixture
def web_rt(sqlite_database, clock) -> Runtime:
    """Units 01 / 00070 / 00073, the factory's officers with a password, a supervisor and a modeller."""
    rt = Runtime(db=sqlite_database, clock=clock)
    add_units(rt)
    with rt.db.session() as s:
        for user in s.query(UserRecord):
            user.password_hash = _HASH
        s.add(
            UserRecord(
                username="giam_sat", full_name="Giám sát viên", unit_code="01", roles="supervisor", password_hash=_HASH
            )
        )
        s.add(
            UserRecord(
                username="mo_hinh", full_name="Cán bộ mô hình", unit_code="01", roles="modeller", password_hash=_HASH
            )
        )
    return rt


@pytest.fixture
def app(web_rt, clock, tmp_path):
    return create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": web_rt.db.url,
            "MOTCUA_CLOCK": clock,
            "SECRET_KEY": "test",
            "MOTCUA_DOCUMENTS_DIR": str(tmp_path / "documents"),
        }
    )


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
