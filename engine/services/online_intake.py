"""Online intake: dossiers citizens submitted on the portal arrive (the worker pulls them, or the
portal pushes them to our API) with their attachments as status 1 into the commune desk's online
queue; the one-stop officer accepts (the dossier gets its code and appointment and starts its
process, status 2), refuses with a reason (3) or asks for a supplement (5), and the portal hears
each through the outbox. A dossier that waits two working hours alerts the desk (Decree 297/2025)."""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from datetime import time

from engine.domain import deadlines
from engine.domain import portal
from engine.domain.assignment import Actor
from engine.domain.attachments import AttachmentKind
from engine.domain.attachments import Upload
from engine.domain.errors import InvalidAction
from engine.domain.errors import NotFound
from engine.domain.errors import PermissionDenied
from engine.domain.limits import check_reason_length
from engine.domain.model import DossierStatus
from engine.services import audit
from engine.services import dossiers
from engine.services import outbox
from engine.services import portal_sync
from engine.services import stored_files
from engine.services.portal_client import PortalClient
from engine.services.portal_client import PortalUnavailable
from engine.services.runtime import Runtime
from engine.store import catalogue_records
from engine.store import portal_records
from engine.store import repositories
from engine.store.database import Session
from engine.store.portal_records import OnlineSubmissionRecord
from engine.store.records import DossierRecord

log = logging.getLogger("motcua.online_intake")

REQUIRED = ("MaHoSoCong", "MaTTHC", "MaDonVi", "ChuHoSo")


@dataclass(frozen=True)
class Taken:
    """What one arrival did: a new submission, a supplemented one back in the queue, or nothing new."""

    submission_id: int
    outcome: str  # new | supplemented | known


def take_submission(rt: Runtime, payload: Mapping) -> Taken:
    """Put a portal submission in its commune's online queue, once: the same code again is known
    (a pull after a push, a push repeated), unless the desk asked for a supplement, when the
    supplemented dossier comes back as a new round. InvalidAction names the payload's field."""
    for name in REQUIRED:
        if not str(payload.get(name) or "").strip():
            raise InvalidAction("the portal submission has no %(name)s", field=name, name=name)
    submitted_at = _instant(payload.get("NgayNop"), "NgayNop") or rt.clock.now()
    files = _files(payload.get("TepDinhKem") or [])
    with rt.db.session() as s:
        unit = _unit_for(s, str(payload["MaDonVi"]))
        definition = portal_records.published_for_procedure(s, str(payload["MaTTHC"]))
        if definition is None:
            raise InvalidAction("no published process for procedure %(code)s", field="MaTTHC", code=payload["MaTTHC"])
        dossiers.refuse_if_retired(s, definition.key, field="MaTTHC")
        now = rt.clock.now()
        known = portal_records.submission_by_portal_code(s, str(payload["MaHoSoCong"]))
        if known is not None and known.status != DossierStatus.SUPPLEMENT_REQUESTED:
            return Taken(known.id, "known")
        row = known or OnlineSubmissionRecord(portal_code=str(payload["MaHoSoCong"]), rounds=0)
        row.unit_code, row.procedure_code = unit.code, str(payload["MaTTHC"])
        row.applicant_name = str(payload["ChuHoSo"])[:200]
        row.applicant = {
            k: v
            for k, v in {
                "name": str(payload["ChuHoSo"]),
                "phone": payload.get("SoDienThoai"),
                "email": payload.get("Email"),
                "id_number": payload.get("SoGiayTo"),
                "address": payload.get("DiaChi"),
                "portal_code": str(payload["MaHoSoCong"]),
            }.items()
            if v
        }
        row.summary, row.attachments = payload.get("TrichYeuHoSo"), files
        row.submitted_at, row.arrived_at, row.status = submitted_at, now, DossierStatus.NEW.value
        row.rounds, row.alerted_at, row.reason = row.rounds + 1, None, None
        if known is None:
            s.add(row)
        s.flush()
        audit.record(
            s,
            at=now,
            action="online_received",
            actor="system",
            portal_code=row.portal_code,
            unit=unit.code,
            procedure=row.procedure_code,
            round=row.rounds,
        )
        audit.write_pending(s)
        return Taken(row.id, "supplemented" if known is not None else "new")


def unit_of_agency(rt: Runtime, agency: str) -> str:
    """Our unit code for the portal's agency identifier (InvalidAction naming MaDonVi otherwise)."""
    with rt.db.read_session() as s:
        return _unit_for(s, agency).code


def _unit_for(s: Session, agency: str):
    for setting in portal_records.all_settings(s):
        unit = portal_records.unit_by_agency(s, setting, agency)
        if unit is not None and portal_sync.setting_of_unit(s, unit.code)[0] is setting:
            return unit
    raise InvalidAction(
        "agency %(agency)s is not a unit of a province connected to the portal", field="MaDonVi", agency=agency
    )


