"""The words and the clock every page shows the engine's codes with: one wording per code, and
the local time zone dates are written in (the product's default; a unit's own zone, where it has
one, is its calendar's business)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from engine.domain.calendar import DEFAULT_TIMEZONE
from engine.domain.model import OPEN_STATES
from engine.domain.model import Channel
from engine.domain.model import DelegationState
from engine.domain.model import DossierStatus
from engine.domain.model import RunState
from engine.domain.model import WorkItemState

LOCAL_TZ = ZoneInfo(DEFAULT_TIMEZONE)

CLASSIFICATION_LABELS = {"early": "Trước hạn", "on_time": "Đúng hạn", "late": "Quá hạn"}
#: How a dossier was received, as the reception form and the dossier pages name it.
CHANNEL_LABELS = {
    Channel.COUNTER.value: "Trực tiếp",
    Channel.ONLINE.value: "Trực tuyến",
    Channel.POST.value: "Bưu chính",
}

STATUS_LABELS_VI = {
    DossierStatus.NEW: "Mới đăng ký",
    DossierStatus.ACCEPTED: "Được tiếp nhận",
    DossierStatus.NOT_ACCEPTED: "Không được tiếp nhận",
    DossierStatus.IN_PROCESSING: "Đang xử lý",
    DossierStatus.SUPPLEMENT_REQUESTED: "Yêu cầu bổ sung giấy tờ",
    DossierStatus.FINANCIAL_OBLIGATION: "Yêu cầu thực hiện nghĩa vụ tài chính",
    DossierStatus.WITHDRAWAL_REQUESTED: "Công dân yêu cầu rút hồ sơ",
    DossierStatus.STOPPED: "Dừng xử lý",
    DossierStatus.PROCESSED: "Đã xử lý xong",
    DossierStatus.RESULT_RETURNED: "Đã trả kết quả",
}
NEXT_STEP_VI = {
    DossierStatus.SUPPLEMENT_REQUESTED: "Hồ sơ cần bổ sung giấy tờ: vui lòng liên hệ Bộ phận Một cửa nơi nộp hồ sơ.",
    DossierStatus.FINANCIAL_OBLIGATION: "Vui lòng thực hiện nghĩa vụ tài chính theo thông báo để hồ sơ được tiếp tục xử lý.",
    DossierStatus.PROCESSED: "Đã có kết quả: mời ông/bà mang giấy hẹn đến Bộ phận Một cửa để nhận kết quả.",
    DossierStatus.RESULT_RETURNED: "Kết quả đã được trả cho người nộp hồ sơ.",
    DossierStatus.NOT_ACCEPTED: "Hồ sơ không được tiếp nhận: lý do ghi trong phiếu từ chối đã giao cho người nộp.",
    DossierStatus.STOPPED: "Hồ sơ đã dừng xử lý theo thông báo đã giao cho người nộp.",
}


def init_app(app) -> None:
    """The state vocabularies, so templates compare with the enums and never with bare strings."""
    app.jinja_env.globals.update(
        RunState=RunState, WorkItemState=WorkItemState, DelegationState=DelegationState, OPEN_STATES=OPEN_STATES
    )
