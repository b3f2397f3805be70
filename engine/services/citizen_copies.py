"""What a citizen may take away from the lookup page, and the record of each download.

The citizen's copies are the forms the office issues *to the applicant* (the receipt and
appointment slip, the supplement request, the refusal, the apology letter with the new
appointment, the stop notice), each once there is something for it to say, and the dossier's
result files (the signed decision, the certificate). Never the processing records (officers'
work) nor the reception scans (which may hold other people's papers: a spouse's ID card, a
neighbour's consent). Each download is written to the dossier's audit log with who = "citizen" and
the address it came from, so the office can answer "who took this decision out, and from where".
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.domain.attachments import AttachmentKind
from engine.domain.model import DossierStatus
from engine.services import audit
from engine.services.runtime import Runtime
from engine.services.unit_of_work import transaction
from engine.store import attachment_records
from engine.store import dossier_queries
from engine.store import queries
from engine.store.attachment_records import AttachmentRecord

CITIZEN = "citizen"
DOWNLOAD_ACTION = "citizen_download"
#: The printed forms addressed to the applicant, in the order a dossier can gain them.
FORM_KINDS = ("tiep_nhan", "bo_sung", "tu_choi", "xin_loi", "dung")


@dataclass(frozen=True)
class CitizenCopies:
    dossier_id: int
    forms: tuple[str, ...]
    results: tuple[AttachmentRecord, ...]


def copies_results(rt: Runtime, dossier_id: int) -> tuple[AttachmentRecord, ...]:
    """The dossier's result files (the signed decision, the certificate), oldest first."""
    with rt.db.read_session() as s:
        return tuple(
            row for row in attachment_records.of_dossier(s, dossier_id) if row.kind == AttachmentKind.RESULT.value
        )


def dossier_id_of(rt: Runtime, code: str) -> int | None:
    with rt.db.read_session() as s:
        return queries.dossier_id_by_code(s, code)


def copies(rt: Runtime, dossier_id: int, papers) -> CitizenCopies:
    """The forms the dossier has (from its papers, engine.services.dossier_papers) and its result files."""
    stopped = is_stopped(rt, dossier_id)
    with rt.db.read_session() as s:
        results = tuple(
            row for row in attachment_records.of_dossier(s, dossier_id) if row.kind == AttachmentKind.RESULT.value
        )
    return CitizenCopies(dossier_id, tuple(kind for kind in FORM_KINDS if form_issued(kind, papers, stopped)), results)


def is_stopped(rt: Runtime, dossier_id: int) -> bool:
    """Whether the dossier was stopped or withdrawn (it then has a stop notice)."""
    with rt.db.read_session() as s:
        return dossier_queries.stop_event(s, dossier_id) is not None


def form_issued(kind: str, papers, stopped: bool) -> bool:
    """Whether the dossier has the form: the receipt once the dossier was received; the others once
    what they record happened."""
    return {
        "tiep_nhan": receipt_issued(papers),
        "bo_sung": papers.supplement is not None,
        "tu_choi": papers.refusal is not None,
        "xin_loi": bool(papers.view.dossier.re_appointment_reason),
        "dung": stopped,
    }.get(kind, False)


def receipt_issued(papers) -> bool:
    """A dossier refused at reception got form 03 instead of a receipt, and one asked for a
    supplement at reception gets form 02 and its receipt only once it is complete."""
    status = papers.view.dossier.status
    if status == DossierStatus.NOT_ACCEPTED:
        return False
    reception = papers.steps[0] if papers.steps else None
    asked_at_reception = (
        papers.supplement is not None
        and reception is not None
        and papers.supplement.step == reception.name
        and reception.completed_at == papers.supplement.at
    )
    return not (status == DossierStatus.SUPPLEMENT_REQUESTED and asked_at_reception)


def result_file(rt: Runtime, dossier_id: int, key: str) -> AttachmentRecord | None:
    """The dossier's result file with this key; None for any other file (another dossier's, a scan, a record)."""
    with rt.db.read_session() as s:
        row = attachment_records.by_key(s, key or "")
    if row is None or row.dossier_id != dossier_id or row.kind != AttachmentKind.RESULT.value:
        return None
    return row


def record_download(rt: Runtime, dossier_id: int, *, document: str, address: str | None) -> None:
    """One audit event per download: which document (a form's kind or a file's name), from where."""
    with transaction(rt) as s:
        audit.record(
            s,
            at=rt.clock.now(),
            action=DOWNLOAD_ACTION,
            actor=CITIZEN,
            dossier_id=dossier_id,
            document=document,
            address=address,
        )
