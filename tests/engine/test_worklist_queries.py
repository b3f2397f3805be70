"""The inbox's reads (engine.store.worklist_queries) as the indexes of migration 0013 serve them: a
step delegated out stays in its owner's tab, every tab's count is what it lists under the same
filters, and a text search finds the unit's dossiers only."""

from __future__ import annotations

from engine.domain.assignment import Actor
from engine.services import actions
from engine.services import dossiers
from engine.store import dossier_queries
from engine.store import worklist_queries
from engine.store.records import UserRecord
from engine.store.worklist_queries import WorklistFilter
from tests.factories import RECEPTION
from tests.factories import add_units
from tests.factories import deploy_fixture

COLLEAGUE = Actor("mot_cua_2", frozenset({"mot_cua"}), "00070")


def receive(rt, definition, applicant_name: str, unit_code: str = "00070"):
    return dossiers.start_dossier(
        rt, definition_id=definition.id, unit_code=unit_code, applicant_name=applicant_name, actor=RECEPTION
    )


def listed(rt, who: WorklistFilter) -> tuple[dict[str, list[str]], dict[str, int]]:
    with rt.db.read_session() as s:
        rows = {tab: [r.applicant_name for r in worklist_queries.inbox(s, who, tab)] for tab in worklist_queries.TABS}
        return rows, worklist_queries.tab_counts(s, who)


def test_tabs_count_what_they_list_and_search_stays_in_the_unit(runtime, clock):
    add_units(runtime)
    with runtime.db.session() as s:
        s.add(UserRecord(username=COLLEAGUE.username, full_name="Đồng nghiệp", unit_code="00070", roles="mot_cua"))
    five = deploy_fixture(runtime, "five_steps")
    delegated = receive(runtime, five, "Lê Văn Cường")
    clock.advance(minutes=5)
    receive(runtime, five, "Trần Thị Bích")
    clock.advance(minutes=5)
    receive(runtime, five, "Lê Văn Cường", unit_code="00073")  # same name, another commune
    with runtime.db.read_session() as s:
        [item] = [i for i in dossier_queries.dossier_steps(s, delegated.id)]
    dossiers.claim_work_item(runtime, item.id, RECEPTION)
    actions.delegate_work_item(runtime, item.id, RECEPTION, COLLEAGUE.username)

    mine = WorklistFilter(RECEPTION.username, RECEPTION.roles, "00070")
    rows, counts = listed(runtime, mine)
    assert rows == {"cua_toi": ["Lê Văn Cường"], "nhom": ["Trần Thị Bích"], "duoc_uy_quyen": [], "thay_nguoi_vang": []}
    assert counts == {tab: len(names) for tab, names in rows.items()}

    theirs = WorklistFilter(COLLEAGUE.username, COLLEAGUE.roles, "00070")
    rows, counts = listed(runtime, theirs)
    assert rows["duoc_uy_quyen"] == ["Lê Văn Cường"] and rows["cua_toi"] == []
    assert counts == {tab: len(names) for tab, names in rows.items()}

    for text in ("cường", delegated.code[-11:], "không có ai"):
        narrowed = WorklistFilter(RECEPTION.username, RECEPTION.roles, "00070", text=text)
        rows, counts = listed(runtime, narrowed)
        assert counts == {tab: len(names) for tab, names in rows.items()}
        assert sum(counts.values()) == (0 if text == "không có ai" else 1)  # never the other commune's dossier
    by_procedure = WorklistFilter(RECEPTION.username, RECEPTION.roles, "00070", procedure_key="five_steps")
    rows, counts = listed(runtime, by_procedure)
    assert counts == {"cua_toi": 1, "nhom": 1, "duoc_uy_quyen": 0, "thay_nguoi_vang": 0}