def _instant(text, field: str) -> datetime | None:
    if not text:
        return None
    try:
        instant = datetime.fromisoformat(str(text))
    except ValueError:
        raise InvalidAction("%(field)s is not an ISO 8601 instant", field=field) from None
    if instant.tzinfo is None:
        raise InvalidAction("%(field)s needs its UTC offset", field=field)
    return instant


def _files(items: list) -> list[dict]:
    """The attachments as kept until acceptance, each checked like an upload at the desk."""
    kept = []
    for index, item in enumerate(items):
        where = f"TepDinhKem[{index}]"
        try:
            data = base64.b64decode(str(item.get("NoiDung") or ""), validate=True)
        except (binascii.Error, ValueError):
            raise InvalidAction("%(where)s: NoiDung is not base64", field=where, where=where) from None
        file = stored_files.stage(
            Upload(str(item.get("TenTep") or ""), str(item.get("LoaiTep") or ""), data),
            AttachmentKind.RECEPTION,
            field=where,
        ).file
        kept.append(
            {
                "name": file.name,
                "content_type": file.content_type,
                "size": file.size,
                "content": base64.b64encode(file.data).decode(),
            }
        )
    return kept


# -- the desk's decisions --------------------------------------------------------------------------


@dataclass(frozen=True)
class Waiting:
    """A line of the desk's online queue."""

    submission: OnlineSubmissionRecord
    procedure_name: str
    definition_id: int | None
    waited_minutes: int  # working minutes since the portal received it
    overdue: bool  # past Decree 297's two working hours
    counts_from: datetime | None  # when the legal time would start if accepted now (cut-off rules)
    retired: bool = False  # the procedure was retired from the catalogue since: it can only be refused


def desk_queue(rt: Runtime, unit_code: str) -> list[Waiting]:
    """The commune's online dossiers waiting for the one-stop officer, longest waiting first."""
    with rt.db.read_session() as s:
        now = rt.clock.now()
        calendar = rt.calendars.for_unit(s, unit_code)
        lines = []
        retired = catalogue_records.retired_keys(s)
        for row in portal_records.waiting_submissions(s, [unit_code]):
            definition = portal_records.published_for_procedure(s, row.procedure_code)
            waited = max(0, calendar.between(row.submitted_at, now))
            starts = None
            if definition is not None:
                rule = deadlines.ClockStartRule(
                    cutoff=time.fromisoformat(definition.clock_cutoff) if definition.clock_cutoff else None,
                    last_hour_rule=definition.clock_last_hour,
                )
                starts = deadlines.clock_start(calendar, now, rule)
            lines.append(
                Waiting(
                    row,
                    definition.name if definition else row.procedure_code,
                    definition.id if definition else None,
                    waited,
                    portal.waited_too_long(waited),
                    starts,
                    retired=definition is not None and definition.key in retired,
                )
            )
        return lines


def staged_files(submission: OnlineSubmissionRecord) -> list[stored_files.Staged]:
    """The submission's attachments, ready to become the dossier's reception files."""
    return [
        stored_files.stage(
            Upload(f["name"], f["content_type"], base64.b64decode(f["content"])), AttachmentKind.RECEPTION
        )
        for f in submission.attachments or []
    ]


def waiting(rt: Runtime, submission_id: int, actor: Actor) -> OnlineSubmissionRecord:
    """The submission as the desk sees it; NotFound when it is not in this officer's queue."""
    with rt.db.read_session() as s:
        row = s.get(OnlineSubmissionRecord, submission_id)
    if row is None or not actor.is_system and not _at_desk(actor, row):
        raise NotFound("no online dossier %(id)s in your queue", field="submission", id=submission_id)
    return row


def _at_desk(actor: Actor, row: OnlineSubmissionRecord) -> bool:
    return actor.unit_code == row.unit_code and "mot_cua" in actor.roles


def accepting(submission_id: int, actor: Actor) -> Callable[[Session, DossierRecord], None]:
    """What acceptance adds to the reception's transaction: the submission marked accepted and
    naming its dossier (refused when another officer decided it meanwhile: nothing is written)."""

    def mark(s: Session, dossier: DossierRecord) -> None:
        row = _undecided(s, submission_id, actor)
        row.status, row.dossier_id = DossierStatus.ACCEPTED.value, dossier.id
        row.decided_at, row.decided_by = dossier.created_at, actor.username
        audit.record(
            s,
            at=dossier.created_at,
            action="online_accepted",
            actor=actor,
            dossier_id=dossier.id,
            portal_code=row.portal_code,
        )

    return mark


def refuse(rt: Runtime, submission_id: int, actor: Actor, reason: str) -> OnlineSubmissionRecord:
    """Not accepted (portal status 3), with the reason the citizen reads on the portal."""
    return _decide(rt, submission_id, actor, reason, DossierStatus.NOT_ACCEPTED)


