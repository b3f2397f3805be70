"""Attack: task data with SpiffWorkflow's serializer key `typename` (an API client completing a
step without a form, a start payload, a message payload, a template's script). Stored, it made the
dossier impossible to load: every later action answered 500. Outcome: refused before anything is
written, naming the field (or the script's element), and the dossier keeps working."""

from __future__ import annotations

import pytest
from sqlalchemy import func
from sqlalchemy import select

from engine.bpmn.serializer import reserved_key_path
from engine.domain.errors import ExpressionError
from engine.domain.errors import InvalidAction
from engine.services import definitions
from engine.services import dossiers
from engine.store.records import DossierRecord
from engine.store.records import WorkItemRecord
from tests.conftest import BPMN_DIR
from tests.factories import RECEPTION
from tests.factories import add_units
from tests.factories import deploy_fixture


@pytest.fixture
def five(runtime):
    add_units(runtime)
    return deploy_fixture(runtime, "five_steps")


def start(rt, definition, **kw):
    return dossiers.start_dossier(
        rt, definition_id=definition.id, unit_code="00070", applicant_name="Nguyễn Văn A", actor=RECEPTION, **kw
    )


def open_item(rt, dossier_id) -> WorkItemRecord:
    with rt.db.session() as s:
        [item] = s.scalars(
            select(WorkItemRecord).where(WorkItemRecord.dossier_id == dossier_id, WorkItemRecord.state == "open")
        )
        return item


def dossier_version(rt, dossier_id) -> int:
    with rt.db.session() as s:
        return s.get(DossierRecord, dossier_id).version


@pytest.mark.parametrize(
    "data,path",
    [
        ({"typename": "BpmnEvent"}, "typename"),
        ({"ho_so": {"giay_to": [{"ten": "CCCD"}, {"typename": "x"}]}}, "ho_so.giay_to[1].typename"),
    ],
)
def test_completing_a_step_with_a_reserved_key_is_refused_naming_the_field(runtime, five, data, path):
    dossier = start(runtime, five)
    item = open_item(runtime, dossier.id)
    version = dossier_version(runtime, dossier.id)

    with pytest.raises(InvalidAction) as refused:
        dossiers.complete_work_item(runtime, item.id, RECEPTION, data)

    assert refused.value.params["path"] == path and refused.value.field == path.split(".")[0].split("[")[0]
    assert dossier_version(runtime, dossier.id) == version
    dossiers.complete_work_item(runtime, item.id, RECEPTION, {"ghi_chu": "typename is fine as a value"})
    assert open_item(runtime, dossier.id).element_id == "tham_dinh"  # the dossier still loads and moves on


def test_starting_a_dossier_with_a_reserved_key_creates_nothing(runtime, five):
    with pytest.raises(InvalidAction, match="'typename'"):
        start(runtime, five, data={"typename": "Task"})
    with runtime.db.session() as s:
        assert s.scalar(select(func.count()).select_from(DossierRecord)) == 0


def test_a_message_payload_with_a_reserved_key_is_refused(runtime, five):
    dossier = start(runtime, five)
    version = dossier_version(runtime, dossier.id)
    with pytest.raises(InvalidAction) as refused:
        dossiers.send_message(runtime, dossier.id, "bo_sung_xong", RECEPTION, {"bo_sung": {"typename": "x"}})
    assert refused.value.field == "bo_sung"
    assert dossier_version(runtime, dossier.id) == version


