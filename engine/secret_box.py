"""Secrets at rest (the notification providers' keys, tokens and passwords): Fernet tokens
(`cryptography`) under keys from the environment, newest first, so a key can be rotated.

`MOTCUA_NOTIFY_KEYS` holds one or more Fernet keys separated by commas: the first encrypts, every
one decrypts (MultiFernet). Without it, production (`MOTCUA_ENV=production`) refuses to start;
elsewhere a key is generated once into the instance folder (`MOTCUA_NOTIFY_KEY_FILE`, default
`instance/notify.key` of the working folder), so the demo's web server and worker read the same one.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet
from cryptography.fernet import InvalidToken
from cryptography.fernet import MultiFernet

#: What marks a stored value as encrypted (a value without it is legacy plaintext).
PREFIX = "fernet:"
ENV_KEYS = "MOTCUA_NOTIFY_KEYS"
ENV_KEY_FILE = "MOTCUA_NOTIFY_KEY_FILE"
#: Where the worker keeps its files too (instance/ of the working folder, as `make run` has it).
DEFAULT_KEY_FILE = Path("instance") / "notify.key"


class SecretKeyMissing(RuntimeError):
    """Production without MOTCUA_NOTIFY_KEYS, or a key that is not a Fernet key."""


class SecretUnreadable(ValueError):
    """A stored secret none of the configured keys opens (a key was dropped too early)."""


def check_configured() -> None:
    """At start-up: production needs its keys in the environment, and every key must be valid."""
    _box()


def seal(value: str) -> str:
    return PREFIX + _box().encrypt(value.encode("utf-8")).decode("ascii")


def open_sealed(stored: str) -> str:
    """The secret's text; a legacy plaintext value is returned as it is."""
    if not is_sealed(stored):
        return stored
    try:
        return _box().decrypt(stored[len(PREFIX) :].encode("ascii")).decode("utf-8")
    except InvalidToken:
        raise SecretUnreadable(
            f"a stored secret opens with none of the keys in {ENV_KEYS}: keep the old key listed until "
            "`motcua notify provider rotate-key` has run"
        ) from None


def reseal(stored: str) -> str:
    """The value under the newest key (a plaintext one encrypted): what key rotation writes."""
    if not is_sealed(stored):
        return seal(stored)
    try:
        return PREFIX + _box().rotate(stored[len(PREFIX) :].encode("ascii")).decode("ascii")
    except InvalidToken:
        raise SecretUnreadable(f"a stored secret opens with none of the keys in {ENV_KEYS}") from None


def is_sealed(stored) -> bool:
    return isinstance(stored, str) and stored.startswith(PREFIX)


def new_key() -> str:
    return Fernet.generate_key().decode("ascii")


def _box() -> MultiFernet:
    texts = [k.strip() for k in os.environ.get(ENV_KEYS, "").split(",") if k.strip()] or [_instance_key()]
    try:
        return MultiFernet([Fernet(text.encode("ascii")) for text in texts])
    except (ValueError, UnicodeEncodeError):
        raise SecretKeyMissing(f"{ENV_KEYS}: each key must be a Fernet key (motcua notify provider new-key)") from None


def _instance_key() -> str:
    if os.environ.get("MOTCUA_ENV") == "production":
        raise SecretKeyMissing(
            f"set {ENV_KEYS} (motcua notify provider new-key makes one): production refuses to keep the "
            "notification providers' secrets under a generated key"
        )
    path = Path(os.environ.get(ENV_KEY_FILE) or DEFAULT_KEY_FILE)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        _publish_new_key(path)
    return path.read_text(encoding="ascii").strip()


def _publish_new_key(path: Path) -> None:
    """Write a key beside `path` and link it into place: the name appears only with the whole key
    behind it, so processes starting together (the server's workers on a fresh machine) never read a
    half-written file, and the first link wins."""
    draft = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(new_key())
        try:
            os.link(draft, path)
        except FileExistsError:
            pass  # another process published its key first: everyone uses that one
    finally:
        draft.unlink()
