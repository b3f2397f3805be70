"""A start sent twice with one idempotency key starts one dossier: the retry after a lost answer
and two copies of the request racing each other both get the first one's dossier."""

from __future__ import annotations

from sqlalchemy import func
from sqlalchemy import select

from engine.services import dossiers
from engine.services import idempotent_starts as idempotency
from engine.store.records import DossierRecord
from tests.factories import RECEPTION
from tests.factories import add_units
from tests.factories import deploy_fixture


def _starter(rt, definition):
    def start(remember):
        def answer(s, dossier):
            if remember is not None:
                remember(s, dossier)
            return dossier.id

        return dossiers.start_dossier(rt, definition_id=definition.id, unit_code="00070",
                                      applicant_name="Nguyễn Văn A", actor=RECEPTION, answer=answer)

    return start


def _dossiers(rt) -> int:
    with rt.db.read_session() as s:
        return s.scalar(select(func.count()).select_from(DossierRecord))


def test_a_retry_with_the_same_key_gets_the_dossier_the_first_request_started(runtime):
    add_units(runtime)
    start = _starter(runtime, deploy_fixture(runtime, "five_steps"))
    first, started = idempotency.start_once(runtime, username="mot_cua_1", key="portal-42", start=start,
                                            replay=lambda dossier_id: dossier_id)
    again, started_again = idempotency.start_once(runtime, username="mot_cua_1", key="portal-42", start=start,
                                                  replay=lambda dossier_id: dossier_id)
    assert started and not started_again and again == first and _dossiers(runtime) == 1
    # Keys are per account, and no key means no replay.
    other, _ = idempotency.start_once(runtime, username="mot_cua_2", key="portal-42", start=start, replay=None)
    assert other != first
    idempotency.start_once(runtime, username="mot_cua_1", key=None, start=start, replay=None)
    assert _dossiers(runtime) == 3


def test_two_copies_racing_start_one_dossier(runtime, monkeypatch):
    """The second copy looked before the first committed (it saw no key), started, and its commit
    was refused by the key: it answers with the first copy's dossier, and its own start is gone."""
    add_units(runtime)
    start = _starter(runtime, deploy_fixture(runtime, "five_steps"))
    first, _ = idempotency.start_once(runtime, username="mot_cua_1", key="k", start=start, replay=None)
    real_lookup, looks = idempotency._started_with, []

    def late_lookup(rt, username, key):
        looks.append(key)
        return None if len(looks) == 1 else real_lookup(rt, username, key)

    monkeypatch.setattr(idempotency, "_started_with", late_lookup)
    second, started = idempotency.start_once(runtime, username="mot_cua_1", key="k", start=start,
                                             replay=lambda dossier_id: dossier_id)
    assert not started and second == first and _dossiers(runtime) == 1
