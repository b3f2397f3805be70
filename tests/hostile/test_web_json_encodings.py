"""Attack: a JSON body in an encoding the API does not read (UTF-16, UTF-32, a UTF-8 byte order mark,
bytes that are not UTF-8, a lone surrogate written as UTF-8). The guard reads such bodies as
Flask does, so that their values are checked all the same, and the API's parser refuses them
(400, the body is not JSON it reads); honest UTF-8 bodies are read once and work. On SQLite and
PostgreSQL alike, nothing is written."""

from __future__ import annotations

import codecs
import json

import pytest
from sqlalchemy import func
from sqlalchemy import select

from engine.store.records import DossierRecord
from tests.hostile.web_fixtures import bearer
from tests.hostile.web_fixtures import desk_token  # noqa: F401  (fixture)
from tests.hostile.web_fixtures import hostile_app  # noqa: F401  (fixture)
from tests.hostile.web_fixtures import hostile_client  # noqa: F401  (fixture)
from tests.hostile.web_fixtures import hostile_rt  # noqa: F401  (fixture)
from tests.hostile.web_fixtures import start_body

TEXT = json.dumps(start_body(), ensure_ascii=False)


@pytest.mark.parametrize(
    "raw",
    [
        TEXT.encode("utf-16"),
        TEXT.encode("utf-16-le"),
        TEXT.encode("utf-32"),
        codecs.BOM_UTF8 + TEXT.encode("utf-8"),
        TEXT.replace("Nguyễn", "Nguy\\u1ec5n").encode("utf-8").replace(b"Nguy", b"\xffNguy"),
        TEXT.replace("Nguyễn", "\ud800").encode("utf-8", "surrogatepass"),
    ],
    ids=["utf-16", "utf-16-le", "utf-32", "utf-8-bom", "not-utf-8", "lone-surrogate"],
)
def test_a_body_in_another_encoding_is_refused_and_starts_nothing(hostile_client, desk_token, hostile_rt, raw):
    answer = hostile_client.post(
        "/api/v1/dossiers", data=raw, content_type="application/json", headers=bearer(desk_token)
    )
    assert answer.status_code == 400 and answer.json["field"] is None and "JSON" in answer.json["message"]
    with hostile_rt.db.read_session() as s:
        assert s.scalar(select(func.count()).select_from(DossierRecord)) == 0


def test_a_nul_in_a_utf_16_body_is_named_before_the_parser_refuses_the_encoding(hostile_client, desk_token):
    raw = json.dumps(start_body(applicant={"name": "Nguyễn\x00Văn An"}), ensure_ascii=False).encode("utf-16")
    answer = hostile_client.post(
        "/api/v1/dossiers", data=raw, content_type="application/json", headers=bearer(desk_token)
    )
    assert answer.status_code == 422 and answer.json["field"] == "applicant.name" and "NUL" in answer.json["message"]


def test_a_utf_8_body_is_read_once_and_starts_the_dossier(hostile_client, desk_token, hostile_rt, monkeypatch):
    parses = []
    real_loads = json.loads
    monkeypatch.setattr(json, "loads", lambda *args, **kwargs: parses.append(args[0]) or real_loads(*args, **kwargs))
    answer = hostile_client.post(
        "/api/v1/dossiers", data=TEXT.encode("utf-8"), content_type="application/json", headers=bearer(desk_token)
    )
    assert answer.status_code == 201 and answer.json["applicant"]["name"] == "Nguyễn Văn An"
    assert len([text for text in parses if text in (TEXT, TEXT.encode("utf-8"))]) == 1
    with hostile_rt.db.read_session() as s:
        assert s.scalar(select(func.count()).select_from(DossierRecord)) == 1
