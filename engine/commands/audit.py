"""`motcua audit`: checks the audit log's hash chains."""

from __future__ import annotations

import sys

import click

from engine.services import audit
from engine.store.database import Database


@click.group("audit")
def audit_group() -> None:
    """The audit log (append-only, hash-chained per dossier)."""


@audit_group.command("verify")
@click.option("--dossier", "dossier_code", help="Check only this dossier's chain (its code).")
def verify(dossier_code: str | None) -> None:
    """Walk the hash chains; print the first broken link of each broken chain and exit 1."""
    db = Database.from_env()
    try:
        with db.read_session() as s:
            checked, broken = audit.verify(s, dossier_code)
    finally:
        db.dispose()
    for report in broken:
        click.echo(f"broken: {report}", err=True)
    if broken:
        click.echo(f"{len(broken)} of {checked} chains broken", err=True)
        sys.exit(1)
    click.echo(f"{checked} chains verified")
