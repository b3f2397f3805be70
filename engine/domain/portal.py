"""The National Public Service Portal's vocabulary: its status codes as a province maps ours onto
them, the Circular 4/2025 dossier code, the sync payload (OpenCPS's DongBoHoSoMC fields of
domain-vn.md §2.9) and the rule that an online dossier may wait two working hours at the desk."""

from __future__ import annotations

import re
from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from engine.domain.model import DossierStatus

VN = ZoneInfo("Asia/Ho_Chi_Minh")
#: Decree 297/2025: the desk is alerted when an online dossier waits this long (working minutes).
ONLINE_WAIT_ALERT_MINUTES = 120

#: The portal's own names for its ten codes (what the mapping table and the docs show).
PORTAL_STATUS_NAMES = {
    1: "Mới đăng ký",
    2: "Được tiếp nhận",
    3: "Không được tiếp nhận",
    4: "Đang xử lý",
    5: "Yêu cầu bổ sung giấy tờ",
    6: "Yêu cầu thực hiện nghĩa vụ tài chính",
    7: "Công dân yêu cầu rút hồ sơ",
    8: "Dừng xử lý",
    9: "Đã xử lý xong",
    10: "Đã trả kết quả",
}

_OUR_CODE = re.compile(r"^(?P<agency>.+)-(?P<day>\d{6})-(?P<seq>\d{4,})$")
_PLATFORM = re.compile(r"^\d{2}$")


class PortalSettingError(ValueError):
    """A province's portal settings that cannot work (named by setting)."""


def is_platform_code(text: str | None) -> bool:
    return text is None or bool(_PLATFORM.match(text))


def is_status_pair(local, portal_code) -> bool:
    """Whether `local -> portal_code` can be a line of the mapping table (both codes 1-10)."""
    return (
        str(local).isdigit()
        and int(local) in PORTAL_STATUS_NAMES
        and str(portal_code).isdigit()
        and int(portal_code) in PORTAL_STATUS_NAMES
    )


def status_mapping(overrides: Mapping[str, int] | None) -> dict[int, int]:
    """Our status (1-10) -> the portal's code, identity unless the province's table says otherwise
    (as OpenCPS keeps one per installation: some portals want 4 while fees are awaited, say)."""
    mapping = {status.value: status.value for status in DossierStatus}
    for local, portal in (overrides or {}).items():
        if not str(local).isdigit() or int(local) not in mapping:
            raise PortalSettingError(f"status_map: '{local}' is not one of our status codes 1-10")
        if int(portal) not in PORTAL_STATUS_NAMES:
            raise PortalSettingError(f"status_map: {local} -> {portal}: the portal's codes are 1-10")
        mapping[int(local)] = int(portal)
    return mapping


def portal_dossier_code(our_code: str, agency_id: str, platform_code: str | None) -> str:
    """The dossier code the portal knows. With the platform owner's two digits (Circular 4/2025,
    Art. 13(3) of Circular 03/2025: `MX1X2.Y1Y2Y3.Z1Z2-YYMMDD-AAXXXX`) the code is rebuilt from the
    deciding agency's identifier, the receipt day and our daily sequence; without them it is ours."""
    if not platform_code:
        return our_code
    if not _PLATFORM.match(platform_code):
        raise PortalSettingError(f"platform_code: '{platform_code}' must be two digits (the AA of Circular 4/2025)")
    match = _OUR_CODE.match(our_code)
    if match is None:
        return our_code
    return f"{agency_id}-{match['day']}-{platform_code}{match['seq']}"


@dataclass(frozen=True)
class DossierFacts:
    """What the sync tells the portal about one dossier at one event, in our terms."""

    code: str
    portal_code: str
    submission_code: str | None
    procedure_code: str | None
    procedure_name: str
    field_code: str | None
    field_name: str | None
    applicant: Mapping
    applicant_name: str
    channel: str
    status: int
    unit_name: str
    agency_id: str
    received_at: datetime | None
    appointment_at: datetime | None
    original_appointment_at: datetime | None
    re_appointment_reason: str | None
    completed_at: datetime | None
    fees: list
    results: list


@dataclass(frozen=True)
class StepFacts:
    """Who did what at which step (the status event's handler part)."""

    handler: str
    handler_title: str | None
    at: datetime
    step: str | None
    content: str | None
    step_due_at: datetime | None = None


def _iso(instant: datetime | None) -> str | None:
    """Vietnam's local time with its offset, however the instant was held (UTC after a reload)."""
    return instant.astimezone(VN).isoformat() if instant else None


