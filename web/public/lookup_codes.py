"""What proves a citizen may read a dossier's status: the code alone is sequential and can be
walked, so the lookup also needs either the last 4 digits of the applicant's phone (of the ID
number when no phone was given) or the token the slip's QR code carries: an HMAC of the code under
the app's secret, so it cannot be derived from the code without the server.

Rotating SECRET_KEY invalidates the QR codes already printed; the typed lookup keeps working."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

FACTOR_DIGITS = 4
FACTOR_SHAPE = re.compile(rf"^\d{{{FACTOR_DIGITS}}}$")
TOKEN_BYTES = 12  # 96 bits: guessing one is out of reach at any lookup rate
_PURPOSE = b"motcua dossier lookup\x00"


def qr_token(code: str, secret: str) -> str:
    digest = hmac.new(secret.encode("utf-8"), _PURPOSE + code.encode("utf-8"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:TOKEN_BYTES]).decode("ascii")


def token_matches(code: str, token: str, secret: str) -> bool:
    return hmac.compare_digest(qr_token(code, secret).encode("ascii"), token.encode("utf-8", "replace"))


def expected_factor(contact: dict) -> str | None:
    """The last 4 digits of the phone, else of the ID number; None when the applicant gave neither
    (such a dossier is read with the slip's QR code only)."""
    for key in ("phone", "id_number"):
        digits = re.sub(r"\D", "", contact.get(key) or "")
        if len(digits) >= FACTOR_DIGITS:
            return digits[-FACTOR_DIGITS:]
    return None


def factor_matches(contact: dict, factor: str) -> bool:
    expected = expected_factor(contact)
    return expected is not None and hmac.compare_digest(expected.encode("ascii"), factor.encode("utf-8", "replace"))