def ask_supplement(rt: Runtime, submission_id: int, actor: Actor, reason: str) -> OnlineSubmissionRecord:
    """Supplement requested (portal status 5): what is missing; the supplemented dossier comes back."""
    return _decide(rt, submission_id, actor, reason, DossierStatus.SUPPLEMENT_REQUESTED)


def _decide(rt: Runtime, submission_id: int, actor: Actor, reason: str, status: DossierStatus):
    reason = (reason or "").strip()
    if not reason:
        raise InvalidAction("say why: the citizen reads it on the portal", field="reason")
    check_reason_length(reason)
    with rt.db.session() as s:
        row = _undecided(s, submission_id, actor)
        now = rt.clock.now()
        row.status, row.reason, row.decided_at, row.decided_by = status.value, reason, now, actor.username
        setting, unit = portal_sync.setting_of_unit(s, row.unit_code)
        if setting is not None:
            event_id = f"portal:{row.portal_code}:{row.rounds}:{status.value}"
            payload = portal.submission_decision_payload(
                event_id,
                row.portal_code,
                portal_sync.agency_id(setting, unit),
                status.value,
                reason,
                actor.username,
                now,
                portal_sync.mapping(setting),
            )
            portal_sync.enqueue(s, key=event_id, ordering=row.portal_code, payload=payload, now=now, dossier_id=None)
        audit.record(
            s,
            at=now,
            action="online_refused" if status == DossierStatus.NOT_ACCEPTED else "online_supplement",
            actor=actor,
            portal_code=row.portal_code,
            reason=reason,
        )
        audit.write_pending(s)
        return row


def _undecided(s: Session, submission_id: int, actor: Actor) -> OnlineSubmissionRecord:
    row = s.get(OnlineSubmissionRecord, submission_id)
    if row is None:
        raise NotFound("no online dossier %(id)s in your queue", field="submission", id=submission_id)
    if not actor.is_system and not _at_desk(actor, row):
        raise PermissionDenied(
            "online dossier %(code)s is for the one-stop desk of unit %(unit)s",
            code=row.portal_code,
            unit=row.unit_code,
        )
    if row.status != DossierStatus.NEW:
        raise InvalidAction("online dossier %(code)s was already decided", field="submission", code=row.portal_code)
    return row


# -- the worker's part ---------------------------------------------------------------------------


def pull(
    rt: Runtime, client_for: Callable[[object], PortalClient] | None = None, *, now_whatever_the_interval: bool = False
) -> dict[str, int]:
    """Take what the portal offers for each connected province whose pull is due (or every one);
    a portal that does not answer is asked again on the next pass."""
    client_for = client_for or portal_sync.client_for_setting
    counts = {"pulled": 0}
    with rt.db.session() as s:
        now = rt.clock.now()
        due = []
        for setting in portal_records.all_settings(s):
            every = setting.pull_every_seconds or 60
            if (
                now_whatever_the_interval
                or setting.last_pulled_at is None
                or (now - setting.last_pulled_at).total_seconds() >= every
            ):
                setting.last_pulled_at = now
                agencies = [
                    portal_sync.agency_id(setting, u) for u in portal_records.province_units(s, setting.province_code)
                ]
                due.append((setting, agencies))
    for setting, agencies in due:
        client = client_for(setting)
        try:
            offered = client.submissions(agencies)
        except PortalUnavailable as exc:
            log.warning("pulling from the portal of %s failed: %s", setting.province_code, exc)
            continue
        for item in offered:
            try:
                taken = take_submission(rt, item)
                client.taken(item["MaHoSoCong"])
            except (InvalidAction, PortalUnavailable) as exc:
                log.warning("online dossier %s not taken: %s", item.get("MaHoSoCong"), exc)
                continue
            counts["pulled"] += taken.outcome != "known"
    return counts


def alert_waiting(rt: Runtime) -> dict[str, int]:
    """Tell the desk's officers of each online dossier that has waited two working hours since
    the portal received it (counted on the commune's calendar), once per round."""
    alerted = 0
    with rt.db.session() as s:
        now = rt.clock.now()
        for row in portal_records.not_alerted(s):
            calendar = rt.calendars.for_unit(s, row.unit_code)
            if not portal.waited_too_long(calendar.between(row.submitted_at, now)):
                continue
            for user in repositories.active_users(s, row.unit_code):
                if "mot_cua" in user.role_set:
                    outbox.enqueue(
                        s,
                        key=f"online-wait:{row.id}:{row.rounds}:{user.username}",
                        channel="in_app",
                        recipient=user.username,
                        now=now,
                        subject=f"Hồ sơ trực tuyến {row.portal_code} chờ tiếp nhận quá 2 giờ làm việc",
                        body=f"{row.applicant_name}: thủ tục {row.procedure_code}, nộp trên Cổng Dịch vụ "
                        f"công quốc gia; cần tiếp nhận hoặc yêu cầu bổ sung (Nghị định 297/2025).",
                    )
            row.alerted_at = now
            alerted += 1
    return {"online_alerts": alerted}
