"""The applicant's channels (SMS brandname, Zalo ZNS, e-mail): one adapter interface, the provider
chosen per dossier from its unit's settings (a unit's own row, else its province's), and no
provider meaning the channel is off there (the message is marked so, for the desk to see)."""

from __future__ import annotations

import json
import unicodedata
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Protocol

from engine import secret_box
from engine.services.channels import ChannelOff
from engine.services.channels import SmtpChannel
from engine.store import citizen_queries
from engine.store.citizen_records import NotificationProviderRecord
from engine.store.database import Session
from engine.store.records import OutboxRecord

#: Settings that are secrets: encrypted at rest, never shown back.
SECRETS = frozenset({"api_key", "secret_key", "access_token", "password"})
#: The channels an applicant may accept at reception, in the order the form offers them.
APPLICANT_CHANNELS = ("sms", "zalo", "email")
#: The applicant's field each channel is sent to (what reception must record for it).
CHANNEL_ADDRESS = {"sms": "phone", "zalo": "phone", "email": "email"}
HTTP_TIMEOUT_SECONDS = 20
ESMS_URL = "https://rest.esms.vn/MainService.svc/json/SendMultipleMessage_V4_post_json/"
ZNS_URL = "https://business.openapi.zalo.me/message/template"


class ProviderRefused(Exception):
    """The provider answered but did not accept the message (its code and text quoted)."""


class Adapter(Protocol):
    def send(self, message: OutboxRecord) -> None:
        """Hand the message to the provider or raise."""


class EsmsSmsAdapter:
    """An SMS brandname through eSMS.vn's JSON API (SendMultipleMessage_V4_post_json, SmsType 2,
    customer care): CodeResult "100" means accepted. Without Unicode the text loses its accents, as
    brandname SMS without Unicode must."""

    def __init__(self, settings: dict):
        self.url = settings.get("url") or ESMS_URL
        self.settings = settings

    def send(self, message: OutboxRecord) -> None:
        unicode = _flag(self.settings.get("unicode"))
        text = f"{message.subject}: {message.body}"
        payload = {
            "ApiKey": self.settings["api_key"],
            "SecretKey": self.settings["secret_key"],
            "Brandname": self.settings["brandname"],
            "SmsType": str(self.settings.get("sms_type", "2")),
            "Phone": message.recipient,
            "Content": text if unicode else without_accents(text),
            "IsUnicode": "1" if unicode else "0",
            "RequestId": message.dedupe_key[:100],
            "Sandbox": "1" if _flag(self.settings.get("sandbox")) else "0",
        }
        answer = _post_json(self.url, payload, {})
        if str(answer.get("CodeResult")) != "100":
            raise ProviderRefused(f"eSMS CodeResult {answer.get('CodeResult')}: {answer.get('ErrorMessage', '')}")


class ZaloZnsAdapter:
    """Zalo Notification Service (ZNS) of the unit's Official Account, by the applicant's phone: an
    approved template (`template_id`) filled with the dossier code, the subject and the text; the OA's
    access token in the `access_token` header; `error` 0 means accepted."""

    def __init__(self, settings: dict):
        self.url = settings.get("url") or ZNS_URL
        self.settings = settings

    def send(self, message: OutboxRecord) -> None:
        payload = {
            "phone": international_phone(message.recipient),
            "template_id": str(self.settings["template_id"]),
            "template_data": {"tieu_de": message.subject[:100], "noi_dung": message.body[:400]},
            "tracking_id": message.dedupe_key[:48],
        }
        answer = _post_json(self.url, payload, {"access_token": self.settings["access_token"]})
        if answer.get("error") != 0:
            raise ProviderRefused(f"Zalo error {answer.get('error')}: {answer.get('message', '')}")


class EmailAdapter:
    """E-mail through the unit's SMTP server (the settings of engine.services.channels.SmtpChannel)."""

    def __init__(self, settings: dict):
        self.smtp = SmtpChannel(
            settings["host"],
            int(settings.get("port", 25)),
            settings.get("sender", "motcua@localhost"),
            settings.get("username"),
            settings.get("password"),
            _flag(settings.get("starttls")),
        )

    def send(self, message: OutboxRecord) -> None:
        self.smtp.deliver(None, message, None)


