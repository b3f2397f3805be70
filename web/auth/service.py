"""Password checks with a brake: too many failures for a user name (or from one address) in
the window lock further attempts until the oldest failure ages out."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext
from werkzeug.security import check_password_hash

from engine.services import throttle
from engine.services.runtime import Runtime
from engine.store.records import UserRecord

MAX_FAILURES_PER_USER = 5
MAX_FAILURES_PER_ADDRESS = 30
# A hash to check against when the user does not exist, so both answers take the same time.
_DUMMY_HASH = "scrypt:32768:8:1$motcua$" + "0" * 128


@dataclass(frozen=True)
class SignInResult:
    username: str | None
    error: str | None


def sign_in(rt: Runtime, username: str, password: str, address: str) -> SignInResult:
    now = rt.clock.now()
    username = username.strip()
    user_bucket, address_bucket = f"login-user:{username}", f"login-address:{address}"
    with rt.db.session() as s:
        if throttle.blocked(s, {user_bucket: MAX_FAILURES_PER_USER, address_bucket: MAX_FAILURES_PER_ADDRESS}, now):
            return SignInResult(
                None,
                gettext(
                    "Đăng nhập sai quá nhiều lần. Vui lòng thử lại sau %(minutes)s phút.",
                    minutes=throttle.WINDOW_MINUTES,
                ),
            )
        user = s.get(UserRecord, username) if username else None
        stored = user.password_hash if user is not None and user.password_hash else _DUMMY_HASH
        good = _check(stored, password) and user is not None and user.active
        if not good:
            throttle.hit(s, [user_bucket, address_bucket], now)
            return SignInResult(None, "Tên đăng nhập hoặc mật khẩu không đúng.")
        throttle.forgive(s, user_bucket, now)
        return SignInResult(username, None)


def sign_out(rt: Runtime, username: str) -> None:
    """End every session of the account: the epoch they carry is no longer the account's."""
    with rt.db.session() as s:
        user = s.get(UserRecord, username)
        if user is not None:
            user.auth_epoch = (user.auth_epoch or 0) + 1


def _check(stored: str, password: str) -> bool:
    try:
        return check_password_hash(stored, password)
    except ValueError:  # a malformed stored hash never signs anyone in
        return False
