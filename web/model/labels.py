"""Vietnamese labels the modeller's pages share."""

from __future__ import annotations

from flask_babel import gettext

from web.i18n import N_
from web.refusals import localised

STATUS_LABELS = {"draft": "Bản nháp", "published": "Đã công bố", "retired": "Ngừng áp dụng"}
LEVELS = {"commune": "Cấp xã", "province": "Cấp tỉnh"}
SEVERITY = {"error": "Lỗi", "warning": "Cảnh báo"}


def finding_dict(finding) -> dict:
    """A validation finding as the editor's list shows it (the element id selects the shape)."""
    return {
        **finding.to_dict(),
        "message": localised(finding),
        "severity_label": gettext(SEVERITY.get(finding.severity, finding.severity)),
    }


ONLINE_LEVELS = {"full": N_("Toàn trình"), "partial": N_("Một phần")}
CHANGE_ACTIONS = {
    "create": N_("Tạo mới"),
    "update": N_("Sửa"),
    "import": N_("Nhập từ tệp"),
    "retire": N_("Ngừng áp dụng"),
    "restore": N_("Áp dụng lại"),
}
CATALOGUE_FIELDS = {
    "code": N_("Mã TTHC"),
    "name": N_("Tên thủ tục"),
    "field_code": N_("Mã lĩnh vực"),
    "field_name": N_("Lĩnh vực"),
    "level": N_("Cấp thực hiện"),
    "legal_limit_days": N_("Thời hạn giải quyết"),
    "clock_cutoff": N_("Giờ chốt tiếp nhận"),
    "clock_rule": N_("Quy tắc tính thời hạn"),
    "fees": N_("Phí, lệ phí"),
    "required_documents": N_("Thành phần hồ sơ"),
    "forms": N_("Mẫu đơn, tờ khai"),
    "result": N_("Kết quả"),
    "legal_basis": N_("Căn cứ pháp lý"),
    "online_service_level": N_("Mức dịch vụ công trực tuyến"),
}


def describe_change(name: str, value) -> str:
    """One value of the history as the modeller reads it."""
    if value is None or value == [] or value == "":
        return gettext("(trống)")
    if name == "legal_limit_days":
        return gettext("Trong ngày") if value == 0 else gettext("%(days)s ngày làm việc", days=_number(value))
    if name == "level":
        return gettext(LEVELS.get(value, value))
    if name == "online_service_level":
        return gettext(ONLINE_LEVELS.get(value, value))
    if name == "fees":
        return "; ".join(f"{f.get('name')}: {_vnd(f.get('amount_vnd'))}" for f in value)
    if isinstance(value, list):
        return "; ".join(v.get("name", "") if isinstance(v, dict) else str(v) for v in value)
    return str(value)


def _number(value) -> str:
    return str(int(value)) if float(value) == int(value) else str(value).replace(".", ",")


def _vnd(amount) -> str:
    return gettext("chưa rõ") if amount is None else gettext("%(amount)s đ", amount=f"{amount:,}".replace(",", "."))
