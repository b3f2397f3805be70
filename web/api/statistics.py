"""The supervisor's figures (engine.domain.figures) for a period, commune and procedure: the
same numbers as the dashboard, scoped like the rest of the API (a supervisor reads the communes of
their province, an officer their own unit)."""

from __future__ import annotations

from flask_babel import force_locale

from engine.domain import figures as definitions
from engine.services import supervision
from web.api import schemas
from web.api.base import ApiError
from web.api.base import api_blueprint
from web.api.base import api_user
from web.refusals import engine_messages
from web.supervise import filters as filtering
from web.wiring import runtime

blp = api_blueprint("api_statistics", "/statistics", "Số liệu giải quyết hồ sơ theo kỳ (như bảng giám sát)")


@blp.route("")
@blp.arguments(schemas.StatisticsQuerySchema(), location="query")
@blp.response(200, schemas.StatisticsSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
def get_statistics(query: dict):
    """Carried over, received (by channel), in progress (not yet due / overdue), paused, done
    (early / on time / late), withdrawn / stopped and the on-time rate, in total and per commune,
    procedure and officer; `definitions` says what each figure counts."""
    rt, units = runtime(), _units()
    found = _filters(query, rt.clock.now(), units)
    options = supervision.filter_options(rt, units)
    if found.procedure is not None and found.procedure not in {key for key, _ in options.procedures}:
        raise ApiError(422, f"Thủ tục: không có quy trình mã {found.procedure}.", field="procedure")
    scope = found.scope(units)
    board = supervision.dashboard(rt, scope, rt.clock.now())
    return {
        "period": {"date_from": found.date_from, "date_to": found.date_to, "as_of": board.as_of},
        "communes_in_scope": sorted(scope.units),
        "procedure": found.procedure,
        "definitions": [_definition(figure) for figure in definitions.FIGURES + definitions.STEP_FIGURES],
        "summary": board.summary.as_dict(),
        "communes": [{"code": row.code, "name": row.label, "figures": row.figures.as_dict()} for row in board.communes],
        "procedures": [
            {"key": row.key, "code": row.code, "name": row.label, "figures": row.figures.as_dict()}
            for row in board.procedures
        ],
        "officers": [
            {
                "username": row.username,
                "full_name": row.full_name,
                "figures": {key: getattr(row, key) for key in definitions.STEP_COLUMNS},
            }
            for row in board.officers
        ],
    }


def _units() -> frozenset[str]:
    """The communes a caller's figures cover: a supervisor's province, otherwise the caller's unit."""
    user = api_user()
    if user.supervised_units:
        return user.supervised_units
    return frozenset({user.unit_code}) if user.unit_code else frozenset()


def _filters(query: dict, now, units: frozenset[str]) -> filtering.Filters:
    default = filtering.current_month(now)
    commune = query.get("commune")
    if commune is not None and commune not in units:
        raise ApiError(422, f"Xã/phường: mã {commune} không thuộc phạm vi của tài khoản.", field="commune")
    start, end = query.get("date_from", default.date_from), query.get("date_to", default.date_to)
    if end < start:
        raise ApiError(422, "Đến ngày phải bằng hoặc sau Từ ngày.", field="to")
    if (end - start).days > filtering.LONGEST_RANGE_DAYS:
        raise ApiError(422, "Khoảng thời gian báo cáo dài quá 5 năm; hãy chọn khoảng ngắn hơn.", field="to")
    return filtering.Filters(start, end, commune, query.get("procedure"))


def _definition(figure: definitions.Figure) -> dict:
    with force_locale("vi"):
        return {
            "key": figure.key,
            "name": engine_messages.gettext(figure.name),
            "meaning": engine_messages.gettext(figure.meaning),
            "name_en": figure.name,
            "meaning_en": figure.meaning,
        }
