"""What an administrator does with the portal connection: configure a province, see the portal
messages that could not be delivered (dead letters) and those waiting, and send one again."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from engine.domain import portal
from engine.domain.assignment import Actor
from engine.domain.errors import InvalidAction
from engine.domain.errors import NotFound
from engine.services import audit
from engine.services import incidents
from engine.services.portal_sync import CHANNEL
from engine.services.runtime import Runtime
from engine.store import operations_records
from engine.store import portal_changes
from engine.store.portal_records import PortalSettingRecord
from engine.store.portal_records import all_settings
from engine.store.records import OutboxRecord
from engine.store.records import UnitRecord


def configure(
    rt: Runtime,
    province_code: str,
    *,
    endpoint: str,
    token: str,
    agency_ids: Mapping[str, str] | None = None,
    platform_code: str | None = None,
    status_map: Mapping[str, int] | None = None,
    timeout_seconds: int = 10,
    pull_every_seconds: int = 60,
) -> PortalSettingRecord:
    """Create or replace a province's portal settings; InvalidAction names the wrong setting."""
    if not portal.is_platform_code(platform_code or None):
        raise InvalidAction(
            "platform_code '%(code)s' must be two digits (the AA of Circular 4/2025)",
            field="platform_code",
            code=platform_code,
        )
    for local, code in (status_map or {}).items():
        if not portal.is_status_pair(local, code):
            raise InvalidAction(
                "status_map: %(local)s -> %(code)s: both must be status codes 1-10",
                field="status_map",
                local=local,
                code=code,
            )
    if not endpoint.startswith(("http://", "https://")):
        raise InvalidAction("endpoint must be an http(s) URL", field="endpoint")
    if timeout_seconds < 1 or pull_every_seconds < 1:
        raise InvalidAction("timeout and pull interval are whole seconds from 1", field="timeout_seconds")
    with rt.db.session() as s:
        unit = s.get(UnitRecord, province_code)
        if unit is None or unit.kind != "province":
            raise NotFound("unknown province '%(unit)s'", field="province", unit=province_code)
        row = s.get(PortalSettingRecord, province_code) or PortalSettingRecord(province_code=province_code)
        row.endpoint, row.token, row.platform_code = endpoint, token, platform_code or None
        row.agency_ids, row.status_map = dict(agency_ids or {}), {str(k): int(v) for k, v in (status_map or {}).items()}
        row.timeout_seconds, row.pull_every_seconds = timeout_seconds, pull_every_seconds
        s.add(row)
        return row


def settings(rt: Runtime) -> list[PortalSettingRecord]:
    with rt.db.read_session() as s:
        return all_settings(s)


@dataclass(frozen=True)
class Backlog:
    dead: list[OutboxRecord]
    pending: list[OutboxRecord]


def backlog(rt: Runtime) -> Backlog:
    with rt.db.read_session() as s:
        return Backlog(
            portal_changes.messages(s, CHANNEL, ("dead",)), portal_changes.messages(s, CHANNEL, ("pending",))
        )


def resend(rt: Runtime, message_id: int, actor: Actor) -> None:
    """Send a dead portal message again, with its full retries (its dossier's later events, held
    back behind it, follow once it is through)."""
    with rt.db.read_session() as s:
        message = s.get(OutboxRecord, message_id)
        if message is None or message.channel != CHANNEL:
            raise NotFound("no portal message %(id)s", field="message", id=message_id)
        if message.status != "dead":
            raise InvalidAction("portal message %(id)s is not a dead letter", field="message", id=message_id)
        incident = operations_records.unresolved(s, "outbox", message_id)
    if incident is not None:
        incidents.retry(rt, incident.id, actor)
    with rt.db.session() as s:
        message = s.get(OutboxRecord, message_id)
        now = rt.clock.now()
        message.status, message.attempts, message.available_at = "pending", 0, now
        message.lease_owner = message.lease_expires_at = None
        audit.record(s, at=now, action="portal_resend", actor=actor, dossier_id=message.dossier_id, message=message_id)
        audit.write_pending(s)
