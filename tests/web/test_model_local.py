"""Local differences on the modeller's pages: which communes run a template differently, and one
commune's role holders and step budgets set from the page, checked against the legal limit."""

from __future__ import annotations

import html

import pytest

from configurator import variants
from engine.domain.assignment import Actor
from engine.services import definitions
from engine.services import dossiers
from engine.store import queries
from engine.store import variant_records
from engine.store.records import UserRecord
from engine.store.records import WorkItemRecord
from tests.conftest import BPMN_DIR
from tests.web.conftest import csrf_token
from tests.web.test_model import KEY
from tests.web.test_model import modelled  # noqa: F401 - fixture
from tests.web.test_model import modeller  # noqa: F401 - fixture

RECEPTION = Actor("mot_cua_1", frozenset({"mot_cua"}), "00070")


@pytest.fixture
def rolled_out(modelled):
    """The birth registration rolled out to both communes; a second one-stop officer in 00070."""
    with modelled.db.read_session() as s:
        birth = queries.latest_published(s, KEY)
    variants.rollout(modelled, birth.id, unit_codes=["00070", "00073"])
    with modelled.db.session() as s:
        s.add(UserRecord(username="mot_cua_2", full_name="Trần Thị Hai", unit_code="00070", roles="mot_cua"))
    return modelled


def overrides_of(rt, unit: str) -> dict:
    with rt.db.read_session() as s:
        return variant_records.variant_for(s, KEY, unit).overrides


def post(client, unit: str, **fields):
    page = client.get(f"/mo-hinh/{KEY}/dia-phuong/{unit}").get_data(as_text=True)
    return client.post(f"/mo-hinh/{KEY}/dia-phuong/{unit}", data={"csrf_token": csrf_token(page), **fields})


def test_a_modeller_names_a_role_holder_and_a_budget_and_new_dossiers_follow_them(modeller, rolled_out):
    assert "no-drift" in modeller.get(f"/mo-hinh/{KEY}/dia-phuong").get_data(as_text=True)
    form = modeller.get(f"/mo-hinh/{KEY}/dia-phuong/00070").get_data(as_text=True)
    assert "Trần Thị Hai (mot_cua_2)" in form and 'name="budget-tiep_nhan"' in form
    assert "chuyen_vien_x" not in form  # only the commune's own officers hold its roles

    saved = post(modeller, "00070", **{"role-mot_cua": "mot_cua_2", "budget-tiep_nhan": "10m"})

    assert saved.status_code == 302
    assert overrides_of(rolled_out, "00070") == {"roles": {"mot_cua": "mot_cua_2"}, "budgets": {"tiep_nhan": "10m"}}
    listing = html.unescape(modeller.get(f"/mo-hinh/{KEY}/dia-phuong").get_data(as_text=True))
    assert "vai trò mot_cua do mot_cua_2 giữ" in listing and "bước tiep_nhan có thời hạn 10m" in listing
    assert "00073" not in listing.split('id="drifts"')[1]  # the other commune runs the template as it is
    with rolled_out.db.read_session() as s:
        definition_id = variant_records.variant_for(s, KEY, "00070").definition_id
    dossier = dossiers.start_dossier(
        rolled_out, definition_id=definition_id, unit_code="00070", applicant_name="Công dân", actor=RECEPTION
    )
    with rolled_out.db.read_session() as s:
        item = s.query(WorkItemRecord).filter_by(dossier_id=dossier.id).one()
    assert (item.assignee, item.budget_minutes) == ("mot_cua_2", 10)


def test_refused_differences_are_named_in_vietnamese_and_nothing_is_saved(modeller, rolled_out):
    refused = post(modeller, "00070", **{"role-mot_cua": "chuyen_vien_x", "budget-tiep_nhan": "mot gio"})
    page = html.unescape(refused.get_data(as_text=True))
    assert refused.status_code == 422
    assert "chuyen_vien_x không thể giữ vai trò mot_cua ở đơn vị 00070." in page
    assert "tiep_nhan: “mot gio” không phải thời lượng làm việc" in page
    assert 'value="mot gio"' in page  # the form comes back as it was filled, to correct
    too_long = post(modeller, "00070", **{"budget-tham_dinh": "2h"})  # birth registration is same-day
    assert too_long.status_code == 422
    assert (
        "vượt 2 giờ làm việc mà thủ tục giải quyết trong ngày còn lại sau giờ tiếp nhận muộn nhất 15:00"
        in html.unescape(too_long.get_data(as_text=True))
    )
    assert overrides_of(rolled_out, "00070") == {}


def test_only_the_modellers_own_province_and_rolled_out_communes_are_offered(modeller, rolled_out):
    assert modeller.get(f"/mo-hinh/{KEY}/dia-phuong/99999").status_code == 404
    picked = modeller.get(f"/mo-hinh/{KEY}/dia-phuong?ma=00073")
    assert picked.status_code == 302 and picked.headers["Location"].endswith(f"/mo-hinh/{KEY}/dia-phuong/00073")
    not_rolled = modeller.get("/mo-hinh/chung_thuc_chu_ky/dia-phuong/00070")
    assert not_rolled.status_code == 404


def test_a_commune_skips_a_step_the_template_marks_optional(modeller, modelled):
    five = (
        (BPMN_DIR / "five_steps.bpmn")
        .read_bytes()
        .replace(
            b'<motcua:step role="chuyen_vien" budget="0.5d"/>',
            b'<motcua:step role="chuyen_vien" budget="0.5d" optional="true"/>',
        )
    )
    variants.rollout(modelled, definitions.deploy(modelled, {"five.bpmn": five}).id, unit_codes=["00070"])
    form = modeller.get("/mo-hinh/five_steps/dia-phuong/00070").get_data(as_text=True)
    assert 'name="skip-du_thao"' in form and 'name="skip-tham_dinh"' not in form

    saved = modeller.post(
        "/mo-hinh/five_steps/dia-phuong/00070", data={"csrf_token": csrf_token(form), "skip-du_thao": "on"}
    )

    assert saved.status_code == 302
    with modelled.db.read_session() as s:
        assert variant_records.variant_for(s, "five_steps", "00070").overrides["skip"] == ["du_thao"]
    assert "bỏ qua bước du_thao" in modeller.get("/mo-hinh/five_steps/dia-phuong").get_data(as_text=True)
    assert 'name="skip-du_thao" checked' in modeller.get("/mo-hinh/five_steps/dia-phuong/00070").get_data(as_text=True)
