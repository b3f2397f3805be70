"""The citizen's data store: a completed dossier's documents kept under its applicant's personal
identification number; at the next reception, what the store already holds for that number
(the applicant's known details, and which checklist items it answers); and the link of a kept
document into the new dossier, logged as a reuse (who, when, which dossier) in the reception's
own transaction.

Who may read it: a reception officer who types the citizen's exact number in front of them (no
listing, no search by name), each such look logged in the audit; the documents' bytes only
through a dossier the officer's unit handles, once linked into it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from engine.domain import citizen_store as rules
from engine.domain.assignment import Actor
from engine.domain.attachments import AttachmentKind
from engine.domain.errors import InvalidAction
from engine.domain.errors import PermissionDenied
from engine.domain.model import DossierStatus
from engine.services import audit
from engine.services.runtime import Runtime
from engine.services.stored_files import new_key
from engine.store import attachment_records
from engine.store import catalogue_records
from engine.store import citizen_records
from engine.store import dossier_queries
from engine.store import people_queries
from engine.store.attachment_records import AttachmentRecord
from engine.store.citizen_records import CitizenDocumentRecord
from engine.store.citizen_records import CitizenReuseRecord
from engine.store.database import Session
from engine.store.records import DossierRecord

#: Outcomes whose documents are kept: the dossier was decided (refused or stopped ones are not).
KEPT_STATUSES = (DossierStatus.PROCESSED.value, DossierStatus.RESULT_RETURNED.value)
#: Who may look a citizen up: the one-stop desk receiving their dossier.
RECEPTION_ROLE = "mot_cua"
#: The applicant's details a later reception is filled with.
DETAILS = ("name", "phone", "address")


def id_number_of(dossier: DossierRecord) -> str | None:
    number = (dossier.applicant or {}).get("id_number")
    return number if rules.is_personal_id(number) else None


def keep_completed(session: Session, dossier: DossierRecord, now: datetime) -> int:
    """Keep the decided dossier's results and the reception scans worth keeping under its
    applicant's number; returns how many were added (a document kept already is not kept twice)."""
    number = id_number_of(dossier)
    if number is None or dossier.status not in KEPT_STATUSES:
        return 0
    files = attachment_records.of_dossier(session, dossier.id)
    already = citizen_records.kept_attachment_ids(session, number, [f.id for f in files])
    checklist = {d.get("index"): d.get("name") for d in (dossier.applicant or {}).get("documents") or []}
    added = 0
    for row in files:
        name = _kept_name(session, dossier, row, checklist)
        if row.id in already or name is None:
            continue
        session.add(
            CitizenDocumentRecord(
                id_number=number,
                dossier_id=dossier.id,
                attachment_id=row.id,
                name=name[:500],
                kind=row.kind,
                kept_at=now,
            )
        )
        added += 1
    return added


def _kept_name(session: Session, dossier: DossierRecord, row: AttachmentRecord, checklist: dict) -> str | None:
    """What the kept file is called in the store: the procedure's result, or the checklist item it
    was scanned for (None for processing records and declarations)."""
    if row.kind == AttachmentKind.RESULT.value:
        return _result_name(session, dossier) or row.name
    if row.kind == AttachmentKind.RECEPTION.value and row.checklist_index is not None:
        name = checklist.get(row.checklist_index)
        return name if name and rules.worth_keeping(name) else None
    return None


def _result_name(session: Session, dossier: DossierRecord) -> str | None:
    view = dossier_queries.dossier_view(session, dossier.id)
    entry = catalogue_records.procedure_by_key(session, view.definition.key) if view else None
    return getattr(entry, "result", None) if entry else None


@dataclass(frozen=True)
class Holding:
    """What reception sees for a number: the applicant's last known details and the kept documents
    (newest first), each with the dossier it came from."""

    id_number: str
    details: dict
    documents: list[rules.Held]


