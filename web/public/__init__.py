"""Public pages: the overview and the citizen's dossier lookup by code (or QR code)."""

from flask import Blueprint

bp = Blueprint("public", __name__, template_folder="templates")

from web.public import views  # noqa: E402,F401
