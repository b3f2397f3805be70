"""Recording a payment after reception: once the amount due is paid, a dossier waiting at portal
status 6 (its procedure is paid before it is processed) goes on, its legal clock restarted and its
appointment moved by the working time it waited."""

from __future__ import annotations

from datetime import datetime

from engine.domain.assignment import Actor
from engine.domain.errors import InvalidAction
from engine.domain.errors import PermissionDenied
from engine.domain.model import RunState
from engine.services import dossiers
from engine.services import projection
from engine.services import unit_of_work
from engine.services.payments import Payment
from engine.services.payments import account
from engine.services.payments import add_payment
from engine.services.payments import check_payment
from engine.services.runtime import Runtime
from engine.store.citizen_records import PaymentRecord
from engine.store.database import Session
from engine.store.records import DossierRecord


def record_payment(rt: Runtime, dossier_id: int, actor: Actor, payment: Payment) -> PaymentRecord:
    """A payment after reception; once the amount due is paid a dossier waiting at status 6 goes on
    (its clock restarts and its appointment moves by the working time it waited).

    Raises:
        InvalidAction: a bad amount, method or reference (named), or a dossier no longer running.
        PermissionDenied: the actor is no officer of the dossier's commune.
    """
    check_payment(payment)
    with unit_of_work.transaction(rt) as s:
        dossier = dossiers.get_dossier(s, dossier_id)
        if not actor.is_system and actor.unit_code != dossier.unit_code and dossier.received_unit != actor.unit_code:
            raise PermissionDenied(
                "only the one-stop office of unit %(unit)s records payments for dossier %(code)s",
                unit=dossier.unit_code,
                code=dossier.code,
            )
        if dossier.run_state != RunState.RUNNING.value:
            raise InvalidAction("dossier %(code)s is no longer being processed", code=dossier.code)
        now = rt.clock.now()
        row = add_payment(s, dossier, payment, actor, now)
        s.flush()
        if account(s, dossier).waiting and account(s, dossier).outstanding_vnd == 0:
            _end_wait(rt, s, dossier, now)
        return row


def _end_wait(rt: Runtime, s: Session, dossier: DossierRecord, now: datetime) -> None:
    dossier.applicant = {**(dossier.applicant or {}), "fee_wait": False}
    calendar = rt.calendars.for_unit(s, dossier.unit_code)
    projection.refresh_status(s, dossier, dossiers.load_run(rt, s, dossier, calendar), now, calendar)
    dossier.updated_at = now