def holding(rt: Runtime, id_number: str, actor: Actor) -> Holding:
    """The store's answer to a reception officer who typed the citizen's number; the look is logged."""
    _check_may_look(actor, id_number)
    with rt.db.session() as s:
        documents = [rules.Held(doc.id, doc.name, code) for doc, _file, code in citizen_records.held(s, id_number)]
        latest = _latest_dossier(s, id_number)
        details = (
            {k: (latest.applicant or {}).get(k) for k in DETAILS if (latest.applicant or {}).get(k)} if latest else {}
        )
        if latest is not None and "name" not in details:
            details["name"] = latest.applicant_name
        audit.record(
            s,
            at=rt.clock.now(),
            action="citizen_store_read",
            actor=actor,
            dossier_id=None,
            id_number_tail=id_number[-4:],
            documents=len(documents),
        )
        audit.write_pending(s)
    return Holding(id_number, details, documents)


def _check_may_look(actor: Actor, id_number: str) -> None:
    if not rules.is_personal_id(id_number):
        raise InvalidAction("a personal identification number has 12 digits", field="id_number")
    if not actor.is_system and RECEPTION_ROLE not in actor.roles:
        raise PermissionDenied("only the one-stop desk receiving a citizen's dossier may read their data store")


def _latest_dossier(s: Session, id_number: str) -> DossierRecord | None:
    doc = next(iter(citizen_records.held(s, id_number)), None)
    return s.get(DossierRecord, doc[0].dossier_id) if doc else None


def link_reused(
    session: Session,
    dossier: DossierRecord,
    reused: dict[int, int],
    actor: Actor,
    now: datetime,
    work_item_id: int | None,
) -> list[CitizenReuseRecord]:
    """Link kept documents ({checklist index: document id}) into the new dossier as its reception
    files, without copying their bytes; each link is a reuse in the log and in the history.
    Refused, naming the item, when a document is not the applicant's or does not answer the item."""
    number = id_number_of(dossier)
    checklist = {d.get("index"): d.get("name") for d in (dossier.applicant or {}).get("documents") or []}
    reuses = []
    for index, document_id in sorted(reused.items()):
        doc = session.get(CitizenDocumentRecord, document_id)
        if doc is None or number is None or doc.id_number != number:
            raise InvalidAction(
                "document %(document)s is not in the data store of this applicant",
                field=f"reuse_{index}",
                document=document_id,
            )
        item = checklist.get(index)
        if item is None or not rules.answers(doc.name, item):
            raise InvalidAction(
                "the kept document '%(name)s' does not answer checklist item %(index)s",
                field=f"reuse_{index}",
                name=doc.name,
                index=index + 1,
            )
        original = session.get(AttachmentRecord, doc.attachment_id)
        link = AttachmentRecord(
            key=new_key(),
            dossier_id=dossier.id,
            work_item_id=work_item_id,
            checklist_index=index,
            kind=AttachmentKind.RECEPTION.value,
            name=original.name,
            content_type=original.content_type,
            size=original.size,
            sha256=original.sha256,
            storage_key=original.storage_key,
            uploaded_by=actor.username,
            on_behalf_of=actor.on_behalf_of,
            uploaded_at=now,
        )
        session.add(link)
        session.flush()
        reuse = CitizenReuseRecord(
            document_id=doc.id,
            dossier_id=dossier.id,
            attachment_id=link.id,
            checklist_index=index,
            actor=actor.username,
            on_behalf_of=actor.on_behalf_of,
            at=now,
        )
        session.add(reuse)
        reuses.append(reuse)
        audit.record(
            session,
            at=now,
            action="citizen_store_reuse",
            actor=actor,
            dossier_id=dossier.id,
            work_item_id=work_item_id,
            name=doc.name,
            document=doc.id,
            sha256=original.sha256,
        )
    return reuses


@dataclass(frozen=True)
class ReuseLine:
    """One reuse as the citizen reads it on the lookup page."""

    at: datetime
    document: str
    dossier_code: str
    by: str


def reuses_of_applicant(rt: Runtime, dossier_id: int) -> list[ReuseLine]:
    """Every reuse of the documents kept for the applicant of this dossier (the citizen proved they
    hold its code and second factor)."""
    with rt.db.read_session() as s:
        dossier = s.get(DossierRecord, dossier_id)
        number = id_number_of(dossier) if dossier else None
        if number is None:
            return []
        rows = citizen_records.reuses_for(s, number)
        names = people_queries.full_names(s, [reuse.actor for reuse, _name, _code in rows])
    return [ReuseLine(reuse.at, name, code, names.get(reuse.actor, reuse.actor)) for reuse, name, code in rows]
