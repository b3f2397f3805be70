"""The citizen's side of the API: anyone holding a dossier's code and its second factor (the last
4 digits of the applicant's phone, or of the ID number) lists the dossier's results with what
their digital signatures say (valid, by whom, when) and downloads them. No token: the same proof
and the same limits as the lookup page (wrong tries count against the code and the address)."""

from __future__ import annotations

from urllib.parse import quote

import marshmallow as ma
from flask import Response
from flask import url_for

from engine.documents import KEY
from engine.services import attachments
from engine.services import citizen_copies
from web.api.base import ApiError
from web.api.base import api_blueprint
from web.public import dossier_lookup
from web.public import records
from web.public import views as lookup
from web.security import client_address
from web.wiring import runtime

blp = api_blueprint(
    "api_citizen", "/tra-cuu", "Công dân: kết quả giải quyết và chữ ký số (mã hồ sơ + 4 chữ số)", authenticate=False
)
PUBLIC = []  # no security scheme: the code and the second factor are the proof


class FactorSchema(ma.Schema):
    so = ma.fields.String(
        required=True,
        validate=ma.validate.Regexp(r"^\d{4}$"),
        metadata={"description": "4 chữ số cuối của số điện thoại (hoặc số CCCD) người nộp"},
    )


class SignatureSchema(ma.Schema):
    signed = ma.fields.Boolean()
    valid = ma.fields.Boolean()
    intact = ma.fields.Boolean()
    trusted = ma.fields.Boolean()
    signer = ma.fields.String(allow_none=True)
    signed_at = ma.fields.DateTime(allow_none=True)
    problem = ma.fields.String(allow_none=True)


class ResultFileSchema(ma.Schema):
    name = ma.fields.String()
    content_type = ma.fields.String()
    size = ma.fields.Integer()
    sha256 = ma.fields.String()
    signature = ma.fields.Nested(SignatureSchema)
    download = ma.fields.String()


class CitizenResultsSchema(ma.Schema):
    code = ma.fields.String()
    results = ma.fields.List(ma.fields.Nested(ResultFileSchema))


def _proven_dossier(code: str, factor: str) -> int:
    if not lookup.CODE_SHAPE.match(code or ""):
        raise ApiError(404, "Không tìm thấy hồ sơ với mã và số đã nhập.")
    found, error = dossier_lookup.look_up(code, token="", factor=factor)
    if found is None:  # unknown, wrong digits or too many tries: one status, the page's words
        raise ApiError(404, error or "")
    return citizen_copies.dossier_id_of(runtime(), found.code)


@blp.route("/<code>/ket-qua")
@blp.arguments(FactorSchema(), location="query")
@blp.response(200, CitizenResultsSchema)
@blp.alt_response(404, response="NOT_FOUND")
@blp.doc(security=PUBLIC)
def results(query: dict, code: str):
    """The dossier's result files, each with its digital signature checked now against the trust roots."""
    dossier_id = _proven_dossier(code, query["so"])
    return {
        "code": code,
        "results": [
            {
                "name": c.file.name,
                "content_type": c.file.content_type,
                "size": c.file.size,
                "sha256": c.file.sha256,
                "signature": {
                    "signed": c.verdict.signed,
                    "valid": c.verdict.valid,
                    "intact": c.verdict.intact,
                    "trusted": c.verdict.trusted,
                    "signer": c.verdict.signer,
                    "signed_at": c.verdict.signed_at,
                    "problem": c.verdict.problem,
                },
                "download": url_for("api_citizen.result_file", code=code, key=c.file.key, so=query["so"]),
            }
            for c in records.result_checks(dossier_id)
        ],
    }


@blp.route("/<code>/ket-qua/<key>")
@blp.arguments(FactorSchema(), location="query")
@blp.alt_response(404, response="NOT_FOUND")
@blp.doc(
    security=PUBLIC,
    responses={"200": {"description": "Tệp kết quả (PDF có chữ ký số)", "content": {"application/pdf": {}}}},
)
def result_file(query: dict, code: str, key: str):
    """One result file's bytes (checked against the SHA-256 kept at signing); the download is logged."""
    dossier_id = _proven_dossier(code, query["so"])
    row = citizen_copies.result_file(runtime(), dossier_id, key) if KEY.match(key) else None
    if row is None:
        raise ApiError(404, "Không tìm thấy tệp kết quả này trong hồ sơ.")
    data = attachments.content(runtime(), row)
    citizen_copies.record_download(runtime(), dossier_id, document=row.name, address=client_address())
    return Response(
        data,
        mimetype=row.content_type,
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(row.name)}",
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    )
