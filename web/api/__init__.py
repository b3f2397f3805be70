"""The REST API under /api/v1 for other systems (the National Portal sync, provincial apps).

flask-smorest builds the OpenAPI document (/api/v1/openapi.json) from the marshmallow schemas
that validate every input and shape every output. Routes take their input schemas as instances
made once: given a class, webargs builds the schema anew on every request (a deep copy of every
field, 2-4% of a start's Python). Callers authenticate with
`Authorization: Bearer <token>` (`motcua api-token create`); a signed-in browser may read.
"""

from __future__ import annotations

import copy

from flask import Flask
from flask_smorest import Api

from web.api import catalogue
from web.api import citizen
from web.api import dossiers
from web.api import interagency
from web.api import portal
from web.api import schemas
from web.api import statistics
from web.api import work_items
from web.extensions import csrf

PREFIX = "/api/v1"
BLUEPRINTS = (
    catalogue.procedures,
    catalogue.templates,
    dossiers.blp,
    work_items.blp,
    statistics.blp,
    portal.blp,
    interagency.blp,
    citizen.blp,
)

DEFAULTS = {
    "API_TITLE": "motcua: một cửa điện tử",
    "API_VERSION": "1",
    "OPENAPI_VERSION": "3.0.3",
    "OPENAPI_URL_PREFIX": PREFIX,
    "OPENAPI_JSON_PATH": "openapi.json",
    "API_SPEC_OPTIONS": {
        "info": {
            "description": "Hồ sơ, quy trình và việc cần xử lý của hệ thống một cửa cấp xã. "
            "Xác thực: Authorization: Bearer <mã> (tạo bằng `motcua api-token create`); "
            "phiên đăng nhập trình duyệt chỉ được đọc."
        },
        "servers": [{"url": "/"}],
        "security": [{"bearerAuth": []}, {"browserSession": []}],
        "components": {
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "Mã truy cập; chỉ lưu SHA-256 của mã trong cơ sở dữ liệu",
                },
                "browserSession": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": "session",
                    "description": "Phiên đăng nhập trình duyệt; chỉ dùng cho GET",
                },
            }
        },
    },
}


class MotcuaApi(Api):
    """flask-smorest's Api, with its error body and without its app-wide error handler.

    flask-smorest registers one HTTPException handler on the whole app, which would turn the
    HTML error pages of every other blueprint into JSON; ours are registered per API blueprint
    (web.api.base) and answer with the same body as the rest of /api/.
    """

    ERROR_SCHEMA = schemas.ErrorSchema

    def _register_error_handlers(self):
        return None


def init_app(app: Flask) -> MotcuaApi:
    for key, value in DEFAULTS.items():
        app.config.setdefault(key, copy.deepcopy(value))  # apispec merges into the options it is given
    api = MotcuaApi(app)
    for blueprint in BLUEPRINTS:
        # Writes need a bearer token (a cookie alone is refused), so no cross-site form can use them.
        csrf.exempt(blueprint)
        api.register_blueprint(blueprint, url_prefix=PREFIX + blueprint.url_prefix)
    return api
