"""The administrator's page of notification providers: a province's SMS gateway set with its keys
(never shown back, encrypted at rest), kept when the form leaves them blank, bad values named
with nothing saved, a test message through a stand-in of the provider's API, and the channel
turned off."""

from __future__ import annotations

import pytest

from engine.services.citizen_channels import provider_settings
from engine.store import citizen_queries
from tests.engine.test_citizen_notifications import StandIn
from tests.web.conftest import csrf_token
from tests.web.conftest import login
from tests.web.test_admin import admin  # noqa: F401  (fixture)

PAGE = "/quan-tri/kenh-thong-bao"


@pytest.fixture
def esms():
    stand_in = StandIn({"CodeResult": "100", "SMSID": "abc"})
    yield stand_in
    stand_in.close()


def _post(client, url, data):
    token = csrf_token(client.get(PAGE).get_data(as_text=True))
    return client.post(url, data={**data, "csrf_token": token})


def _settings(web_rt, unit_code="00070", channel="sms"):
    with web_rt.db.read_session() as s:
        return provider_settings(s, unit_code, channel)


def test_the_admin_sets_a_provider_whose_secrets_are_never_shown_again(admin, web_rt, esms):  # noqa: F811
    sms = {
        "unit_code": "01",
        "api_key": "KHOA-API-1",
        "secret_key": "BI-MAT-1",
        "brandname": "UBND-HN",
        "url": esms.url,
    }
    saved = _post(admin, f"{PAGE}/sms", sms)
    assert saved.status_code == 302
    assert _settings(web_rt)["api_key"] == "KHOA-API-1"  # a commune of the province uses it
    with web_rt.db.read_session() as s:
        stored = citizen_queries.provider(s, "01", "sms").settings
    assert "KHOA-API-1" not in str(stored) and "BI-MAT-1" not in str(stored)

    page = admin.get(f"{PAGE}?kenh=sms&don_vi=01").get_data(as_text=True)
    assert "UBND-HN" in page and "KHOA-API-1" not in page and "BI-MAT-1" not in page
    assert "Đã lưu — để trống để giữ nguyên" in page

    # Saved again with the secrets left blank: the stored ones stay.
    again = _post(admin, f"{PAGE}/sms", {**sms, "api_key": "", "secret_key": "", "brandname": "UBND-HANOI"})
    assert again.status_code == 302
    assert (_settings(web_rt)["api_key"], _settings(web_rt)["brandname"]) == ("KHOA-API-1", "UBND-HANOI")

    tested = _post(admin, f"{PAGE}/gui-thu", {"channel": "sms", "unit_code": "00070", "recipient": "0912345678"})
    assert tested.status_code == 302
    assert "Nhà cung cấp đã nhận tin nhắn thử" in admin.get(tested.headers["Location"]).get_data(as_text=True)
    [(_, _, request)] = esms.requests
    assert (request["Phone"], request["ApiKey"], request["Brandname"]) == ("0912345678", "KHOA-API-1", "UBND-HANOI")

    off = _post(admin, f"{PAGE}/sms/01/xoa", {})
    assert off.status_code == 302 and _settings(web_rt) is None


def test_bad_settings_are_named_and_nothing_is_saved(admin, web_rt):  # noqa: F811
    bad_url = _post(
        admin, f"{PAGE}/sms", {"unit_code": "01", "api_key": "K", "secret_key": "S", "brandname": "B", "url": "ftp://x"}
    )
    assert bad_url.status_code == 422
    page = bad_url.get_data(as_text=True)
    assert 'id="url-error"' in page and "ftp://x" in page
    missing = _post(admin, f"{PAGE}/zalo", {"unit_code": "01", "template_id": "246810"})
    assert missing.status_code == 422 and 'id="access_token-error"' in missing.get_data(as_text=True)
    port = _post(admin, f"{PAGE}/email", {"unit_code": "01", "host": "smtp.hanoi.gov.vn", "port": "70000"})
    assert port.status_code == 422 and 'id="port-error"' in port.get_data(as_text=True)
    unknown_unit = _post(admin, f"{PAGE}/email", {"unit_code": "99999", "host": "smtp.hanoi.gov.vn"})
    assert unknown_unit.status_code == 422 and 'id="unit_code-error"' in unknown_unit.get_data(as_text=True)
    assert all(_settings(web_rt, channel=c) is None for c in ("sms", "zalo", "email"))


def test_a_test_message_the_provider_refuses_is_shown_with_its_answer(admin, web_rt):  # noqa: F811
    refusing = StandIn({"CodeResult": "101", "ErrorMessage": "Sai ApiKey"})
    try:
        _post(
            admin,
            f"{PAGE}/sms",
            {"unit_code": "01", "api_key": "K", "secret_key": "S", "brandname": "B", "url": refusing.url},
        )
        answer = _post(admin, f"{PAGE}/gui-thu", {"channel": "sms", "unit_code": "00070", "recipient": "0912345678"})
        shown = admin.get(answer.headers["Location"]).get_data(as_text=True)
        assert "CodeResult 101" in shown and "Sai ApiKey" in shown
    finally:
        refusing.close()
    no_provider = _post(admin, f"{PAGE}/gui-thu", {"channel": "zalo", "unit_code": "00070", "recipient": "0912345678"})
    assert "zalo" in admin.get(no_provider.headers["Location"]).get_data(as_text=True)


def test_only_an_administrator_sees_the_page(client):
    login(client, "mot_cua_1")
    assert client.get(PAGE).status_code == 403
