"""Marshmallow schemas: every input the API accepts and every output it gives.

Inputs refuse unknown fields (marshmallow's default), so a misspelt field is named, not ignored.
Times are ISO 8601 with their offset; a time sent without one is read as Vietnam time.
"""

from __future__ import annotations

import marshmallow as ma
from marshmallow import ValidationError
from marshmallow import fields
from marshmallow import post_load
from marshmallow import validate

from configurator.catalogue import LEVELS
from configurator.catalogue import normalise
from engine.domain import deadlines
from engine.domain.figures import CHANNELS
from engine.domain.figures import FIGURES
from engine.domain.figures import STEP_FIGURES
from engine.domain.limits import REASON_MAX
from engine.domain.model import Channel
from engine.domain.model import Worklist
from engine.services.citizen_channels import APPLICANT_CHANNELS
from engine.services.citizen_channels import CHANNEL_ADDRESS
from web.display import LOCAL_TZ as VN
from web.guards import DB_INT_MAX

#: An id or version the database can hold: a larger one is named in a 422, never sent to it.
DB_INT = validate.Range(min=1, max=DB_INT_MAX)
#: The name of a form field (a key of `data`).
FIELD_NAME = validate.Length(min=1, max=100)


def _aware(**kwargs) -> fields.AwareDateTime:
    return fields.AwareDateTime(default_timezone=VN, **kwargs)


# -- errors ---------------------------------------------------------------------------------------


class ErrorSchema(ma.Schema):
    error = fields.String(required=True, metadata={"description": "Tên lỗi (tiếng Việt)"})
    message = fields.String(required=True, metadata={"description": "Điều cần sửa"})
    field = fields.String(allow_none=True, metadata={"description": "Trường sai, dạng đường dẫn: applicant.name"})
    errors = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String()),
        metadata={"description": "Mọi trường sai và thông báo của từng trường"},
    )


# -- catalogue ------------------------------------------------------------------------------------


def _known_level(value: str) -> None:
    if normalise(value) not in LEVELS:
        raise ValidationError("must be province or commune (tỉnh / xã)")


class ProcedureQuerySchema(ma.Schema):
    q = fields.String(
        validate=validate.Length(max=200),
        metadata={"description": "Từ khóa trong tên, mã hoặc khóa; không phân biệt hoa thường, dấu"},
    )
    field = fields.String(validate=validate.Length(max=300), metadata={"description": "Mã hoặc tên lĩnh vực"})
    level = fields.String(
        validate=[validate.Length(max=40), _known_level], metadata={"description": "province | commune"}
    )


class FeeSchema(ma.Schema):
    name = fields.String()
    amount_vnd = fields.Integer(allow_none=True)
    note = fields.String(allow_none=True)


class DocumentSchema(ma.Schema):
    name = fields.String()
    copies = fields.Integer()
    original = fields.Boolean()


class ProcedureSchema(ma.Schema):
    key = fields.String(metadata={"description": "Khóa nghiệp vụ, cũng là mã quy trình BPMN"})
    code = fields.String(allow_none=True, metadata={"description": "Mã TTHC trên Cổng DVC quốc gia"})
    name = fields.String()
    field_code = fields.String(allow_none=True)
    field_name = fields.String(allow_none=True)
    level = fields.String()
    legal_limit_days = fields.Float(
        allow_none=True, metadata={"description": "Ngày làm việc; 0 = giải quyết trong ngày"}
    )
    legal_limit_hours = fields.Float(allow_none=True, metadata={"description": "Giờ làm việc (1 ngày = 8 giờ)"})
    same_day = fields.Method(
        "_same_day", metadata={"description": "Giải quyết trong ngày: hẹn trả cuối ngày làm việc bắt đầu tính thời hạn"}
    )
    clock_cutoff = fields.String(allow_none=True)
    fees = fields.List(fields.Nested(FeeSchema))
    required_documents = fields.List(fields.Nested(DocumentSchema))
    result = fields.String(allow_none=True)
    legal_basis = fields.List(fields.String())
    online_service_level = fields.String(allow_none=True)
    updated_at = fields.DateTime()

    def _same_day(self, entry) -> bool:
        days = entry.legal_limit_days
        return days is not None and deadlines.is_same_day(round(days * 8 * 60))


