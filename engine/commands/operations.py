"""`motcua incidents list|retry|resolve` and `motcua status`: what an operator asks of a running
installation (the same answers as the administrator's page and /readyz)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import click

from engine.domain.assignment import Actor
from engine.services import health
from engine.services import incidents
from engine.services.runtime import Runtime
from engine.store.database import Database


@contextmanager
def operator_runtime() -> Iterator[Runtime]:
    db = Database.from_env()
    try:
        yield Runtime(db=db)
    finally:
        db.dispose()


@click.group("incidents")
def incidents_group() -> None:
    """Background work that failed after its retries (timers, SLA levels, forecasts, notifications)."""


@incidents_group.command("list")
@click.option("--all", "include_resolved", is_flag=True, help="Also list resolved incidents.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def list_incidents(include_resolved: bool, as_json: bool) -> None:
    """Open and retrying incidents, newest first: kind, dossier, element, attempts and the error."""
    with operator_runtime() as rt:
        found = incidents.listing(rt, include_resolved=include_resolved)
    for incident in found:
        row = {
            "id": incident.id,
            "kind": incident.kind,
            "status": incident.status,
            "dossier_id": incident.dossier_id,
            "work_item_id": incident.work_item_id,
            "element_id": incident.element_id,
            "attempts": incident.attempts,
            "last_failed_at": incident.last_failed_at.isoformat(),
            "error": incident.error,
        }
        if as_json:
            click.echo(json.dumps(row, ensure_ascii=False))
        else:
            where = f"dossier {incident.dossier_id}" + (f" at {incident.element_id}" if incident.element_id else "")
            click.echo(
                f"#{incident.id} {incident.status} {incident.kind} {where} after {incident.attempts} "
                f"attempt(s), {row['last_failed_at']}: {incident.error}"
            )
    if not found and not as_json:
        click.echo("no incidents")


@incidents_group.command("retry")
@click.argument("incident_id", type=int)
@click.option("--by", "username", default="system", show_default=True, help="Who asks (kept in the audit log).")
def retry_incident(incident_id: int, username: str) -> None:
    """Run the failed work again on the next worker pass."""
    with operator_runtime() as rt:
        incident = incidents.retry(rt, incident_id, Actor(username))
    click.echo(f"incident #{incident.id} will be retried on the next worker pass")


@incidents_group.command("resolve")
@click.argument("incident_id", type=int)
@click.option("--by", "username", default="system", show_default=True, help="Who resolves (kept in the audit log).")
def resolve_incident(incident_id: int, username: str) -> None:
    """Close the incident without running the work again (it was dealt with by hand)."""
    with operator_runtime() as rt:
        incident = incidents.resolve(rt, incident_id, Actor(username))
    click.echo(f"incident #{incident.id} resolved")


@click.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print the same JSON as /readyz.")
def status_command(as_json: bool) -> None:
    """Is this installation ready: database, schema, worker heartbeat, outbox and incident
    backlogs. Exits 1 when not ready (for scripts and monitoring)."""
    with operator_runtime() as rt:
        report = health.readiness(rt)
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        click.echo("ready" if report["ready"] else "NOT READY")
        for name, check in report["checks"].items():
            figures = ", ".join(f"{k}={v}" for k, v in check.items() if k != "ok")
            click.echo(f"  {'ok  ' if check['ok'] else 'FAIL'} {name}" + (f": {figures}" if figures else ""))
    sys.exit(0 if report["ready"] else 1)
