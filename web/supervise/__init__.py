"""The supervisor's SLA dashboard: counts and on-time rate per commune, procedure and officer,
the dossiers behind each number, the at-risk list, the escalation log and the report export."""

from flask import Blueprint

bp = Blueprint(
    "supervise",
    __name__,
    url_prefix="/giam-sat",
    template_folder="templates",
    static_folder="static",
    static_url_path="/tai-nguyen",
)

from web.supervise import kpi  # noqa: E402,F401
from web.supervise import satisfaction  # noqa: E402,F401
from web.supervise import views  # noqa: E402,F401