class ProcedureVersionSchema(ma.Schema):
    definition_id = fields.Integer()
    version = fields.Integer()
    status = fields.String()
    published_at = fields.DateTime(allow_none=True)


class ProcedureDetailSchema(ProcedureSchema):
    clock_rule = fields.String(allow_none=True)
    versions = fields.List(fields.Nested(ProcedureVersionSchema))


# -- templates ------------------------------------------------------------------------------------


class TemplateQuerySchema(ma.Schema):
    key = fields.String(
        validate=validate.Length(max=120), metadata={"description": "Chỉ các phiên bản của quy trình này"}
    )


class TemplateSchema(ma.Schema):
    definition_id = fields.Integer(attribute="id")
    key = fields.String()
    version = fields.Integer()
    name = fields.String()
    procedure_code = fields.String(allow_none=True)
    legal_limit_minutes = fields.Integer(
        allow_none=True, metadata={"description": "Thời hạn luật định, phút làm việc; 0 = giải quyết trong ngày"}
    )
    legal_limit_days = fields.Method("_days", allow_none=True, metadata={"description": "Ngày làm việc (8 giờ)"})
    same_day = fields.Method("_same_day", metadata={"description": "Giải quyết trong ngày"})
    clock_cutoff = fields.String(allow_none=True)
    status = fields.String()
    published_at = fields.DateTime(allow_none=True)

    def _days(self, definition) -> float | None:
        minutes = definition.legal_limit_minutes
        return None if minutes is None else minutes / (8 * 60)

    def _same_day(self, definition) -> bool:
        return deadlines.is_same_day(definition.legal_limit_minutes)


class TemplateVersionSchema(TemplateSchema):
    files = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        metadata={"description": "Tệp BPMN và biểu mẫu (forms/<bước>.json) của phiên bản"},
    )


# -- dossiers -------------------------------------------------------------------------------------


class ApplicantSchema(ma.Schema):
    name = fields.String(required=True, validate=validate.Length(min=2, max=200))
    id_number = fields.String(
        validate=validate.Regexp(r"^[0-9]{9,12}$", error="must be 9 to 12 digits"),
        metadata={"description": "Số định danh cá nhân / CCCD"},
    )
    phone = fields.String(validate=validate.Regexp(r"^[0-9+ ]{8,15}$", error="is not a phone number"))
    email = fields.Email(validate=validate.Length(max=200))
    address = fields.String(validate=validate.Length(max=500))
    notify = fields.List(
        fields.String(validate=validate.OneOf(APPLICANT_CHANNELS)),
        validate=validate.Length(max=len(APPLICANT_CHANNELS)),
        metadata={
            "description": "Kênh người nộp đồng ý nhận thông báo: sms, zalo (cần phone), email (cần email)",
            "example": ["sms", "email"],
        },
    )

    @ma.validates_schema
    def _notify_has_an_address(self, data, **kwargs):
        """As the desk's form: a channel the applicant chose needs the address it is sent to."""
        for channel in data.get("notify") or ():
            if not data.get(CHANNEL_ADDRESS[channel]):
                raise ValidationError(
                    f"{channel} needs the applicant's {CHANNEL_ADDRESS[channel]}", field_name="notify"
                )

    @ma.post_load
    def _each_channel_once(self, data, **kwargs):
        if "notify" in data:
            data["notify"] = list(dict.fromkeys(data["notify"]))
        return data


