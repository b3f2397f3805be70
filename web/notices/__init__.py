"""The officers' notification centre: the unread count in the top bar, the list, mark as read."""

from flask import Blueprint

bp = Blueprint("notices", __name__, template_folder="templates", url_prefix="/thong-bao")

from web.notices import views  # noqa: E402,F401
