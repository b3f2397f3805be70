"""What the applicant is told, and when: on receipt, a supplement request, the result ready, an
apology with a new appointment. Vietnamese texts in the unit's local time, queued in the outbox in
the transaction of the change, once per event and channel, on the channels the applicant accepted
at reception (their phone for SMS and Zalo, their e-mail)."""

from __future__ import annotations

from datetime import datetime

from engine.domain import vn_dates
from engine.domain.model import DossierStatus
from engine.services import outbox
from engine.store import citizen_queries
from engine.store.database import Session
from engine.store.records import DossierRecord

#: Where each channel finds its address in the dossier's applicant.
ADDRESS_FIELD = {"sms": "phone", "zalo": "phone", "email": "email"}
#: The statuses the applicant is told about when a change reaches them.
TOLD_ON_STATUS = {
    DossierStatus.SUPPLEMENT_REQUESTED.value: "supplement",
    DossierStatus.FINANCIAL_OBLIGATION.value: "fees",
    DossierStatus.PROCESSED.value: "result",
}


def recipients(applicant: dict | None) -> list[tuple[str, str]]:
    """(channel, address) for every channel the applicant accepted and gave an address for."""
    applicant = applicant or {}
    return [
        (channel, applicant[ADDRESS_FIELD[channel]])
        for channel in applicant.get("notify") or ()
        if channel in ADDRESS_FIELD and applicant.get(ADDRESS_FIELD[channel])
    ]


def dossier_received(session: Session, dossier: DossierRecord, now: datetime, tz) -> None:
    """After reception: told unless the dossier was refused or sent back for a supplement there
    (the supplement has its own message)."""
    if dossier.status in (DossierStatus.NOT_ACCEPTED, DossierStatus.SUPPLEMENT_REQUESTED):
        return
    _tell(session, dossier, "received", now, tz)


def status_changed(session: Session, dossier: DossierRecord, old_status: int, now: datetime, tz) -> None:
    event = TOLD_ON_STATUS.get(dossier.status)
    if event is not None and old_status != dossier.status:
        _tell(session, dossier, event, now, tz, serial=_serial(event, now))


def reappointed(session: Session, dossier: DossierRecord, now: datetime, tz) -> None:
    _tell(session, dossier, "apology", now, tz)


def _tell(session: Session, dossier: DossierRecord, event: str, now: datetime, tz, serial: str = "") -> None:
    to = recipients(dossier.applicant)
    if not to:
        return
    procedure, unit = citizen_queries.procedure_and_unit_names(session, dossier.definition_id, dossier.unit_code)
    subject, body = TEXTS[event](dossier, procedure, unit, tz)
    for channel, address in to:
        outbox.enqueue(
            session,
            key=f"citizen:{dossier.id}:{event}{serial}:{channel}",
            channel=channel,
            recipient=address,
            subject=subject,
            body=body,
            now=now,
            dossier_id=dossier.id,
        )


def _serial(event: str, now: datetime) -> str:
    """A supplement (or fee) may be asked again later: each request is its own message."""
    return "" if event == "result" else f":{now:%Y%m%d%H%M%S}"


def _when(instant: datetime | None, tz) -> str:
    return vn_dates.short_datetime(instant, tz) if instant else "chưa có"


def _received(dossier, procedure, unit, tz) -> tuple[str, str]:
    return (
        f"Hồ sơ {dossier.code} đã được tiếp nhận",
        f"{unit} đã tiếp nhận hồ sơ {dossier.code} ({procedure}) lúc {_when(dossier.received_at, tz)}. "
        f"Hẹn trả kết quả: {_when(dossier.appointment_at, tz)}. Tra cứu tiến độ bằng mã hồ sơ tại trang "
        "Tra cứu hồ sơ.",
    )


def _supplement(dossier, procedure, unit, tz) -> tuple[str, str]:
    return (
        f"Hồ sơ {dossier.code} cần bổ sung",
        f"Hồ sơ {dossier.code} ({procedure}) cần bổ sung giấy tờ. Vui lòng xem phiếu yêu cầu bổ sung trên "
        f"trang Tra cứu hồ sơ hoặc liên hệ Bộ phận một cửa {unit}. Thời hạn giải quyết tạm dừng đến khi "
        "hồ sơ được bổ sung đầy đủ.",
    )


def _fees(dossier, procedure, unit, tz) -> tuple[str, str]:
    return (
        f"Hồ sơ {dossier.code} chờ nộp phí, lệ phí",
        f"Hồ sơ {dossier.code} ({procedure}) chờ ông/bà nộp phí, lệ phí tại Bộ phận một cửa {unit} hoặc "
        "chuyển khoản. Thời hạn giải quyết tính từ khi đã nộp.",
    )


def _result(dossier, procedure, unit, tz) -> tuple[str, str]:
    return (
        f"Hồ sơ {dossier.code} đã có kết quả",
        f"Hồ sơ {dossier.code} ({procedure}) đã có kết quả từ {_when(dossier.completed_at, tz)}. Mời ông/bà "
        f"đến Bộ phận một cửa {unit} nhận kết quả và đánh giá mức độ hài lòng trên trang Tra cứu hồ sơ.",
    )


def _apology(dossier, procedure, unit, tz) -> tuple[str, str]:
    return (
        f"Xin lỗi về hồ sơ {dossier.code} và hẹn lại",
        f"{unit} xin lỗi ông/bà: hồ sơ {dossier.code} ({procedure}) chưa giải quyết kịp hẹn "
        f"{_when(dossier.original_appointment_at, tz)}. Lý do: {dossier.re_appointment_reason}. "
        f"Hẹn trả kết quả mới: {_when(dossier.appointment_at, tz)}.",
    )


TEXTS = {"received": _received, "supplement": _supplement, "fees": _fees, "result": _result, "apology": _apology}
