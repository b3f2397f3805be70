"""The clerk's desk: reception with the appointment slip, the inbox, a step's page with its form
and hand-over actions, absences, and the one-stop office's printed forms."""

from flask import Blueprint

bp = Blueprint("desk", __name__, template_folder="templates", static_folder="static", url_prefix="/ban-lam-viec")

from web.desk import absences  # noqa: E402,F401
from web.desk import citizen_data  # noqa: E402,F401
from web.desk import citizen  # noqa: E402,F401
from web.desk import documents  # noqa: E402,F401
from web.desk import inbox  # noqa: E402,F401
from web.desk import online  # noqa: E402,F401
from web.desk import printing  # noqa: E402,F401
from web.desk import reception  # noqa: E402,F401
from web.desk import work_items  # noqa: E402,F401
