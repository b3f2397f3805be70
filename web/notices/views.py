"""What reached an officer in the app (SLA warnings, escalations, delegations, returns, apology
requests): the list, the top bar's unread count (refreshed by htmx), marking read."""

from __future__ import annotations

from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_login import current_user
from flask_login import login_required

from engine.store import notification_queries
from web.notices import bp
from web.wiring import runtime


@bp.get("")
@login_required
def notices():
    unread_only = request.args.get("chua-doc") == "1"
    with runtime().db.read_session() as s:
        listed = notification_queries.latest(s, current_user.username, unread_only=unread_only)
        unread = notification_queries.unread_count(s, current_user.username)
    return render_template("notices/list.html", notices=listed, unread=unread, unread_only=unread_only)


@bp.get("/so-chua-doc")
@login_required
def unread_badge():
    """The top bar's count, swapped in by htmx every minute."""
    with runtime().db.read_session() as s:
        unread = notification_queries.unread_count(s, current_user.username)
    return render_template("notices/_badge.html", unread=unread)


@bp.post("/<int:notification_id>/da-doc")
@login_required
def mark_read(notification_id: int):
    with runtime().db.session() as s:
        notification_queries.mark_read(s, current_user.username, runtime().clock.now(), notification_id)
    return redirect(url_for("notices.notices", **request.args))


@bp.post("/da-doc-tat-ca")
@login_required
def mark_all_read():
    with runtime().db.session() as s:
        notification_queries.mark_read(s, current_user.username, runtime().clock.now())
    return redirect(url_for("notices.notices"))
