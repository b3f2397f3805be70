"""`motcua rollups`: the dashboard's daily figures (engine.store.rollups)."""

from __future__ import annotations

import click

from engine.store import officer_rollups
from engine.store import open_stock
from engine.store import rollups
from engine.store import satisfaction_rollups
from engine.store.database import Database


@click.group("rollups")
def rollups_group() -> None:
    """The dashboard's daily figures, kept with every receipt and closure."""


@rollups_group.command("rebuild")
def rebuild() -> None:
    """Recount the daily, weekly and monthly figures and the open stock from the dossiers, and the officers'
    KPIs from the steps and the audit log, and citizens' satisfaction per officer from the ratings and
    the steps (after loading dossiers around the engine, e.g. a bulk import); migrations 0014, 0033,
    0022, 0036 and 0038 ran the same recounts."""
    db = Database.from_env()
    try:
        with db.engine.begin() as conn:
            days = rollups.rebuild(conn)
            open_cells = open_stock.rebuild(conn)
            officer_days = officer_rollups.rebuild(conn)
            satisfaction_days = satisfaction_rollups.rebuild(conn)
    finally:
        db.dispose()
    click.echo(f"daily figures recounted: {days} rows (day, commune, procedure version)")
    click.echo(f"open stock recounted: {open_cells} rows (commune, procedure version, appointment day)")
    click.echo(f"officers' KPIs recounted: {officer_days} rows (day, commune, officer)")
    click.echo(f"citizens' satisfaction recounted: {satisfaction_days} rows (day, commune, officer)")
