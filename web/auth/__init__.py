"""Signing in and out, with failed log-ins rate limited per user name and per address."""

from flask import Blueprint

bp = Blueprint("auth", __name__, template_folder="templates")

from web.auth import views  # noqa: E402,F401
