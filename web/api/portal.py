"""Online intake pushed by the National Public Service Portal: a dossier a citizen submitted
there lands in its commune desk's online queue (status 1); the same dossier pushed again (or also
pulled) is taken once."""

from __future__ import annotations

from flask import jsonify

from engine.services import online_intake
from web.api import schemas
from web.api.base import TOKEN_ONLY
from web.api.base import ApiError
from web.api.base import api_blueprint
from web.api.base import api_user
from web.wiring import runtime

blp = api_blueprint("api_portal", "/portal", "Cổng Dịch vụ công quốc gia: hồ sơ nộp trực tuyến")


@blp.route("/submissions", methods=["POST"])
@blp.arguments(schemas.PortalSubmissionSchema())
@blp.response(201, schemas.PortalTakenSchema)
@blp.alt_response(200, schema=schemas.PortalTakenSchema, description="Đã nhận hồ sơ này trước đó")
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(403, response="FORBIDDEN")
@blp.doc(security=TOKEN_ONLY)
def take_submission(body: dict):
    """A dossier submitted on the portal, with its attachments (base64): it waits at the commune's
    one-stop desk to be accepted, refused or sent back for a supplement (422 names the wrong field)."""
    rt, user = runtime(), api_user()
    unit_code = online_intake.unit_of_agency(rt, body["MaDonVi"])
    if not user.may_see_unit(unit_code):
        raise ApiError(403, f"Tài khoản {user.username} không tiếp nhận hồ sơ cho đơn vị {unit_code}.", field="MaDonVi")
    if body.get("NgayNop") is not None:
        body["NgayNop"] = body["NgayNop"].isoformat()
    taken = online_intake.take_submission(rt, body)
    answer = jsonify({"id": taken.submission_id, "MaHoSoCong": body["MaHoSoCong"], "outcome": taken.outcome})
    answer.status_code = 200 if taken.outcome == "known" else 201
    return answer
