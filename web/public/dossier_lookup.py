"""The citizen's lookup of a dossier by code and second factor (or a QR token: the slip's or the
signed result's): the one answer every miss gets (a QR token that opens nothing is told so,
whatever the code), and the brakes that stop codes being walked without locking out honest users."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from flask_babel import gettext

from engine.domain import lookup_tokens
from engine.services import throttle
from engine.store import queries
from web.public import lookup_codes
from web.security import client_address
from web.wiring import runtime

#: Wrong lookups of one code (unknown, or the wrong digits) before it is refused for the window.
MAX_WRONG_PER_CODE = 10


def look_up(code: str, *, token: str, factor: str):
    """The dossier's public status, or the one answer an unknown code, a wrong second factor and a
    wrong QR token all get. Only misses count: against the address (an address that keeps missing
    is told to wait) and against the code (so a code's digits cannot be walked). A lookup whose
    second factor matches is always answered, so a family at the ward's shared computer is never
    locked out by the strangers' misses before it; the slip's QR token, which cannot be guessed,
    still opens a code whose digits were tried too often."""
    rt, config = runtime(), current_app.config
    now, window = rt.clock.now(), timedelta(minutes=int(config["LOOKUP_WINDOW_MINUTES"]))
    minutes = int(window.total_seconds() // 60)
    address_bucket, code_bucket = f"lookup-address:{client_address()}", f"lookup-code:{code}"
    with rt.db.session() as s:
        throttle.forget_expired(s, now, window)
        if not token and throttle.blocked(s, {code_bucket: MAX_WRONG_PER_CODE}, now, window):
            return None, gettext(
                "Mã hồ sơ này đã bị tra cứu sai nhiều lần. Vui lòng quét mã QR trên giấy hẹn "
                "hoặc thử lại sau %(minutes)s phút.",
                minutes=minutes,
            )
        found = queries.public_status(s, code) if _proven(s, code, token, factor) else None
        if found is not None:
            return found, None
        address_spent = throttle.blocked(s, {address_bucket: int(config["LOOKUP_LIMIT"])}, now, window)
        throttle.hit(s, [address_bucket, code_bucket], now)
    if address_spent:
        return None, gettext(
            "Bạn đã tra cứu sai quá nhiều lần. Vui lòng kiểm tra mã trên giấy hẹn và thử lại sau %(minutes)s phút.",
            minutes=minutes,
        )
    if token:
        return None, gettext(
            "Mã QR này không mở được hồ sơ: mã đã bị sửa hoặc không đúng. Vui lòng nhập 4 chữ số "
            "cuối của số điện thoại người nộp hồ sơ để tra cứu."
        )
    return None, gettext(
        "Không tìm thấy hồ sơ với mã và số đã nhập. Vui lòng kiểm tra lại mã trên "
        "giấy hẹn và 4 chữ số cuối của số điện thoại."
    )


def _proven(s, code: str, token: str, factor: str) -> bool:
    """Whether the caller showed a QR token for this code (the slip's, or the signed result's) or
    the applicant's digits."""
    if token:
        return lookup_codes.token_matches(code, token, current_app.config["SECRET_KEY"]) or lookup_tokens.matches(
            token, queries.result_lookup_digest(s, code)
        )
    contact = queries.applicant_contact(s, code)
    return contact is not None and lookup_codes.factor_matches(contact, factor)
