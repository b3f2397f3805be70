"""Vietnamese labels the modeller's pages share."""

from __future__ import annotations

from flask_babel import gettext

from web.refusals import localised

STATUS_LABELS = {"draft": "Bản nháp", "published": "Đã công bố", "retired": "Ngừng áp dụng"}
LEVELS = {"commune": "Cấp xã", "province": "Cấp tỉnh"}
SEVERITY = {"error": "Lỗi", "warning": "Cảnh báo"}


def finding_dict(finding) -> dict:
    """A validation finding as the editor's list shows it (the element id selects the shape)."""
    return {**finding.to_dict(), "message": localised(finding),
            "severity_label": gettext(SEVERITY.get(finding.severity, finding.severity))}
