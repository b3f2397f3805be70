"""The inbox's reads (engine.store.worklist_queries) as the indexes of migration 0013 serve them: a
step delegated out stays in its owner's tab, every tab's count is what it lists under the same
filters, a text search finds the unit's dossiers only, and it finds what testing each listed step's
dossier finds."""

from __future__ import annotations

from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select

from engine.domain.assignment import Actor
from engine.services import actions
from engine.services import dossiers
from engine.store import dossier_queries
from engine.store import worklist_queries
from engine.store.records import DossierRecord
from engine.store.records import UserRecord
from engine.store.records import WorkItemRecord
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


def test_search_finds_what_each_listed_steps_dossier_says(runtime, clock):
    """The search tests the steps' copies of their dossier's code and applicant: it lists and
    counts exactly the steps whose dossier's own code or applicant holds the text, as the database
    lowers them (PostgreSQL every letter, SQLite ASCII ones), whatever the text's length, with LIKE's
    wildcards taken as plain characters."""
    add_units(runtime)
    five = deploy_fixture(runtime, "five_steps")
    names = ("Lê Văn Cường", "LÊ THỊ CƯỜNG", "Công ty 100% vốn", "Phạm_Văn An", "Trần Thị Bích", "Cường Lê")
    received = [receive(runtime, five, name) for name in names]
    receive(runtime, five, "Lê Văn Cường", unit_code="00073")
    with runtime.db.read_session() as s:
        [first] = list(dossier_queries.dossier_steps(s, received[0].id))
    dossiers.claim_work_item(runtime, first.id, RECEPTION)
    dossiers.complete_work_item(runtime, first.id, RECEPTION, {})  # its next step is the one listed
    code = received[2].code
    words = ("cường", "CƯỜNG", "lê", "c", "ng", "không có ai")
    wildcards = ("%", "100%", "_", "m_v")
    for text in (*words, *wildcards, code, code[-6:].upper(), code[:5]):
        assert searched(runtime, narrowed_to(text)) == recounted(runtime, narrowed_to(text)), text
    assert sum(searched(runtime, narrowed_to("cường"))[1].values()) >= 2


def narrowed_to(text: str) -> WorklistFilter:
    return WorklistFilter(RECEPTION.username, frozenset({"mot_cua", "chuyen_vien"}), "00070", text=text)


def searched(rt, who: WorklistFilter) -> tuple[dict[str, list[int]], dict[str, int]]:
    with rt.db.read_session() as s:
        rows = {tab: [r.item_id for r in worklist_queries.inbox(s, who, tab)] for tab in worklist_queries.TABS}
        return rows, worklist_queries.tab_counts(s, who)


def recounted(rt, who: WorklistFilter) -> tuple[dict[str, list[int]], dict[str, int]]:
    """Each tab's steps without the text, kept when their dossier's own code or applicant holds it."""
    everyone = WorklistFilter(who.username, who.roles, who.unit_code)
    text = (who.text or "").strip().lower()
    with rt.db.read_session() as s:
        found = set(
            s.scalars(
                select(WorkItemRecord.id)
                .join(DossierRecord, DossierRecord.id == WorkItemRecord.dossier_id)
                .where(
                    or_(
                        func.lower(DossierRecord.code).contains(text, autoescape=True),
                        func.lower(DossierRecord.applicant_name).contains(text, autoescape=True),
                    )
                )
            )
        )
        rows = {
            tab: [r.item_id for r in worklist_queries.inbox(s, everyone, tab) if r.item_id in found]
            for tab in worklist_queries.TABS
        }
    return rows, {tab: len(ids) for tab, ids in rows.items()}
