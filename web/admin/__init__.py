"""The administrator's pages: accounts and roles, and the days of each working calendar."""

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/quan-tri", template_folder="templates")

from web.admin import connectors  # noqa: E402,F401
from web.admin import notify  # noqa: E402,F401
from web.admin import views  # noqa: E402,F401
