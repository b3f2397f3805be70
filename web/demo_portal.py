"""The demo's portal: Hà Nội connected to the portal simulator that `motcua serve
--with-portal-simulator` runs beside the server, a few online dossiers already waiting at Phường
Hoàn Kiếm's desk (one past the two working hours), and a few more the simulator offers for the
worker to pull. Nothing here is a real person's dossier."""

from __future__ import annotations

import base64
from datetime import timedelta

from engine.domain.errors import EngineError
from engine.services import online_intake
from engine.services import portal_admin
from engine.services.runtime import Runtime
from engine.store.records import UnitRecord
from web.demo_files import tiny_pdf

PORT = 5180
TOKEN = "portal-demo-token"
COMMUNE = "00070"
#: (portal code, procedure, applicant, summary, hours ago on the portal)
WAITING = (
    ("G22.DVC-DEMO-0001", "1.001193", "Lê Thị Cúc", "Đăng ký khai sinh cho con thứ hai", 30),
    ("G22.DVC-DEMO-0002", "2.000815", "Phạm Văn Dũng", "Chứng thực bản sao giấy tờ nhà", 0.5),
    ("G22.DVC-DEMO-0003", "1.001193", "Hoàng Thị Em", "Đăng ký khai sinh", 0.2),
)
OFFERED = (
    ("G22.DVC-DEMO-0101", "1.001193", "Trịnh Văn Giang", "Đăng ký khai sinh (nộp sau khi máy chủ chạy)"),
    ("G22.DVC-DEMO-0102", "1.001193", "Đỗ Thị Hoa", "Đăng ký khai sinh, bản sao trích lục"),
)


def endpoint(port: int = PORT) -> str:
    return f"http://127.0.0.1:{port}"


def submission(code: str, procedure: str, name: str, summary: str, agency: str, submitted_at=None) -> dict:
    item = {
        "MaHoSoCong": code,
        "MaTTHC": procedure,
        "MaDonVi": agency,
        "ChuHoSo": name,
        "SoGiayTo": "001190012345",
        "SoDienThoai": "0901235678",
        "TrichYeuHoSo": summary,
        "TepDinhKem": [
            {
                "TenTep": "to_khai.pdf",
                "LoaiTep": "application/pdf",
                "NoiDung": base64.b64encode(tiny_pdf(f"To khai {code}")).decode(),
            }
        ],
    }
    if submitted_at is not None:
        item["NgayNop"] = submitted_at.isoformat()
    return item


def seed(rt: Runtime, port: int = PORT) -> int:
    """Connect the province of the demo commune to the simulator; put the waiting dossiers in its
    online queue. Returns how many wait."""
    with rt.db.read_session() as s:
        commune = s.get(UnitRecord, COMMUNE)
    if commune is None:
        return 0
    portal_admin.configure(
        rt, commune.parent_code, endpoint=endpoint(port), token=TOKEN, timeout_seconds=5, pull_every_seconds=30
    )
    now = rt.clock.now()
    taken = 0
    for code, procedure, name, summary, hours in WAITING:
        try:
            online_intake.take_submission(
                rt, submission(code, procedure, name, summary, commune.agency_code, now - timedelta(hours=hours))
            )
            taken += 1
        except EngineError as exc:  # a library without the procedure: the demo goes on without it
            print(f"online demo dossier {code} skipped: {exc}")
    return taken


def offers(agency: str = "01." + COMMUNE) -> list[dict]:
    """What the simulator offers for pulling when it starts (to the demo commune's agency code)."""
    return [submission(code, procedure, name, summary, agency) for code, procedure, name, summary in OFFERED]