def test_a_script_writing_a_reserved_key_fails_its_step_and_leaves_the_dossier_as_it_was(runtime):
    add_units(runtime)
    bpmn = (
        (BPMN_DIR / "five_steps.bpmn")
        .read_text()
        .replace("xmlns:motcua=", 'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" xmlns:motcua=')
        .replace(
            '<motcua:step role="mot_cua" budget="4h" status="2"/>',
            '<motcua:step role="mot_cua" budget="4h" status="2"/>'
            '<spiffworkflow:postScript>ho_so = {"typename": "x"}</spiffworkflow:postScript>',
        )
    )
    definition = definitions.deploy(runtime, {"five_steps.bpmn": bpmn.encode()})
    dossier = start(runtime, definition)
    item = open_item(runtime, dossier.id)
    version = dossier_version(runtime, dossier.id)

    for _attempt in range(2):  # the dossier still loads: the same clear refusal, never a crash
        with pytest.raises(ExpressionError) as refused:
            dossiers.complete_work_item(runtime, item.id, RECEPTION, {})
        assert refused.value.element_id == "tiep_nhan"
        assert "ho_so.typename" in str(refused.value)

    assert dossier_version(runtime, dossier.id) == version
    assert open_item(runtime, dossier.id).id == item.id


def test_the_walk_survives_cyclic_and_deep_data():
    cyclic: list = []
    cyclic.append(cyclic)
    deep: dict = {}
    node = deep
    for _ in range(100_000):
        node["a"] = node = {}
    node["typename"] = 1
    assert reserved_key_path({"x": cyclic}) is None
    assert reserved_key_path(deep) == ".".join(["a"] * 100_000 + ["typename"])


# --- through the REST API: a client completing a step that has no form ----------------------

from click.testing import CliRunner  # noqa: E402

from tests.web.conftest import app  # noqa: E402,F401 - the web fixtures, for the API's client
from tests.web.conftest import client  # noqa: E402,F401
from tests.web.conftest import web_rt  # noqa: E402,F401
from web.cli import main  # noqa: E402


def test_the_api_answers_422_naming_the_field_and_the_dossier_keeps_working(client, web_rt):  # noqa: F811
    deploy_fixture(web_rt, "five_steps")  # its steps have no form: any JSON object is the step's data
    token = (
        CliRunner()
        .invoke(
            main,
            ["api-token", "create", "--user", "mot_cua_1", "--name", "Cổng DVC"],
            env={"DATABASE_URL": web_rt.db.url},
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    headers = {"Authorization": f"Bearer {token}"}
    code = client.post(
        "/api/v1/dossiers",
        headers=headers,
        json={"template_key": "five_steps", "unit_code": "00070", "applicant": {"name": "Nguyễn Văn An"}},
    ).json["code"]
    [item] = client.get("/api/v1/work-items?filter=group", headers=headers).json

    refused = client.post(
        f"/api/v1/work-items/{item['id']}/complete",
        headers=headers,
        json={"data": {"ket_qua": {"typename": "BpmnEvent"}}},
    )

    assert refused.status_code == 422 and refused.json["field"] == "ket_qua"
    assert "typename" in refused.json["message"]
    assert client.get(f"/api/v1/dossiers/{code}", headers=headers).status_code == 200
    done = client.post(f"/api/v1/work-items/{item['id']}/complete", headers=headers, json={"data": {"ket_qua": "ok"}})
    assert done.status_code == 200


def test_a_decision_that_is_not_text_is_no_refusal_and_no_server_error(client, web_rt):  # noqa: F811
    """`ket_qua` holding an object (a step without a form accepts any JSON) is recorded as data,
    not compared with the refusal decisions, which raised TypeError (a 500) before."""
    deploy_fixture(web_rt, "five_steps")
    token = (
        CliRunner()
        .invoke(
            main,
            ["api-token", "create", "--user", "mot_cua_1", "--name", "Cổng DVC"],
            env={"DATABASE_URL": web_rt.db.url},
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    headers = {"Authorization": f"Bearer {token}"}
    code = client.post(
        "/api/v1/dossiers",
        headers=headers,
        json={"template_key": "five_steps", "unit_code": "00070", "applicant": {"name": "Nguyễn Văn An"}},
    ).json["code"]
    [item] = client.get("/api/v1/work-items?filter=group", headers=headers).json

    done = client.post(
        f"/api/v1/work-items/{item['id']}/complete", headers=headers, json={"data": {"ket_qua": {"tu_choi": True}}}
    )

    assert done.status_code == 200
    assert client.get(f"/api/v1/dossiers/{code}", headers=headers).status_code == 200
