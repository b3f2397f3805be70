"""The administrator's notification providers (SMS brandname, Zalo ZNS, SMTP) per province or unit:
what each channel's settings are, saving them checked (secrets write-only: a blank secret keeps the
stored one; stored encrypted, engine.secret_box), a test message sent at once through the provider
a unit would use, and key rotation. The command line (`motcua notify provider`) and the page share it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlparse

from engine import secret_box
from engine.domain import vn_dates
from engine.domain.assignment import Actor
from engine.domain.errors import InvalidAction
from engine.domain.errors import NotFound
from engine.services import audit
from engine.services.channels import ChannelOff
from engine.services.citizen_channels import ADAPTERS
from engine.services.citizen_channels import CHANNEL_ADDRESS
from engine.services.citizen_channels import SECRETS
from engine.services.citizen_channels import ProviderRefused
from engine.services.citizen_channels import provider_settings
from engine.services.citizen_channels import set_provider
from engine.services.runtime import Runtime
from engine.store import citizen_queries
from engine.store.records import OutboxRecord

FLAG_VALUES = ("", "0", "1")
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
PHONE = re.compile(r"^[0-9+ ]{8,15}$")


@dataclass(frozen=True)
class Setting:
    name: str
    kind: str = "text"  # text | secret | url | digits | port | email | flag
    required: bool = False
    max_length: int = 200


#: Each channel's settings, in the order the page shows them (docs/notifications.md).
SETTINGS: dict[str, tuple[Setting, ...]] = {
    "sms": (
        Setting("api_key", "secret", True),
        Setting("secret_key", "secret", True),
        Setting("brandname", required=True, max_length=20),
        Setting("url", "url"),
        Setting("sms_type", "digits", max_length=2),
        Setting("unicode", "flag"),
        Setting("sandbox", "flag"),
    ),
    "zalo": (
        Setting("access_token", "secret", True, max_length=2000),
        Setting("template_id", "digits", True, max_length=20),
        Setting("url", "url"),
    ),
    "email": (
        Setting("host", required=True, max_length=253),
        Setting("port", "port"),
        Setting("sender", "email"),
        Setting("username"),
        Setting("password", "secret"),
        Setting("starttls", "flag"),
    ),
}
#: What each adapter cannot work without.
REQUIRED = {channel: tuple(s.name for s in settings if s.required) for channel, settings in SETTINGS.items()}


@dataclass(frozen=True)
class ProviderView:
    unit_code: str
    channel: str
    settings: dict[str, str]  # every setting but the secrets
    secrets_kept: tuple[str, ...]  # the secrets that are stored (never their values)
    updated_at: datetime


def providers(rt: Runtime) -> list[ProviderView]:
    with rt.db.read_session() as s:
        return [_view(row) for row in citizen_queries.providers(s)]


def provider(rt: Runtime, unit_code: str, channel: str) -> ProviderView | None:
    with rt.db.read_session() as s:
        row = citizen_queries.provider(s, unit_code, channel)
        return _view(row) if row is not None else None


def save(rt: Runtime, unit_code: str, channel: str, values: dict[str, str], actor: Actor) -> None:
    """Configure (or replace) the channel's provider for the unit from the page's or the command
    line's values. A blank secret keeps the stored one; a blank other setting is left out.

    Raises:
        InvalidAction: an unknown channel, unit or setting, a bad value or a missing required
            setting (named by `field`); nothing is saved.
    """
    specs = _settings_of(channel)
    unknown = sorted(set(values) - {spec.name for spec in specs})
    if unknown:
        raise InvalidAction(
            "the %(channel)s provider has no setting %(name)s", field=unknown[0], channel=channel, name=unknown[0]
        )
    cleaned = {spec.name: _checked(spec, (values.get(spec.name) or "").strip()) for spec in specs}
    with rt.db.session() as s:
        if not citizen_queries.unit_exists(s, unit_code):
            raise InvalidAction("unit %(unit)s does not exist", field="unit_code", unit=unit_code[:20])
        row = citizen_queries.provider(s, unit_code, channel)
        kept = dict(row.settings or {}) if row is not None else {}
        settings = {
            name: value if value or name not in SECRETS else kept.get(name, "") for name, value in cleaned.items()
        }
        settings = {name: value for name, value in settings.items() if value != ""}
        missing = [name for name in REQUIRED[channel] if name not in settings]
        if missing:
            raise InvalidAction(
                "the %(channel)s provider needs %(name)s", field=missing[0], channel=channel, name=missing[0]
            )
        now = rt.clock.now()
        set_provider(s, unit_code, channel, settings, now)
        audit.record(
            s,
            at=now,
            action="notify_provider_set",
            actor=actor,
            unit=unit_code,
            channel=channel,
            settings=sorted(settings),
        )
        audit.write_pending(s)


def remove(rt: Runtime, unit_code: str, channel: str, actor: Actor) -> None:
    with rt.db.session() as s:
        if citizen_queries.provider(s, unit_code, channel) is None:
            raise NotFound("unit %(unit)s has no %(channel)s provider", unit=unit_code[:20], channel=channel[:20])
        citizen_queries.remove_provider(s, unit_code, channel)
        audit.record(
            s, at=rt.clock.now(), action="notify_provider_removed", actor=actor, unit=unit_code, channel=channel
        )
        audit.write_pending(s)


def send_test(rt: Runtime, unit_code: str, channel: str, recipient: str, actor: Actor) -> None:
    """Send a test message at once through the provider the unit's dossiers would use (its own,
    else its province's), so the administrator sees the provider's answer now, not in the outbox.

    Raises:
        InvalidAction: a bad recipient, no provider for the unit, or the provider's refusal quoted.
    """
    _settings_of(channel)
    recipient = (recipient or "").strip()
    if CHANNEL_ADDRESS[channel] == "phone" and not PHONE.match(recipient):
        raise InvalidAction("'%(recipient)s' is not a phone number", field="recipient", recipient=recipient[:100])
    if CHANNEL_ADDRESS[channel] == "email" and not EMAIL.match(recipient):
        raise InvalidAction("'%(recipient)s' is not an e-mail address", field="recipient", recipient=recipient[:100])
    with rt.db.read_session() as s:
        settings = provider_settings(s, unit_code, channel)
        tz = rt.calendars.for_unit(s, unit_code).tz if citizen_queries.unit_exists(s, unit_code) else None
    if settings is None or tz is None:
        raise InvalidAction(
            "no %(channel)s provider is configured for unit %(unit)s",
            field="unit_code",
            channel=channel,
            unit=unit_code[:20],
        )
    now = rt.clock.now()
    message = OutboxRecord(
        dedupe_key=f"test:{channel}:{unit_code}:{now.isoformat()}",
        channel=channel,
        recipient=recipient,
        subject="Thử kênh thông báo của hệ thống một cửa",
        body=f"Tin nhắn thử do quản trị viên {actor.username} gửi lúc {vn_dates.short_datetime(now, tz)}.",
    )
    try:
        ADAPTERS[channel](settings).send(message)
    except (ProviderRefused, ChannelOff, OSError, KeyError, ValueError) as exc:
        raise InvalidAction(
            "the provider did not take the test message: %(error)s", field="recipient", error=str(exc)[:300]
        ) from None
    with rt.db.session() as s:
        audit.record(s, at=now, action="notify_provider_tested", actor=actor, unit=unit_code, channel=channel)
        audit.write_pending(s)


def rotate_key(rt: Runtime) -> int:
    """Every stored secret encrypted again under the newest key (plaintext ones from before
    encryption included); returns how many were written. Run after putting a new key first in
    MOTCUA_NOTIFY_KEYS, then drop the old key."""
    written = 0
    with rt.db.session() as s:
        for row in citizen_queries.providers(s):
            settings = dict(row.settings or {})
            for name in SECRETS & settings.keys():
                settings[name] = secret_box.reseal(settings[name])
                written += 1
            row.settings = settings
    return written


def _settings_of(channel: str) -> tuple[Setting, ...]:
    if channel not in SETTINGS:
        raise InvalidAction("unknown channel %(channel)s", field="channel", channel=channel[:20])
    return SETTINGS[channel]


def _checked(spec: Setting, value: str) -> str:
    if not value:
        return value
    if len(value) > spec.max_length:
        raise InvalidAction(
            "%(name)s is longer than %(max)s characters", field=spec.name, name=spec.name, max=spec.max_length
        )
    shown = {"field": spec.name, "name": spec.name, "value": value[:100]}
    if spec.kind == "url" and not _is_web_address(value):
        raise InvalidAction("%(name)s: '%(value)s' is not an http(s) address", **shown)
    if spec.kind == "digits" and not value.isdigit():
        raise InvalidAction("%(name)s: '%(value)s' is not a number", **shown)
    if spec.kind == "port" and not (value.isdigit() and 1 <= int(value) <= 65535):
        raise InvalidAction("%(name)s: '%(value)s' is not a port (1 to 65535)", **shown)
    if spec.kind == "email" and not EMAIL.match(value):
        raise InvalidAction("%(name)s: '%(value)s' is not an e-mail address", **shown)
    if spec.kind == "flag" and value not in FLAG_VALUES:
        raise InvalidAction("%(name)s: '%(value)s' is not 0 or 1", **shown)
    return value


def _is_web_address(value: str) -> bool:
    parsed = urlparse(value)
    return parsed.scheme in ("http", "https") and bool(parsed.netloc)


def _view(row) -> ProviderView:
    stored = dict(row.settings or {})
    return ProviderView(
        row.unit_code,
        row.channel,
        {name: str(value) for name, value in sorted(stored.items()) if name not in SECRETS},
        tuple(sorted(name for name in stored if name in SECRETS)),
        row.updated_at,
    )