ADAPTERS: dict[str, Callable[[dict], Adapter]] = {"sms": EsmsSmsAdapter, "zalo": ZaloZnsAdapter, "email": EmailAdapter}


class ApplicantChannel:
    """An outbox channel for applicants' messages: the provider of the message's dossier's unit."""

    def __init__(self, name: str, fallback: SmtpChannel | None = None):
        self.name, self.fallback = name, fallback

    def deliver(self, session: Session, message: OutboxRecord, now) -> None:
        settings = provider_settings(session, _unit_of(session, message), self.name)
        if settings is None and self.fallback is not None:
            self.fallback.deliver(session, message, now)
            return
        if settings is None:
            raise ChannelOff(f"no {self.name} provider is configured for unit {_unit_of(session, message)}")
        ADAPTERS[self.name](settings).send(message)


def applicant_channels(email_fallback: SmtpChannel | None = None) -> dict[str, ApplicantChannel]:
    return {name: ApplicantChannel(name, email_fallback if name == "email" else None) for name in APPLICANT_CHANNELS}


def provider_settings(session: Session, unit_code: str | None, channel: str) -> dict | None:
    """The settings of the unit's own provider, else of its province's (or any ancestor's)."""
    seen = set()
    while unit_code and unit_code not in seen:
        seen.add(unit_code)
        row = citizen_queries.provider(session, unit_code, channel)
        if row is not None:
            return opened(row.settings or {})
        unit_code = citizen_queries.parent_of(session, unit_code)
    return None


def opened(stored: dict) -> dict:
    """Stored settings with their secrets decrypted (engine.secret_box), for the adapter."""
    return {name: secret_box.open_sealed(value) if name in SECRETS else value for name, value in stored.items()}


def sealed(settings: dict) -> dict:
    """Settings as stored: every secret encrypted under the newest key."""
    return {
        name: secret_box.seal(str(value)) if name in SECRETS and not secret_box.is_sealed(value) else value
        for name, value in settings.items()
    }


def set_provider(session: Session, unit_code: str, channel: str, settings: dict, now) -> None:
    """Configure (or replace) a channel's provider for a province or unit."""
    if channel not in ADAPTERS:
        raise ValueError(f"unknown channel {channel!r} (one of {', '.join(APPLICANT_CHANNELS)})")
    if not citizen_queries.unit_exists(session, unit_code):
        raise ValueError(f"unknown unit {unit_code!r}")
    row = citizen_queries.provider(session, unit_code, channel)
    if row is None:
        row = NotificationProviderRecord(
            unit_code=unit_code, channel=channel, settings=sealed(settings), updated_at=now
        )
        session.add(row)
    else:
        row.settings, row.updated_at = sealed(settings), now


def without_accents(text: str) -> str:
    """'Hồ sơ đã có kết quả' -> 'Ho so da co ket qua' (đ is a letter of its own, not an accent)."""
    text = text.replace("đ", "d").replace("Đ", "D")
    return "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")


def international_phone(phone: str) -> str:
    """'0912 345 678' -> '84912345678' (Zalo wants the country code, no plus)."""
    digits = "".join(c for c in phone if c.isdigit())
    return "84" + digits[1:] if digits.startswith("0") else digits


def _flag(value) -> bool:
    """A setting given on the command line as text: 1, true, yes (any case) or a JSON true."""
    return value is True or str(value).strip().lower() in ("1", "true", "yes")


def _unit_of(session: Session, message: OutboxRecord) -> str | None:
    if message.dossier_id is None:
        return None
    return citizen_queries.dossier_unit(session, message.dossier_id)


def _post_json(url: str, payload: dict, headers: dict) -> dict:
    request = urllib.request.Request(
        url,
        data=json.dumps(payload, ensure_ascii=False).encode("utf-8"),
        headers={"Content-Type": "application/json", **headers},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_SECONDS) as response:
            return json.loads(response.read().decode("utf-8") or "{}")
    except urllib.error.HTTPError as error:
        raise ProviderRefused(f"HTTP {error.code} from {url}") from error
