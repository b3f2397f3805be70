"""The web app on SQLite and on PostgreSQL, with the officers of tests.factories (password
PASSWORD), a supervisor, a modeller, an administrator, the birth-registration procedure and an API token of
the reception desk: what the web attacks of tests/hostile/test_web_*.py aim at."""

from __future__ import annotations

import pytest

from configurator import catalogue
from configurator import library
from engine.services import api_tokens
from engine.services.runtime import Runtime
from tests.web.conftest import PASSWORD  # noqa: F401  (re-exported for the attacks)
from tests.web.conftest import add_web_users
from tests.web.conftest import csrf_token  # noqa: F401
from tests.web.conftest import login  # noqa: F401
from tests.web.conftest import make_app  # noqa: F401  (re-exported for the attacks)

[BIRTH] = [p for p in library.procedures() if p.key == "dang_ky_khai_sinh"]
APPLICANT = {"name": "Nguyễn Văn An", "id_number": "001234567890", "phone": "0912345678"}


@pytest.fixture
def hostile_rt(database, clock) -> Runtime:
    rt = Runtime(db=database, clock=clock)
    add_web_users(rt, administrator=True)
    catalogue.import_json(rt, BIRTH.catalogue)
    library.load_one(rt, BIRTH)
    return rt


def close_app(app) -> None:
    """Close the connections the app's own runtime opened (PostgreSQL warns about dropped ones)."""
    runtime = app.extensions.get("motcua_runtime")
    if runtime is not None:
        runtime.db.dispose()
    with app.app_context():
        from web.extensions import db

        for engine in db.engines.values():
            engine.dispose()


@pytest.fixture
def hostile_app(hostile_rt, clock):
    app = make_app(hostile_rt, clock)
    yield app
    close_app(app)


@pytest.fixture
def hostile_client(hostile_app):
    return hostile_app.test_client()


@pytest.fixture
def desk_token(hostile_rt) -> str:
    """A token of the reception desk of Phường Hoàn Kiếm (00070)."""
    return api_tokens.issue(hostile_rt, username="mot_cua_1", name="Cổng DVC")[1]


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def start_body(**changes) -> dict:
    return {"template_key": "dang_ky_khai_sinh", "unit_code": "00070", "applicant": APPLICANT, **changes}
