from __future__ import annotations

from urllib.parse import urlsplit

from flask import redirect
from flask import render_template
from flask import request
from flask import session
from flask import url_for
from flask_login import current_user
from flask_login import login_required
from flask_login import login_user
from flask_login import logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField
from wtforms import StringField
from wtforms.validators import DataRequired

from web.auth import bp
from web.auth.service import sign_in
from web.auth.service import sign_out
from web.security import client_address
from web.security import load_signed_in_user
from web.wiring import runtime


class LoginForm(FlaskForm):
    username = StringField("Tên đăng nhập", validators=[DataRequired("Nhập tên đăng nhập")])
    password = PasswordField("Mật khẩu", validators=[DataRequired("Nhập mật khẩu")])


@bp.route("/dang-nhap", methods=["GET", "POST"])
def login():
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        result = sign_in(runtime(), form.username.data, form.password.data, client_address())
        if result.username:
            language = session.get("lang")
            session.clear()  # nothing from before signing in carries over, but the chosen language
            if language:
                session["lang"] = language
            session.permanent = True  # expires after PERMANENT_SESSION_LIFETIME without a request
            login_user(load_signed_in_user(result.username))
            return redirect(_safe_next(request.args.get("next")))
        error = result.error
    return render_template("auth/login.html", form=form, error=error), (401 if error else 200)


@bp.post("/dang-xuat")
@login_required
def logout():
    sign_out(runtime(), current_user.username)
    logout_user()
    return redirect(url_for("auth.login"))


def _safe_next(target: str | None) -> str:
    """Only a path on this site: never redirect a user who just signed in somewhere else."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") and not target.startswith("//"):
            return target
    return url_for("public.home")
