"""Standing delegation while away: declaring, chains and cycles, routing and giving back, on a
frozen clock, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func
from sqlalchemy import select

from engine.domain.errors import InvalidAction
from engine.domain.errors import NotFound
from engine.domain.errors import PermissionDenied
from engine.services import absences
from engine.services import dossiers
from engine.store.absence_records import AbsenceRecord
from engine.store.records import AuditEventRecord
from engine.store.records import OutboxRecord
from engine.store.records import UserRecord
from engine.store.records import WorkItemRecord
from tests.conftest import vn
from tests.factories import LEADER
from tests.factories import RECEPTION
from tests.factories import SPECIALIST
from tests.factories import SPECIALIST_2
from tests.factories import add_units
from tests.factories import deploy_fixture

MON, TUE, WED, THU, FRI = (date(2026, 3, d) for d in range(2, 7))  # the clock starts Monday 2 March


@pytest.fixture
def five(runtime):
    add_units(runtime)
    with runtime.db.session() as s:
        s.add(UserRecord(username="chuyen_vien_3", full_name="cv3", unit_code="00070", roles="chuyen_vien"))
    return deploy_fixture(runtime, "five_steps")


@pytest.fixture
def appraisal(runtime, five):
    """A dossier at 'tham_dinh', claimed by chuyen_vien_1."""
    dossier = dossiers.start_dossier(
        runtime, definition_id=five.id, unit_code="00070", applicant_name="Nguyễn Văn A", actor=RECEPTION
    )
    dossiers.complete_work_item(runtime, open_item(runtime, dossier.id).id, RECEPTION, {})
    item = open_item(runtime, dossier.id)
    dossiers.claim_work_item(runtime, item.id, SPECIALIST)
    return item


def open_item(rt, dossier_id) -> WorkItemRecord:
    with rt.db.session() as s:
        [item] = s.scalars(
            select(WorkItemRecord).where(
                WorkItemRecord.dossier_id == dossier_id, WorkItemRecord.state.in_(["open", "claimed"])
            )
        )
        return item


def holder(rt, item_id):
    with rt.db.session() as s:
        item = s.get(WorkItemRecord, item_id)
        return item.assignee, item.on_behalf_of


def events(rt, action):
    with rt.db.session() as s:
        return list(
            s.scalars(select(AuditEventRecord).where(AuditEventRecord.action == action).order_by(AuditEventRecord.id))
        )


def messages(rt):
    with rt.db.session() as s:
        return list(s.scalars(select(OutboxRecord).order_by(OutboxRecord.id)))


def snapshot(rt):
    with rt.db.session() as s:
        return [s.scalar(select(func.count()).select_from(t)) for t in (AbsenceRecord, AuditEventRecord, OutboxRecord)]


def away(rt, username, substitute, date_from, date_to, actor=LEADER, **kw):
    return absences.declare_absence(rt, actor, username, substitute, date_from, date_to, **kw)


# -- declaring ------------------------------------------------------------------------------------


def test_a_leader_declares_an_absence(runtime, five):
    absence = away(runtime, "chuyen_vien_1", "chuyen_vien_2", TUE, WED, note="đi học")
    with runtime.db.session() as s:
        row = s.get(AbsenceRecord, absence.id)
    assert (
        row.username,
        row.substitute,
        row.unit_code,
        row.date_from,
        row.date_to,
        row.created_by,
        row.cancelled_at,
    ) == ("chuyen_vien_1", "chuyen_vien_2", "00070", TUE, WED, "lanh_dao_1", None)
    [event] = events(runtime, "absence_declared")
    assert (event.actor, event.giver, event.receiver) == ("lanh_dao_1", "chuyen_vien_1", "chuyen_vien_2")
    assert event.detail["date_from"] == "2026-03-03"
    [message] = messages(runtime)
    assert (message.recipient, message.channel) == ("chuyen_vien_2", "in_app")
    assert "03/03/2026" in message.body


def test_users_declare_their_own_absence_for_one_procedure(runtime, five):
    absence = away(
        runtime,
        "chuyen_vien_1",
        "chuyen_vien_2",
        TUE,
        TUE,
        actor=SPECIALIST,
        procedure_key="five_steps",
        role="chuyen_vien",
    )
    assert (absence.procedure_key, absence.role, absence.created_by) == ("five_steps", "chuyen_vien", "chuyen_vien_1")


@pytest.mark.parametrize(
    "args, kwargs, error, message",
    [
        (("chuyen_vien_1", "chuyen_vien_2", WED, TUE), {}, InvalidAction, "ends .2026-03-03. before it starts"),
        (("chuyen_vien_1", "lanh_dao_1", TUE, WED), {}, InvalidAction, "lanh_dao_1 does not have role 'chuyen_vien'"),
        (("chuyen_vien_1", "chuyen_vien_x", TUE, WED), {}, InvalidAction, "chuyen_vien_x does not work in unit 00070"),
        (("chuyen_vien_1", "nobody", TUE, WED), {}, NotFound, "unknown user 'nobody'"),
        (("chuyen_vien_1", "chuyen_vien_1", TUE, WED), {}, InvalidAction, "cannot substitute for themselves"),
        (
            ("chuyen_vien_1", "chuyen_vien_2", TUE, WED),
            {"actor": SPECIALIST_2},
            PermissionDenied,
            "only chuyen_vien_1 or a leader of unit 00070",
        ),
        (("chuyen_vien_1", "chuyen_vien_2", TUE, WED), {"procedure_key": "khong_co"}, NotFound, "unknown procedure"),
        (
            ("chuyen_vien_1", "chuyen_vien_2", TUE, WED),
            {"role": "lanh_dao"},
            InvalidAction,
            "chuyen_vien_1 does not have role 'lanh_dao'",
        ),
    ],
)
def test_declaration_refusals_write_nothing(runtime, five, args, kwargs, error, message):
    before = snapshot(runtime)
    with pytest.raises(error, match=message):
        away(runtime, *args, **kwargs)
    assert snapshot(runtime) == before


def test_an_overlapping_absence_with_the_same_scope_is_refused(runtime, five):
    away(runtime, "chuyen_vien_1", "chuyen_vien_2", MON, WED)
    before = snapshot(runtime)
    with pytest.raises(InvalidAction, match="already away from 2026-03-02 to 2026-03-04"):
        away(runtime, "chuyen_vien_1", "chuyen_vien_3", WED, FRI)
    assert snapshot(runtime) == before
    away(runtime, "chuyen_vien_1", "chuyen_vien_3", THU, FRI)  # adjacent, not overlapping
    away(runtime, "chuyen_vien_1", "chuyen_vien_3", TUE, TUE, procedure_key="five_steps")  # narrower scope


def test_circular_delegations_are_refused_directly_and_through_a_chain(runtime, five):
    away(runtime, "chuyen_vien_1", "chuyen_vien_2", MON, WED)
    before = snapshot(runtime)
    with pytest.raises(InvalidAction, match="circular delegation: chuyen_vien_2 → chuyen_vien_1 → chuyen_vien_2"):
        away(runtime, "chuyen_vien_2", "chuyen_vien_1", WED, FRI)
    away(runtime, "chuyen_vien_2", "chuyen_vien_3", TUE, THU)
    with pytest.raises(
        InvalidAction,
        match="chuyen_vien_3 → chuyen_vien_1 → chuyen_vien_2 → chuyen_vien_3 from 2026-03-03 to 2026-03-04",
    ):
        away(runtime, "chuyen_vien_3", "chuyen_vien_1", MON, FRI)
    assert snapshot(runtime)[0] == before[0] + 1
    # Periods that do not meet are no cycle: chuyen_vien_1 is back on Thursday.
    away(runtime, "chuyen_vien_3", "chuyen_vien_1", THU, FRI)


# -- who works a step -----------------------------------------------------------------------------


def test_effective_assignee_follows_chains_prefers_narrow_scopes_and_stops_at_cycles(runtime, five):
    away(runtime, "chuyen_vien_1", "chuyen_vien_2", MON, FRI)
    away(runtime, "chuyen_vien_2", "chuyen_vien_3", TUE, TUE)
    with runtime.db.session() as s:
        assert absences.effective_assignee(s, "chuyen_vien_1", MON, "five_steps", "chuyen_vien") == (
            "chuyen_vien_2",
            "chuyen_vien_1",
        )
        assert absences.effective_assignee(s, "chuyen_vien_1", TUE, "five_steps", "chuyen_vien") == (
            "chuyen_vien_3",
            "chuyen_vien_1",
        )
        assert absences.effective_assignee(s, "chuyen_vien_2", MON, "five_steps", "chuyen_vien") == (
            "chuyen_vien_2",
            None,
        )
    away(runtime, "chuyen_vien_1", "chuyen_vien_3", WED, WED, procedure_key="five_steps")
    with runtime.db.session() as s:
        assert absences.effective_assignee(s, "chuyen_vien_1", WED, "five_steps", "chuyen_vien")[0] == "chuyen_vien_3"
        assert absences.effective_assignee(s, "chuyen_vien_1", WED, "other", "chuyen_vien")[0] == "chuyen_vien_2"
        # A cycle written around the checks (say, by an import) ends the chain instead of looping.
        s.add(
            AbsenceRecord(
                username="chuyen_vien_3",
                substitute="chuyen_vien_1",
                unit_code="00070",
                date_from=TUE,
                date_to=TUE,
                created_by="import",
                created_at=vn(2026, 3, 1),
            )
        )
        s.flush()
        assert absences.effective_assignee(s, "chuyen_vien_1", TUE, "five_steps", "chuyen_vien") == (
            "chuyen_vien_3",
            "chuyen_vien_1",
        )


# -- routing and giving back ----------------------------------------------------------------------


def test_steps_follow_the_absence_and_come_back_when_it_passes(runtime, appraisal, clock):
    away(runtime, "chuyen_vien_1", "chuyen_vien_2", TUE, WED)
    assert absences.route_to_substitutes(runtime) == {"routed": 0, "given_back": 0}  # Monday: still here

    clock.set(vn(2026, 3, 3, 7, 0))  # Tuesday, before office hours
    assert absences.route_to_substitutes(runtime) == {"routed": 1, "given_back": 0}
    assert holder(runtime, appraisal.id) == ("chuyen_vien_2", "chuyen_vien_1")
    [event] = [e for e in events(runtime, "handover") if e.work_item_id == appraisal.id and e.actor == "system"]
    assert (event.giver, event.receiver, event.on_behalf_of, event.detail["reason"]) == (
        "chuyen_vien_1",
        "chuyen_vien_2",
        "chuyen_vien_1",
        "absence",
    )
    assert messages(runtime)[-1].recipient == "chuyen_vien_2"
    assert absences.route_to_substitutes(runtime) == {"routed": 0, "given_back": 0}  # idempotent

    clock.advance(days=1)  # Wednesday: still away
    assert absences.route_to_substitutes(runtime) == {"routed": 0, "given_back": 0}
    clock.advance(days=1)  # Thursday: back
    assert absences.route_to_substitutes(runtime) == {"routed": 0, "given_back": 1}
    assert holder(runtime, appraisal.id) == ("chuyen_vien_1", None)
    back = [e for e in events(runtime, "handover") if e.actor == "system"][-1]
    assert (back.giver, back.receiver, back.detail["reason"]) == ("chuyen_vien_2", "chuyen_vien_1", "absence_ended")
    assert messages(runtime)[-1].recipient == "chuyen_vien_1"


def test_the_substitute_completes_on_behalf_of_the_absent_user(runtime, appraisal, clock):
    away(runtime, "chuyen_vien_1", "chuyen_vien_2", MON, MON)
    absences.route_to_substitutes(runtime)
    dossiers.complete_work_item(runtime, appraisal.id, SPECIALIST_2, {"hop_le": True})
    with runtime.db.session() as s:
        done = s.get(WorkItemRecord, appraisal.id)
    assert (done.completed_by, done.on_behalf_of) == ("chuyen_vien_2", "chuyen_vien_1")


def test_ending_an_absence_gives_steps_back(runtime, appraisal, clock):
    absence = away(runtime, "chuyen_vien_1", "chuyen_vien_2", MON, FRI)
    absences.route_to_substitutes(runtime)
    clock.advance(hours=3)
    [given] = absences.end_absence(runtime, SPECIALIST, absence.id)
    assert given.id == appraisal.id
    assert holder(runtime, appraisal.id) == ("chuyen_vien_1", None)
    [ended] = events(runtime, "absence_ended")
    assert (ended.actor, ended.giver, ended.receiver) == ("chuyen_vien_1", "chuyen_vien_2", "chuyen_vien_1")
    with pytest.raises(InvalidAction, match="already ended"):
        absences.end_absence(runtime, SPECIALIST, absence.id)
    assert absences.route_to_substitutes(runtime) == {"routed": 0, "given_back": 0}


def test_ending_without_give_back_leaves_steps_with_the_substitute(runtime, appraisal, clock):
    absence = away(runtime, "chuyen_vien_1", "chuyen_vien_2", MON, FRI)
    absences.route_to_substitutes(runtime)
    absences.end_absence(runtime, LEADER, absence.id, give_back=False)
    assert holder(runtime, appraisal.id) == ("chuyen_vien_2", None)
    assert absences.route_to_substitutes(runtime) == {"routed": 0, "given_back": 0}
    assert holder(runtime, appraisal.id) == ("chuyen_vien_2", None)


def test_ending_someone_elses_absence_needs_a_leader(runtime, five):
    absence = away(runtime, "chuyen_vien_1", "chuyen_vien_2", MON, FRI)
    before = snapshot(runtime)
    with pytest.raises(PermissionDenied, match="only chuyen_vien_1 or a leader"):
        absences.end_absence(runtime, SPECIALIST_2, absence.id)
    with pytest.raises(NotFound):
        absences.end_absence(runtime, LEADER, absence.id + 100)
    assert snapshot(runtime) == before
