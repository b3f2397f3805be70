"""Delivery channels for the outbox: in-app (always) and SMTP; the applicant's SMS, Zalo and e-mail
providers are chosen per unit in engine.services.citizen_channels."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from typing import Protocol

from engine.store.database import Session
from engine.store.records import NotificationRecord
from engine.store.records import OutboxRecord


class Channel(Protocol):
    def deliver(self, session: Session, message: OutboxRecord, now) -> None:
        """Deliver or raise; runs inside the transaction that marks the message sent.

        A channel may also define `blocked(session, message) -> bool`: a message it blocks waits
        (without using an attempt) until what must go before it has gone."""


class Undeliverable(Exception):
    """The receiver refused the message itself: it goes to the dead letters at once, for an
    administrator to look at and send again (retrying the same payload cannot help)."""


class InAppChannel:
    """Writes the notification row in the same transaction that marks the message sent:
    exactly once, whatever happens to the worker."""

    def deliver(self, session, message, now) -> None:
        session.add(
            NotificationRecord(
                outbox_id=message.id,
                username=message.recipient,
                subject=message.subject,
                body=message.body,
                created_at=now,
            )
        )


class SmtpChannel:
    """E-mail; at-least-once (a crash between sending and committing resends), so every message
    carries its outbox key as Message-ID for receivers to drop duplicates."""

    def __init__(
        self,
        host: str,
        port: int = 25,
        sender: str = "motcua@localhost",
        username: str | None = None,
        password: str | None = None,
        starttls: bool = False,
    ):
        self.host, self.port, self.sender = host, port, sender
        self.username, self.password, self.starttls = username, password, starttls

    def deliver(self, session, message, now) -> None:
        email = EmailMessage()
        email["From"], email["To"], email["Subject"] = self.sender, message.recipient, message.subject
        email["Message-ID"] = f"<{message.dedupe_key.replace(' ', '_')}@motcua>"
        email.set_content(message.body)
        with smtplib.SMTP(self.host, self.port, timeout=20) as smtp:
            if self.starttls:
                smtp.starttls()
            if self.username:
                smtp.login(self.username, self.password or "")
            smtp.send_message(email)


class ChannelOff(Exception):
    """No provider is configured for the channel where the dossier is handled: not a failure to
    retry; the message is marked `off` and the desk sees the applicant was not told."""