def sync_payload(event_id: str, facts: DossierFacts, step: StepFacts | None, mapping: Mapping[int, int]) -> dict:
    """One DongBoHoSoMC message: the dossier as it is now and the event that changed it."""
    applicant = facts.applicant or {}
    re_appointments: list[dict] = []
    payload = {
        "event_id": event_id,
        "MaHoSo": facts.portal_code,
        "MaHoSoNoiBo": facts.code,
        "MaHoSoCong": facts.submission_code,
        "MaTTHC": facts.procedure_code,
        "TenTTHC": facts.procedure_name,
        "MaLinhVuc": facts.field_code,
        "TenLinhVuc": facts.field_name,
        "ChuHoSo": facts.applicant_name,
        "LoaiDoiTuong": 2 if applicant.get("business") else 1,
        "Email": applicant.get("email"),
        "SoDienThoai": applicant.get("phone"),
        "TrichYeuHoSo": applicant.get("summary") or facts.procedure_name,
        "NgayTiepNhan": _iso(facts.received_at),
        "NgayHenTra": _iso(facts.appointment_at),
        "TrangThaiHoSo": mapping.get(facts.status, facts.status),
        "NgayTra": _iso(facts.completed_at) if facts.status == DossierStatus.RESULT_RETURNED else None,
        "HinhThuc": {"counter": 0, "online": 1, "post": 2}.get(facts.channel, 0),
        "NgayKetThucXuLy": _iso(facts.completed_at),
        "DonViXuLy": facts.unit_name,
        "MaDonVi": facts.agency_id,
        "DanhSachLePhi": [{"TenPhiLePhi": f.get("name"), "MucPhi": f.get("amount_vnd")} for f in facts.fees],
        "DanhSachHoSoBoSung": re_appointments,
        "DanhSachGiayToKetQua": [{"TenGiayTo": r.get("name"), "MaGiayTo": r.get("sha256")} for r in facts.results],
    }
    if facts.re_appointment_reason:
        re_appointments.append(
            {
                "NgayHenTraTruoc": _iso(facts.original_appointment_at),
                "NgayHenTraMoi": _iso(facts.appointment_at),
                "LyDo": facts.re_appointment_reason,
            }
        )
    if step is not None:
        payload["QuaTrinhXuLy"] = {
            "NguoiXuLy": step.handler,
            "ChucDanh": step.handler_title,
            "ThoiDiemXuLy": _iso(step.at),
            "PhongBanXuLy": facts.unit_name,
            "NoiDungXuLy": step.content,
            "BuocXuLy": step.step,
            "TrangThai": mapping.get(facts.status, facts.status),
            "NgayBatDau": _iso(step.at),
            "NgayKetThucTheoQuyDinh": _iso(step.step_due_at),
        }
    return payload


def submission_decision_payload(
    event_id: str,
    submission_code: str,
    agency_id: str,
    status: int,
    reason: str,
    handler: str,
    at: datetime,
    mapping: Mapping[int, int],
) -> dict:
    """The portal told that an online submission was refused (3) or must be supplemented (5)."""
    portal_status = mapping.get(status, status)
    return {
        "event_id": event_id,
        "MaHoSo": submission_code,
        "MaHoSoCong": submission_code,
        "MaDonVi": agency_id,
        "TrangThaiHoSo": portal_status,
        "QuaTrinhXuLy": {
            "NguoiXuLy": handler,
            "ThoiDiemXuLy": _iso(at),
            "NoiDungXuLy": reason,
            "TrangThai": portal_status,
            "NgayBatDau": _iso(at),
        },
    }


def waited_too_long(waited_working_minutes: int) -> bool:
    """Decree 297/2025: the desk must hear of an online dossier within two working hours."""
    return waited_working_minutes >= ONLINE_WAIT_ALERT_MINUTES


@dataclass(frozen=True)
class Difference:
    """One line of the reconciliation: a dossier whose portal copy is missing or differs from ours."""

    code: str
    what: str  # missing_at_portal | unknown_to_us | status | appointment
    ours: str | None
    portal: str | None


def differences_in_order(
    ours: Iterable[tuple[str, Mapping]], portal: Iterable[tuple[str, Mapping]]
) -> Iterator[Difference]:
    """The same comparison over two lists each in ascending code order, read one item at a time
    (a merge join), so neither side has to be held whole. Raises OutOfOrder naming the side."""
    mine_items, their_items = _ascending(ours, "ours"), _ascending(portal, "the portal's")
    mine, theirs = next(mine_items, None), next(their_items, None)
    while mine is not None or theirs is not None:
        if mine is not None and (theirs is None or mine[0] < theirs[0]):
            yield Difference(mine[0], "missing_at_portal", str(mine[1]["status"]), None)
            mine = next(mine_items, None)
        elif theirs is not None and (mine is None or theirs[0] < mine[0]):
            yield Difference(theirs[0], "unknown_to_us", None, str(theirs[1].get("status")))
            theirs = next(their_items, None)
        elif mine is not None and theirs is not None:
            yield from _compared(mine[0], mine[1], theirs[1])
            mine, theirs = next(mine_items, None), next(their_items, None)


class OutOfOrder(ValueError):
    """A list given to the merge join is not in ascending code order."""


def _ascending(items: Iterable[tuple[str, Mapping]], side: str) -> Iterator[tuple[str, Mapping]]:
    last = None
    for item in items:
        if last is not None and item[0] <= last:
            raise OutOfOrder(f"{side} list gives {item[0]!r} after {last!r}: it must be in ascending code order")
        last = item[0]
        yield item


def _compared(code: str, mine: Mapping, theirs: Mapping) -> Iterator[Difference]:
    if int(mine["status"]) != int(theirs.get("status") or 0):
        yield Difference(code, "status", str(mine["status"]), str(theirs.get("status")))
    if _same_instant(mine.get("appointment"), theirs.get("appointment")) is False:
        yield Difference(code, "appointment", mine.get("appointment"), theirs.get("appointment"))


def _same_instant(a: str | None, b: str | None) -> bool:
    if not a or not b:
        return a == b
    return datetime.fromisoformat(a) == datetime.fromisoformat(b)
