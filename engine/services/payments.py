"""A dossier's fee account: the catalogue's cases the officer picked at reception (kept in the
applicant's record as `fees`), the payments recorded (cash at the counter, or a bank or portal
payment's reference), and whether the dossier waits at status 6 for them (`fee_wait`: the
procedure is paid before it is processed and the amount due is not paid yet)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from engine.domain.assignment import Actor
from engine.domain.errors import InvalidAction
from engine.services import audit
from engine.store import citizen_queries
from engine.store.citizen_records import PaymentRecord
from engine.store.database import Session
from engine.store.records import DossierRecord

METHODS = ("cash", "bank", "portal")
MAX_AMOUNT_VND = 2_000_000_000
MAX_REFERENCE = 100


@dataclass(frozen=True)
class Payment:
    amount_vnd: int
    method: str  # cash | bank | portal
    reference: str | None = None


@dataclass(frozen=True)
class FeeAccount:
    """What the dossier owes and what was paid."""

    lines: list[dict]
    payments: list[PaymentRecord]
    waiting: bool

    @property
    def due_vnd(self) -> int:
        return sum(line.get("amount_vnd") or 0 for line in self.lines)

    @property
    def paid_vnd(self) -> int:
        return sum(p.amount_vnd for p in self.payments)

    @property
    def outstanding_vnd(self) -> int:
        return max(0, self.due_vnd - self.paid_vnd)


def check_payment(payment: Payment) -> None:
    """Raises InvalidAction naming the field (amount_vnd, method, reference)."""
    if payment.method not in METHODS:
        raise InvalidAction("pay in cash, by bank transfer or through the portal", field="method")
    if not 0 < payment.amount_vnd <= MAX_AMOUNT_VND:
        raise InvalidAction(
            "the amount paid must be between 1 and %(max)s dong", field="amount_vnd", max=MAX_AMOUNT_VND
        )
    reference = (payment.reference or "").strip()
    if payment.method != "cash" and not reference:
        raise InvalidAction("a bank or portal payment needs its transaction reference", field="reference")
    if len(reference) > MAX_REFERENCE:
        raise InvalidAction("the reference is over %(limit)s characters", field="reference", limit=MAX_REFERENCE)


def account(session: Session, dossier: DossierRecord) -> FeeAccount:
    applicant = dossier.applicant or {}
    payments = citizen_queries.payments_of(session, dossier.id)
    return FeeAccount(list(applicant.get("fees") or []), payments, bool(applicant.get("fee_wait")))


def add_payment(
    session: Session, dossier: DossierRecord, payment: Payment, actor: Actor, now: datetime
) -> PaymentRecord:
    """Record a payment inside the caller's change (reception pays at the counter in its own)."""
    check_payment(payment)
    row = PaymentRecord(
        dossier_id=dossier.id,
        amount_vnd=payment.amount_vnd,
        method=payment.method,
        reference=(payment.reference or "").strip() or None,
        paid_at=now,
        recorded_by=actor.username,
    )
    session.add(row)
    audit.record(
        session,
        at=now,
        action="payment",
        actor=actor,
        dossier_id=dossier.id,
        amount_vnd=payment.amount_vnd,
        method=payment.method,
        reference=row.reference,
    )
    return row


def waits_at_reception(session: Session, definition_id: int, lines: list[dict], paid_vnd: int) -> bool:
    """Whether a dossier received now waits for its fees: its procedure is paid before it is
    processed (the catalogue says so) and what was paid at the counter does not cover the cases."""
    due = sum(line.get("amount_vnd") or 0 for line in lines)
    if due <= paid_vnd:
        return False
    return citizen_queries.fees_before_processing(session, definition_id)