class StartDossierSchema(ma.Schema):
    template_key = fields.String(
        validate=validate.Length(min=1, max=120),
        metadata={"description": "Quy trình; dùng phiên bản đã ban hành mới nhất"},
    )
    definition_id = fields.Integer(validate=DB_INT, metadata={"description": "Hoặc một phiên bản cụ thể"})
    unit_code = fields.String(required=True, validate=validate.Length(min=1, max=16))
    applicant = fields.Nested(ApplicantSchema, required=True)
    received_at = _aware(metadata={"description": "Thời điểm tiếp nhận; mặc định là bây giờ"})
    channel = fields.String(
        load_default=Channel.COUNTER.value,
        validate=validate.OneOf(CHANNELS),
        metadata={
            "description": "Kênh tiếp nhận: counter (trực tiếp), online (trực tuyến), "
            "post (bưu chính); mặc định counter"
        },
    )

    @ma.validates_schema
    def _one_template(self, data, **kwargs):
        if ("template_key" in data) == ("definition_id" in data):
            raise ValidationError("give either template_key or definition_id", field_name="template_key")


class ReappointSchema(ma.Schema):
    new_appointment = _aware(
        required=True, metadata={"description": "Ngày hẹn trả mới: sau thời điểm hiện tại và sau ngày hẹn ban đầu"}
    )
    reason = fields.String(
        required=True,
        validate=validate.Length(min=1, max=REASON_MAX),
        metadata={"description": "Lý do chậm trả kết quả, in trên phiếu xin lỗi"},
    )


class StopSchema(ma.Schema):
    reason = fields.String(
        required=True,
        validate=validate.Length(min=1, max=REASON_MAX),
        metadata={"description": "Lý do, in trên thông báo dừng xử lý"},
    )
    withdrawn = fields.Boolean(
        load_default=False, metadata={"description": "true: công dân đề nghị rút hồ sơ; false: đơn vị dừng xử lý"}
    )


class WorkItemSchema(ma.Schema):
    id = fields.Integer()
    dossier_code = fields.String()
    element_id = fields.String(metadata={"description": "Mã bước trong BPMN"})
    name = fields.String()
    role = fields.String(allow_none=True)
    unit_code = fields.String()
    state = fields.String(metadata={"description": "open | claimed"})
    assignee = fields.String(allow_none=True)
    owner = fields.String(allow_none=True, metadata={"description": "Người ủy quyền, khi bước đang được ủy quyền"})
    delegation_state = fields.String(allow_none=True, metadata={"description": "pending | resolved"})
    priority = fields.Integer()
    form_key = fields.String(allow_none=True)
    created_at = fields.DateTime()
    claimed_at = fields.DateTime(allow_none=True)
    warn_at = fields.DateTime(allow_none=True)
    due_at = fields.DateTime(allow_none=True)
    version = fields.Integer(metadata={"description": "Gửi lại khi hoàn thành để phát hiện thay đổi đồng thời"})


class TemplateRefSchema(ma.Schema):
    definition_id = fields.Integer()
    key = fields.String()
    version = fields.Integer()
    name = fields.String()


class DossierSchema(ma.Schema):
    code = fields.String()
    status = fields.Integer(metadata={"description": "Mã trạng thái của Cổng DVC quốc gia (1-10)"})
    status_label = fields.String()
    run_state = fields.String(metadata={"description": "running | suspended | completed | cancelled | error"})
    template = fields.Nested(TemplateRefSchema)
    procedure_code = fields.String(allow_none=True)
    unit_code = fields.String()
    applicant_name = fields.String()
    applicant = fields.Dict()
    received_at = fields.DateTime()
    appointment_at = fields.DateTime(allow_none=True, metadata={"description": "Ngày hẹn trả hiện tại"})
    original_appointment_at = fields.DateTime(allow_none=True, metadata={"description": "Ngày hẹn ban đầu"})
    re_appointment_reason = fields.String(allow_none=True)
    completed_at = fields.DateTime(allow_none=True)
    classification = fields.String(allow_none=True, metadata={"description": "early | on_time | late"})
    margin_minutes = fields.Integer(allow_none=True)
    channel = fields.String(metadata={"description": "counter | online | post"})
    current_steps = fields.List(fields.Nested(WorkItemSchema))


