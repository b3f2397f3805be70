"""The population-data lookup through the province's integration platform, against a local
stand-in that the test starts: a found resident, nobody by that number, wrong credentials, a
platform that is down or answers nonsense, and the province chosen by the commune's chain."""

from __future__ import annotations

import json

import pytest

from engine import population
from tests import population_standin as standin


@pytest.fixture
def platform(tmp_path, monkeypatch):
    monkeypatch.setenv("MOTCUA_TEST_LGSP_SECRET", standin.SECRET)
    with standin.running() as server:
        path = tmp_path / "population.json"
        path.write_text(json.dumps(standin.settings(server)), encoding="utf-8")
        monkeypatch.setenv(population.CONFIG_VARIABLE, str(path))
        yield server


def test_a_resident_is_found_by_number_through_the_province_of_the_commune(platform):
    registry = population.registry_for(["00070", "01"])
    found = registry.look_up("001099012345")
    assert found == population.Resident(
        "001099012345", "Trần Thị Bình", "1999-04-12", "Nữ", "12 Hàng Bài, Phường Hoàn Kiếm, Thành phố Hà Nội"
    )
    assert registry.look_up("001000000000") is None
    assert platform.calls == [{"soDinhDanh": "001099012345"}, {"soDinhDanh": "001000000000"}]


def test_a_province_without_settings_has_no_registry(platform):
    assert population.registry_for(["00001", "79"]) is None


def test_wrong_credentials_a_broken_answer_and_a_platform_that_is_down_are_clear_errors(platform, monkeypatch):
    monkeypatch.setenv("MOTCUA_TEST_LGSP_SECRET", "sai")
    with pytest.raises(population.PopulationUnavailable, match="HTTP 401"):
        population.registry_for(["01"]).look_up("001099012345")
    base = f"http://127.0.0.1:{platform.server_port}"
    broken = population.LgspPopulationClient(population.LgspSettings(url=f"{base}/hong"))
    with pytest.raises(population.PopulationUnavailable, match="without a name or number"):
        broken.look_up("001099012345")
    port = platform.server_port
    platform.shutdown()
    platform.server_close()
    down = population.LgspPopulationClient(
        population.LgspSettings(url=f"http://127.0.0.1:{port}/dancu/tra-cuu", timeout_s=1)
    )
    with pytest.raises(population.PopulationUnavailable, match="cannot be reached"):
        down.look_up("001099012345")


def test_a_malformed_number_is_refused_before_any_call(platform):
    with pytest.raises(population.InvalidAction) as refused:
        population.registry_for(["01"]).look_up("12345")
    assert refused.value.field == "id_number" and platform.calls == []
