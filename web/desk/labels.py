"""Vietnamese words the desk shows for the engine's codes."""

from __future__ import annotations

from engine.domain.model import WorkItemState
from web.display import CLASSIFICATION_LABELS  # noqa: F401  (one wording for every page)
from web.display import STATUS_LABELS_VI  # noqa: F401
from web.i18n import N_

TAB_LABELS = {
    "cua_toi": "Của tôi",
    "nhom": "Nhóm",
    "duoc_uy_quyen": "Được ủy quyền",
    "thay_nguoi_vang": "Thay người vắng",
}

ACTION_LABELS = {
    "start": "Tiếp nhận hồ sơ",
    "handover": "Chuyển xử lý",
    "claim": "Nhận xử lý",
    "unclaim": "Trả về nhóm",
    "complete": "Hoàn thành bước",
    "delegate": "Ủy quyền",
    "resolve": "Chuyển lại sau ủy quyền",
    "reassign": "Giao lại",
    "return": "Trả lại bước trước",
    "withdrawn": "Bước bị rút",
    "reappoint": "Xin lỗi và hẹn lại",
    "apology_requested": "Cần thư xin lỗi",
    "message": "Nhận thông tin",
    "timer": "Hẹn giờ",
    "suspend": "Tạm dừng",
    "resume": "Tiếp tục",
    "cancel": "Dừng xử lý",
    "incident": "Sự cố",
    "migrate": "Chuyển phiên bản quy trình",
    "absence_declared": "Đăng ký vắng mặt",
    "absence_ended": "Kết thúc vắng mặt",
    "withdraw": "Công dân rút hồ sơ",
    "sla_warning": "Cảnh báo sắp đến hạn",
    "sla_breach": "Quá hạn xử lý",
    "sla_escalation": "Leo thang khi quá hạn",
    "skip": "Bỏ qua bước (khác biệt của xã, phường)",
    "attach": "Đính kèm tệp",
    "citizen_download": "Công dân tải bản sao",
    "citizen_store_reuse": "Dùng lại giấy tờ từ kho dữ liệu của công dân",
    "result_signed": "Ký số kết quả",
}

#: work_item.escalation_level as the SLA sweep counts it: 1 warned, 2 breached, 3+ escalation levels.
ESCALATION_TEXT = {1: "cảnh báo sắp đến hạn", 2: "đã quá hạn"}
LATER_ESCALATION = N_("leo thang sau quá hạn")


def escalation_text(level: int) -> str:
    return ESCALATION_TEXT.get(level, LATER_ESCALATION)


WORK_STATE_LABELS = {
    WorkItemState.OPEN.value: "Chờ nhận",
    WorkItemState.CLAIMED.value: "Đang xử lý",
    WorkItemState.COMPLETED.value: "Đã xong",
    WorkItemState.CANCELLED.value: "Đã rút",
}

ROLE_LABELS = {
    "mot_cua": "Bộ phận Một cửa",
    "lanh_dao": "Lãnh đạo",
    "chuyen_vien": "Chuyên viên",
    "tu_phap_ho_tich": "Công chức Tư pháp - Hộ tịch",
    "kinh_te": "Công chức Kinh tế",
    "kinh_te_ha_tang": "Công chức Kinh tế - Hạ tầng",
    "van_hoa_xa_hoi": "Công chức Văn hóa - Xã hội",
    "cong_an_xa": "Công an xã",
    "bhxh": "Bảo hiểm xã hội",
    "hoi_dong_xet_duyet": "Hội đồng xét duyệt",
    "co_quan_lien_quan": "Cơ quan liên quan",
}


def role_label(role: str | None) -> str:
    return ROLE_LABELS.get(role or "", role or "—")
