"""`motcua notify provider set|list|remove`: which SMS gateway, Zalo Official Account and SMTP server
tell a province's (or one unit's) applicants; settings in docs/notifications.md."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

import click

from engine.services.citizen_channels import APPLICANT_CHANNELS
from engine.services.citizen_channels import set_provider
from engine.services.runtime import Runtime
from engine.store import citizen_queries
from engine.store.database import Database

#: Settings that are secrets: listed as *** (they stay in the database).
SECRETS = frozenset({"api_key", "secret_key", "access_token", "password"})


@contextmanager
def _runtime() -> Iterator[Runtime]:
    db = Database.from_env()
    try:
        yield Runtime(db=db)
    finally:
        db.dispose()


@click.group("notify")
def notify_group() -> None:
    """The applicants' notification channels (SMS, Zalo, e-mail) per province or unit."""


@notify_group.group("provider")
def provider_group() -> None:
    """Providers of a channel for a province or unit (a unit's own wins over its province's)."""


@provider_group.command("set")
@click.option("--unit", "unit_code", required=True, help="Province code (e.g. 01) or unit code (e.g. 00070).")
@click.option("--channel", type=click.Choice(APPLICANT_CHANNELS), required=True)
@click.option(
    "--setting",
    "settings",
    multiple=True,
    metavar="NAME=VALUE",
    help="One setting (repeat): e.g. url=..., api_key=..., brandname=... (docs/notifications.md).",
)
def set_command(unit_code: str, channel: str, settings: tuple[str, ...]) -> None:
    """Configure (or replace) the channel's provider for the unit; one transaction."""
    values = {}
    for pair in settings:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"{pair!r} is not NAME=VALUE", param_hint="--setting")
        values[name.strip()] = value
    missing = sorted(set(REQUIRED[channel]) - values.keys())
    if missing:
        raise click.BadParameter(f"the {channel} provider needs {', '.join(missing)}", param_hint="--setting")
    with _runtime() as rt, rt.db.session() as s:
        try:
            set_provider(s, unit_code, channel, values, rt.clock.now())
        except ValueError as error:
            raise click.BadParameter(str(error), param_hint="--unit") from error
    click.echo(f"{channel} provider set for {unit_code}")


@provider_group.command("list")
def list_command() -> None:
    """Every configured provider, secrets hidden."""
    with _runtime() as rt, rt.db.read_session() as s:
        for row in citizen_queries.providers(s):
            shown = {k: ("***" if k in SECRETS else v) for k, v in sorted((row.settings or {}).items())}
            click.echo(f"{row.unit_code}\t{row.channel}\t{json.dumps(shown, ensure_ascii=False)}")


@provider_group.command("remove")
@click.option("--unit", "unit_code", required=True)
@click.option("--channel", type=click.Choice(APPLICANT_CHANNELS), required=True)
def remove_command(unit_code: str, channel: str) -> None:
    """Turn the channel off for the unit (its province's provider, if any, applies again)."""
    with _runtime() as rt, rt.db.session() as s:
        citizen_queries.remove_provider(s, unit_code, channel)
    click.echo(f"{channel} provider removed for {unit_code}")


#: What each adapter cannot work without (engine.services.citizen_channels).
REQUIRED = {"sms": ("api_key", "secret_key", "brandname"), "zalo": ("access_token", "template_id"), "email": ("host",)}