class HistoryEventSchema(ma.Schema):
    at = fields.DateTime()
    action = fields.String()
    actor = fields.String()
    on_behalf_of = fields.String(allow_none=True)
    step = fields.String(allow_none=True, metadata={"description": "Mã bước trong BPMN"})
    step_name = fields.String(allow_none=True)
    giver = fields.String(allow_none=True)
    receiver = fields.String(allow_none=True)
    detail = fields.Dict()


class DataFieldSchema(ma.Schema):
    name = fields.String()
    label = fields.String(metadata={"description": "Nhãn của trường trong biểu mẫu của bước"})
    value = fields.Raw(allow_none=True)
    shown = fields.Raw(allow_none=True, metadata={"description": "Nhãn của lựa chọn (enumNames), hoặc giá trị"})
    format = fields.String(allow_none=True, metadata={"description": "date | date-time | null"})


class DataEntrySchema(ma.Schema):
    work_item_id = fields.Integer(
        allow_none=True, metadata={"description": "null: the answer another agency's system sent (liên thông)"}
    )
    completed_by = fields.String(allow_none=True)
    on_behalf_of = fields.String(allow_none=True)
    completed_at = fields.String(metadata={"description": "ISO 8601"})
    fields_ = fields.List(fields.Nested(DataFieldSchema), data_key="fields", attribute="fields")


class DataStepSchema(ma.Schema):
    step = fields.String(metadata={"description": "Mã bước trong BPMN"})
    name = fields.String()
    entries = fields.List(fields.Nested(DataEntrySchema), metadata={"description": "Lần nhập mới nhất trước"})


class AttachmentSchema(ma.Schema):
    key = fields.String(metadata={"description": "Khóa ngẫu nhiên của tệp (dùng để tải về)"})
    name = fields.String()
    kind = fields.String(metadata={"description": "reception | processing | result"})
    content_type = fields.String()
    size = fields.Integer()
    sha256 = fields.String()
    step = fields.String(allow_none=True)
    checklist_index = fields.Integer(allow_none=True)
    uploaded_by = fields.String()
    on_behalf_of = fields.String(allow_none=True)
    uploaded_at = fields.DateTime()
    url = fields.String()


class AttachmentUploadSchema(ma.Schema):
    kind = fields.String(required=True, validate=validate.OneOf(("reception", "processing", "result")))
    work_item_id = fields.Integer(load_default=None, allow_none=True)
    checklist_index = fields.Integer(
        load_default=None,
        allow_none=True,
        validate=validate.Range(min=0),
        metadata={"description": "Vị trí giấy tờ trong danh mục thành phần hồ sơ (bản số hóa của giấy tờ đó)"},
    )


class AttachmentFileSchema(ma.Schema):
    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary"})


# -- work items -----------------------------------------------------------------------------------


#: The worklists the API lists, by their shared names (engine.domain.model.Worklist).
API_WORKLISTS = tuple(worklist.value for worklist in Worklist)
#: Names the API used before the shared vocabulary, still accepted: `delegated` was the steps
#: the caller delegated out.
API_WORKLIST_ALIASES = {"delegated": Worklist.DELEGATED_OUT.value}


class WorkItemQuerySchema(ma.Schema):
    filter = fields.String(
        load_default=Worklist.ALL.value,
        validate=validate.OneOf(API_WORKLISTS + tuple(API_WORKLIST_ALIASES)),
        metadata={
            "description": "own: bước tôi chịu trách nhiệm (của tôi, kể cả bước tôi đã ủy quyền đi); "
            "mine: mọi bước đang giao cho tôi; group: chờ nhận trong nhóm vai trò; "
            "delegated_to_me: bước người khác ủy quyền cho tôi; delegated_out: bước tôi đã ủy quyền "
            "cho người khác, chưa chuyển lại (tên cũ `delegated` vẫn dùng được); covering: bước tôi "
            "xử lý thay người vắng; all: mine + group"
        },
    )

    @post_load
    def shared_name(self, data: dict, **_kwargs) -> dict:
        return {**data, "filter": Worklist(API_WORKLIST_ALIASES.get(data["filter"], data["filter"]))}


