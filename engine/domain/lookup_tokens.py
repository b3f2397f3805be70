"""The token a signed result's QR code carries beside the dossier code: it opens that dossier's
public lookup without typing the second factor. Random (96 bits, as the slip's token), made when
the result is rendered, and kept only as its SHA-256, so neither the database nor the printed
page holds anything from which another dossier's token, or the citizen's ID number, could be
learnt. Unlike the slip's token (an HMAC under the web app's secret), it does not change when that
secret is rotated: a signed result is kept for years."""

from __future__ import annotations

import hashlib
import hmac
import secrets

TOKEN_BYTES = 12


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def matches(token: str, kept_digest: str | None) -> bool:
    """Whether `token` is the one whose digest was kept (constant time; never for no digest)."""
    return kept_digest is not None and hmac.compare_digest(digest(token), kept_digest)
