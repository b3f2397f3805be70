"""Public pages: the overview, the citizen's dossier lookup by code (or QR code) and the copies it opens."""

from flask import Blueprint

bp = Blueprint("public", __name__, template_folder="templates")

from web.public import copies  # noqa: E402,F401
from web.public import views  # noqa: E402,F401
from web.public import rating  # noqa: E402,F401
