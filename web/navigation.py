"""The top navigation and each role's home page. Links appear only for sections that are
registered in this app and that the user may open."""

from __future__ import annotations

from flask import Flask
from flask import current_app

# (endpoint, label, who may open it); the first a user may open is their home page.
SECTIONS = (
    ("desk.inbox", "Hộp việc", lambda u: u.is_clerk),
    ("desk.reception", "Tiếp nhận", lambda u: u.is_clerk and "mot_cua" in u.roles),
    ("desk.online", "Trực tuyến", lambda u: u.is_clerk and "mot_cua" in u.roles),
    ("supervise.dashboard", "Giám sát", lambda u: u.is_supervisor),
    ("model.procedures", "Mô hình hoá", lambda u: u.is_modeller),
    ("desk.absences", "Vắng mặt", lambda u: u.is_clerk),
    ("admin.users", "Quản trị", lambda u: "admin" in u.roles),
)


def nav_links(user) -> list[tuple[str, str, bool]]:
    views = current_app.view_functions
    return [(endpoint, label, check(user)) for endpoint, label, check in SECTIONS if endpoint in views]


def home_endpoint(user) -> str:
    return next((endpoint for endpoint, _label, allowed in nav_links(user) if allowed), "public.index")


def init_app(app: Flask) -> None:
    app.jinja_env.globals["nav_links"] = nav_links
