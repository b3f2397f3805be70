"""The result as a signed document: a leader's approval (the step's decision `duyet`) asks, in the
approval's own transaction, for the dossier's result PDF (where signing is configured); the worker
renders it (engine/templates/result.html, with a QR code that opens the dossier's lookup page by a
token of its own), signs it with the unit's certificate (PAdES, engine.signing, dated by the
engine's clock), stores it as the dossier's result file and keeps it in the citizen's data store.
A failure to render or sign is an incident retried by the worker (engine.services.incidents); the
approval stands and the result is never lost, only late."""

from __future__ import annotations

import os
from collections.abc import Mapping
from contextlib import nullcontext
from datetime import datetime
from urllib.parse import urlencode

from engine import pdf
from engine import signing
from engine.domain import decisions
from engine.domain import lookup_tokens
from engine.domain import vn_dates
from engine.domain.assignment import Actor
from engine.domain.attachments import AttachmentKind
from engine.domain.attachments import Upload
from engine.services import audit
from engine.services import citizen_store
from engine.services import incidents
from engine.services import stored_files
from engine.services.runtime import Runtime
from engine.services.watchdog import StopRequested
from engine.store import catalogue_records
from engine.store import citizen_records
from engine.store import dossier_queries
from engine.store import people_queries
from engine.store.citizen_records import ResultSigningRecord
from engine.store.database import Session
from engine.store.records import DossierRecord
from engine.store.records import UnitRecord
from engine.store.records import WorkItemRecord

#: The step decisions that approve the result (the library's leader step: ky_duyet, `duyet`).
APPROVALS = frozenset({"duyet"})
INCIDENT_KIND = "signing"
#: Where the QR on a result points: the public lookup page of this deployment.
PUBLIC_URL_VARIABLE = "MOTCUA_PUBLIC_URL"
DEFAULT_PUBLIC_URL = "http://127.0.0.1:5000"


def note_approval(
    session: Session, dossier: DossierRecord, item: WorkItemRecord, data: Mapping | None, actor: Actor, now: datetime
) -> ResultSigningRecord | None:
    """Inside the approval's transaction: the result is owed (again, after a return and a new
    approval, when it was not signed yet)."""
    decision = (data or {}).get(decisions.DECISION_KEY)
    if not isinstance(decision, str) or decision not in APPROVALS:
        return None
    if signing.settings_path(session.get_bind().engine.url.render_as_string(hide_password=False)) is None:
        return None  # this deployment signs no results (docs/signing.md)
    row = citizen_records.signing_of(session, dossier.id)
    if row is None:
        row = ResultSigningRecord(dossier_id=dossier.id, status="pending")
        session.add(row)
    elif row.status == "signed":
        return row
    row.work_item_id, row.approved_by, row.approved_at, row.due_at = item.id, actor.username, now, now
    return row


def lookup_url(code: str, token: str) -> str:
    """The public lookup of the dossier, opened by the result's own token (no digits to type)."""
    base = os.environ.get(PUBLIC_URL_VARIABLE) or DEFAULT_PUBLIC_URL
    return f"{base.rstrip('/')}/tra-cuu?{urlencode({'ma': code, 'k': token})}"


def issue_due(rt: Runtime, batch: int = 20, watchdog=None) -> dict[str, int]:
    """The worker's part: every owed result whose time has come. Each is rendered and signed
    outside any transaction (a second or so of CPU: SQLite's single writer is not held meanwhile),
    then stored in a short transaction of its own; a failure is recorded against its row (retried
    after 1 and 2 minutes, then an open incident)."""
    done = 0
    with rt.db.read_session() as s:
        due = citizen_records.due_signings(s, rt.clock.now(), batch)
    for signing_id in due:
        if watchdog is not None and watchdog.should_stop():
            break
        done += _issue_one(rt, signing_id, watchdog)
    return {"results_signed": done}


def _issue_one(rt: Runtime, signing_id: int, watchdog) -> int:
    now = rt.clock.now()
    subject = None
    try:
        with rt.db.read_session() as s:
            row = s.get(ResultSigningRecord, signing_id)
            if row is None or row.status != "pending":
                return 0
            subject = incidents.Subject(INCIDENT_KIND, row.id, dossier_id=row.dossier_id, work_item_id=row.work_item_id)
            with watchdog.item() if watchdog is not None else nullcontext():
                signed, settings, token = _render_and_sign(rt, s, row, now)
        with rt.db.session() as s:
            row = citizen_records.lock_signing(s, signing_id)
            if row is None:  # another worker stored it meanwhile
                return 0
            store(rt, s, row, signed, settings, now, token)
            incidents.succeeded(s, INCIDENT_KIND, [row.id], now)
            audit.write_pending(s)
        return 1
    except StopRequested:
        raise
    except Exception as exc:  # one result's failure must never stop the others
        if subject is None:
            raise
        with rt.db.session() as s:
            incidents.record_failure(s, subject, exc, now)
            audit.write_pending(s)
        return 0