class CompleteSchema(ma.Schema):
    data = fields.Dict(
        keys=fields.String(validate=FIELD_NAME),
        required=True,
        metadata={"description": "Dữ liệu biểu mẫu của bước, kiểm tra theo biểu mẫu"},
    )
    version = fields.Integer(
        validate=validate.Range(min=0, max=DB_INT_MAX),
        metadata={"description": "Phiên bản của bước khi đọc; khác thì trả 409"},
    )


class ReturnSchema(ma.Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=REASON_MAX))


class DelegateSchema(ma.Schema):
    to = fields.String(
        required=True,
        validate=validate.Length(min=1, max=80),
        metadata={"description": "Tên đăng nhập người được ủy quyền"},
    )
    note = fields.String(validate=validate.Length(max=REASON_MAX))


class ResolveSchema(ma.Schema):
    data = fields.Dict(
        keys=fields.String(validate=FIELD_NAME), metadata={"description": "Đề xuất của người được ủy quyền"}
    )
    note = fields.String(validate=validate.Length(max=REASON_MAX))


# -- statistics -------------------------------------------------------------------------------------


class StatisticsQuerySchema(ma.Schema):
    date_from = fields.Date(
        data_key="from", metadata={"description": "Từ ngày (YYYY-MM-DD, giờ Việt Nam); mặc định ngày đầu tháng này"}
    )
    date_to = fields.Date(data_key="to", metadata={"description": "Đến ngày, tính cả ngày này; mặc định cuối tháng"})
    commune = fields.String(
        validate=validate.Length(min=1, max=16),
        metadata={"description": "Chỉ một xã/phường trong phạm vi của tài khoản"},
    )
    procedure = fields.String(
        validate=validate.Length(min=1, max=120),
        metadata={"description": "Chỉ một quy trình (mã quy trình, vd. dang_ky_khai_sinh)"},
    )


def _figure_field(figure) -> fields.Field:
    """A figure's field, described by its definition (engine.domain.figures): the document says
    what the page's legend says."""
    description = {"description": f"{figure.name}: {figure.meaning}"}
    if figure.key.endswith("on_time_rate"):
        return fields.Float(allow_none=True, metadata=description)
    return fields.Integer(metadata=description)


def _figure_fields(definitions) -> dict:
    return {figure.key: _figure_field(figure) for figure in definitions}


FiguresSchema = ma.Schema.from_dict(_figure_fields(FIGURES), name="FiguresSchema")
StepFiguresSchema = ma.Schema.from_dict(_figure_fields(STEP_FIGURES), name="StepFiguresSchema")


class FigureDefinitionSchema(ma.Schema):
    key = fields.String()
    name = fields.String(metadata={"description": "Tên (tiếng Việt)"})
    meaning = fields.String(metadata={"description": "Cách tính (tiếng Việt)"})
    name_en = fields.String()
    meaning_en = fields.String()


class StatisticsPeriodSchema(ma.Schema):
    date_from = fields.Date(data_key="from")
    date_to = fields.Date(data_key="to")
    as_of = fields.DateTime(
        metadata={"description": "Thời điểm đọc hồ sơ đang xử lý và tạm dừng: cuối kỳ, hoặc bây giờ nếu kỳ chưa hết"}
    )


class CommuneFiguresSchema(ma.Schema):
    code = fields.String()
    name = fields.String()
    figures = fields.Nested(FiguresSchema)


