"""Attack: ids and page numbers beyond PostgreSQL's integer range (they reached the database and
gave 5xx). Outcome: 404 for a path id (JSON on the API, a page on the web), 422 naming the field
for a body or query number; on SQLite and PostgreSQL alike."""

from __future__ import annotations

import pytest

from tests.hostile.web_fixtures import bearer
from tests.hostile.web_fixtures import desk_token  # noqa: F401  (fixture)
from tests.hostile.web_fixtures import hostile_app  # noqa: F401  (fixture)
from tests.hostile.web_fixtures import hostile_client  # noqa: F401  (fixture)
from tests.hostile.web_fixtures import hostile_rt  # noqa: F401  (fixture)
from tests.hostile.web_fixtures import login
from tests.hostile.web_fixtures import start_body

HUGE = [2**31, 2**63, 10**30]


@pytest.mark.parametrize("number", HUGE)
def test_a_path_id_beyond_the_database_range_is_a_json_404(hostile_client, desk_token, number):
    for method, url in (
        ("POST", f"/api/v1/work-items/{number}/claim"),
        ("GET", f"/api/v1/templates/dang_ky_khai_sinh/versions/{number}"),
    ):
        answer = hostile_client.open(url, method=method, headers=bearer(desk_token))
        assert answer.status_code == 404 and answer.is_json and answer.json["error"], url
    assert hostile_client.post("/api/v1/work-items/2147483647/claim", headers=bearer(desk_token)).status_code == 404


@pytest.mark.parametrize("number", HUGE)
def test_a_page_number_or_body_id_beyond_the_range_is_a_422_naming_it(hostile_client, desk_token, number):
    page = hostile_client.get(f"/api/v1/work-items?page={number}", headers=bearer(desk_token))
    assert page.status_code == 422 and page.json["field"] == "page"
    catalogue = hostile_client.get(f"/api/v1/procedures?page={number}&page_size=100", headers=bearer(desk_token))
    assert catalogue.status_code == 422 and catalogue.json["field"] == "page"
    body = {k: v for k, v in start_body(definition_id=number).items() if k != "template_key"}
    assert (
        hostile_client.post("/api/v1/dossiers", json=body, headers=bearer(desk_token)).json["field"] == "definition_id"
    )
    complete = hostile_client.post(
        "/api/v1/work-items/1/complete", json={"data": {}, "version": number}, headers=bearer(desk_token)
    )
    assert complete.status_code == 422 and complete.json["field"] == "version"


def test_a_page_id_beyond_the_range_is_a_404_page(hostile_client):
    login(hostile_client, "mot_cua_1")
    answer = hostile_client.get(f"/ban-lam-viec/in/{2**63}/tiep_nhan")
    assert answer.status_code == 404 and "<html" in answer.get_data(as_text=True)


def test_page_numbers_and_versions_in_a_pages_query_beyond_the_range_are_ignored(hostile_client):
    login(hostile_client, "mo_hinh")
    for url in (
        f"/mo-hinh/?trang={2**63}",
        f"/mo-hinh/dang_ky_khai_sinh?phien-ban={2**63}",
        f"/mo-hinh/dang_ky_khai_sinh/so-sanh?tu={10**30}&den={2**31}",
    ):
        assert hostile_client.get(url).status_code == 200, url