def issue_pending(rt: Runtime, dossier_id: int) -> None:
    """Sign a dossier's owed result now, in a transaction of its own, instead of on the worker's
    next pass (the demo's seed)."""
    with rt.db.session() as s:
        row = citizen_records.signing_of(s, dossier_id)
        if row is not None and row.status == "pending":
            issue(rt, s, row, rt.clock.now())


def issue(rt: Runtime, s: Session, row: ResultSigningRecord, now: datetime) -> None:
    """Render, sign, store and keep one result inside the caller's transaction (the demo's seed)."""
    signed, settings, token = _render_and_sign(rt, s, row, now)
    store(rt, s, row, signed, settings, now, token)


def _render_and_sign(rt: Runtime, s: Session, row: ResultSigningRecord, now: datetime):
    dossier = s.get(DossierRecord, row.dossier_id)
    unit = s.get(UnitRecord, dossier.unit_code)
    settings = signing.settings_from_environment(rt.db.url)
    certificate = settings.for_unit(rt.calendars.chain(s, dossier.unit_code))
    leader = people_queries.full_names(s, [row.approved_by]).get(row.approved_by, row.approved_by)
    token = lookup_tokens.new_token()
    html = render_html(s, dossier, unit, leader, row, rt.calendars.for_unit(s, dossier.unit_code).tz, token)
    signed = signing.sign_pdf(
        pdf.html_to_pdf(html),
        certificate,
        reason=f"Ký duyệt kết quả hồ sơ {dossier.code}",
        location=unit.name,
        at=now,
    )
    return signed, settings, token


def store(
    rt: Runtime, s: Session, row: ResultSigningRecord, signed: bytes, settings, now: datetime, token: str
) -> None:
    """The signed PDF as the dossier's result file, the owed row closed (with the digest of the
    lookup token its QR code carries), the history and the citizen's data store told."""
    dossier = s.get(DossierRecord, row.dossier_id)
    verdict = signing.verify_pdf(signed, settings.trust_roots, now)
    staged = stored_files.stage(Upload(f"{dossier.code}-ket-qua.pdf", "application/pdf", signed), AttachmentKind.RESULT)
    with stored_files.staged_files(rt, [staged]) as done:
        (attachment,) = stored_files.add_rows(s, dossier, done, Actor(row.approved_by), now, row.work_item_id)
        s.flush()
    row.status, row.due_at, row.attachment_id = "signed", None, attachment.id
    row.signer, row.signed_at = verdict.signer, now
    row.lookup_token_sha256 = lookup_tokens.digest(token)
    audit.record(
        s,
        at=now,
        action="result_signed",
        actor=Actor.system(),
        dossier_id=dossier.id,
        name=attachment.name,
        signer=verdict.signer,
        sha256=attachment.sha256,
    )
    citizen_store.keep_completed(s, dossier, now)


def render_html(
    s: Session, dossier: DossierRecord, unit: UnitRecord, leader: str, row: ResultSigningRecord, tz, token: str
) -> str:
    view = dossier_queries.dossier_view(s, dossier.id)
    entry = catalogue_records.procedure_by_key(s, view.definition.key)
    province = s.get(UnitRecord, unit.parent_code) if unit.parent_code else None
    approval = s.get(WorkItemRecord, row.work_item_id) if row.work_item_id else None
    url = lookup_url(dossier.code, token)
    return pdf.render_template(
        "result.html",
        fonts=pdf.FONTS,
        code=dossier.code,
        applicant=dossier.applicant_name,
        id_number=(dossier.applicant or {}).get("id_number"),
        result_name=(entry.result if entry and entry.result else "Kết quả giải quyết thủ tục hành chính"),
        procedure=view.definition.name,
        procedure_code=dossier.procedure_code,
        unit=unit.name,
        province=(province.name if province else ""),
        place_date=vn_dates.place_and_date(unit.name, row.approved_at, tz),
        received=vn_dates.document_datetime(dossier.received_at, tz),
        opinion=((approval.outcome or {}).get("y_kien") if approval else None),
        leader=leader,
        leader_title="CHỦ TỊCH" if unit.kind == "commune" else "THỦ TRƯỞNG CƠ QUAN",
        qr=pdf.qr_svg(url),
    )