class ProcedureFiguresSchema(ma.Schema):
    key = fields.String(metadata={"description": "Mã quy trình"})
    code = fields.String(metadata={"description": "Mã thủ tục trên Cổng DVC quốc gia (có thể trống)"})
    name = fields.String()
    figures = fields.Nested(FiguresSchema)


class OfficerFiguresSchema(ma.Schema):
    username = fields.String()
    full_name = fields.String(metadata={"description": "Họ tên; tên tài khoản khi tài khoản không có họ tên"})
    figures = fields.Nested(StepFiguresSchema)


class StatisticsSchema(ma.Schema):
    period = fields.Nested(StatisticsPeriodSchema)
    communes_in_scope = fields.List(fields.String(), metadata={"description": "Các xã/phường được tính"})
    procedure = fields.String(allow_none=True)
    definitions = fields.List(fields.Nested(FigureDefinitionSchema))
    summary = fields.Nested(FiguresSchema)
    communes = fields.List(fields.Nested(CommuneFiguresSchema))
    procedures = fields.List(fields.Nested(ProcedureFiguresSchema))
    officers = fields.List(fields.Nested(OfficerFiguresSchema))


# -- the portal and interconnected procedures ------------------------------------------------------


class PortalFileSchema(ma.Schema):
    TenTep = fields.String(required=True, validate=validate.Length(min=1, max=255), metadata={"description": "Tên tệp"})
    LoaiTep = fields.String(required=True, metadata={"description": "application/pdf, image/png hoặc image/jpeg"})
    NoiDung = fields.String(required=True, metadata={"description": "Nội dung tệp, base64"})


class PortalSubmissionSchema(ma.Schema):
    """A dossier a citizen submitted on the National Public Service Portal (status 1)."""

    MaHoSoCong = fields.String(
        required=True, validate=validate.Length(min=1, max=80), metadata={"description": "Mã hồ sơ trên Cổng"}
    )
    MaTTHC = fields.String(required=True, validate=validate.Length(min=1, max=40), metadata={"description": "Mã TTHC"})
    MaDonVi = fields.String(
        required=True,
        validate=validate.Length(min=1, max=40),
        metadata={"description": "Mã định danh cơ quan tiếp nhận"},
    )
    ChuHoSo = fields.String(required=True, validate=validate.Length(min=1, max=200))
    SoGiayTo = fields.String(validate=validate.Length(max=20))
    SoDienThoai = fields.String(validate=validate.Length(max=20))
    Email = fields.String(validate=validate.Length(max=200))
    DiaChi = fields.String(validate=validate.Length(max=300))
    TrichYeuHoSo = fields.String(validate=validate.Length(max=1000))
    NgayNop = _aware(metadata={"description": "Thời điểm Cổng nhận hồ sơ"})
    TepDinhKem = fields.List(fields.Nested(PortalFileSchema), load_default=list)


class PortalTakenSchema(ma.Schema):
    id = fields.Integer()
    MaHoSoCong = fields.String()
    outcome = fields.String(metadata={"description": "new (mới), supplemented (đã bổ sung), known (đã nhận trước đó)"})


class InteragencyEventSchema(ma.Schema):
    """A BPMN message (with its data) or signal another agency's system sends to a dossier."""

    message = fields.String(validate=validate.Length(min=1, max=120), metadata={"description": "Tên message BPMN"})
    signal = fields.String(validate=validate.Length(min=1, max=120), metadata={"description": "Tên signal BPMN"})
    payload = fields.Dict(
        keys=fields.String(), load_default=dict, metadata={"description": "Dữ liệu kèm message, ghi vào dữ liệu hồ sơ"}
    )

    @ma.validates_schema
    def _one_event(self, data, **kwargs):
        if ("message" in data) == ("signal" in data):
            raise ValidationError("give either message or signal", field_name="message")
        if "signal" in data and data.get("payload"):
            raise ValidationError("a signal carries no payload", field_name="payload")
