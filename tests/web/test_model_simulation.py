"""Simulation uses what runs: a commune's own step budgets, role holders and skipped steps,
chosen on the simulation page (or left out to see the bare template)."""

from __future__ import annotations

import re

from configurator import variants
from tests.web.test_model import KEY
from tests.web.test_model import modelled  # noqa: F401 - fixture
from tests.web.test_model import modeller  # noqa: F401 - fixture
from tests.web.test_model_local import rolled_out  # noqa: F401 - fixture


def simulated(client, key: str = KEY, **args) -> str:
    query = "&".join(
        f"{k.replace('_', '-')}={v}" for k, v in {"don_vi": "00070", "tiep_nhan": "2026-03-02T09:00", **args}.items()
    )
    response = client.get(f"/mo-hinh/{key}/v1/mo-phong?{query}")
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_data(as_text=True)


def finishes(page: str) -> str:
    return re.search(r'<dd id="finishes">([^<]+)', page).group(1).strip()


def test_a_communes_own_budget_and_role_holder_change_the_simulated_dossier(modeller, rolled_out):
    variants.set_overrides(rolled_out, KEY, "00070", roles={"mot_cua": "mot_cua_2"}, budgets={"tham_dinh": "30m"})

    local = simulated(modeller)
    template = simulated(modeller, thiet_lap="mau")
    other = simulated(modeller, don_vi="00073")

    # The template gives tham_dinh 1 h; Phường Hoàn Kiếm gives it 30 min, so its dossier is done
    # half an hour sooner, and its reception step goes to the officer it named.
    assert finishes(template) == "11:00 ngày 02/03/2026" == finishes(other)
    assert finishes(local) == "10:30 ngày 02/03/2026"
    assert "2 khác biệt địa phương" in local and "(mot_cua_2)</span>" in local and "của xã" in local
    assert "mot_cua_2" not in template and "không áp dụng khác biệt địa phương" in template
    assert "không có khác biệt địa phương" in other


def test_an_unknown_setting_is_refused_naming_the_field(modeller):
    response = modeller.get(f"/mo-hinh/{KEY}/v1/mo-phong?don-vi=00070&tiep-nhan=2026-03-02T09:00&thiet-lap=moi")
    assert response.status_code == 400 and "thiet-lap" in response.get_data(as_text=True)
