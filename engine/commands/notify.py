"""`motcua notify provider set|list|remove`: which SMS gateway, Zalo Official Account and SMTP server
tell a province's (or one unit's) applicants; settings in docs/notifications.md."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

import click

from engine import secret_box
from engine.domain.assignment import Actor
from engine.domain.errors import EngineError
from engine.services import notify_providers
from engine.services.citizen_channels import APPLICANT_CHANNELS
from engine.services.runtime import Runtime
from engine.store import citizen_queries
from engine.store.database import Database


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
    """Configure (or replace) the channel's provider for the unit; one transaction. Secrets are
    stored encrypted (MOTCUA_NOTIFY_KEYS); a secret not given keeps the stored one."""
    values = {}
    for pair in settings:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"{pair!r} is not NAME=VALUE", param_hint="--setting")
        values[name.strip()] = value
    with _runtime() as rt:
        try:
            notify_providers.save(rt, unit_code, channel, values, Actor.system())
        except EngineError as error:
            hint = "--unit" if error.field == "unit_code" else "--setting"
            raise click.BadParameter(str(error), param_hint=hint) from None
    click.echo(f"{channel} provider set for {unit_code}")


@provider_group.command("list")
def list_command() -> None:
    """Every configured provider, secrets hidden."""
    with _runtime() as rt:
        for view in notify_providers.providers(rt):
            shown = {**view.settings, **{name: "***" for name in view.secrets_kept}}
            click.echo(
                f"{view.unit_code}\t{view.channel}\t{json.dumps(dict(sorted(shown.items())), ensure_ascii=False)}"
            )


@provider_group.command("new-key")
def new_key_command() -> None:
    """Print a new key for MOTCUA_NOTIFY_KEYS (put it first to rotate, docs/notifications.md)."""
    click.echo(secret_box.new_key())


@provider_group.command("rotate-key")
def rotate_key_command() -> None:
    """Encrypt every stored secret again under the first key of MOTCUA_NOTIFY_KEYS (secrets stored
    before encryption included); then the older keys can be dropped."""
    with _runtime() as rt:
        try:
            written = notify_providers.rotate_key(rt)
        except (secret_box.SecretUnreadable, secret_box.SecretKeyMissing) as error:
            raise click.ClickException(str(error)) from None
    click.echo(f"{written} secrets encrypted under the newest key")


@provider_group.command("remove")
@click.option("--unit", "unit_code", required=True)
@click.option("--channel", type=click.Choice(APPLICANT_CHANNELS), required=True)
def remove_command(unit_code: str, channel: str) -> None:
    """Turn the channel off for the unit (its province's provider, if any, applies again)."""
    with _runtime() as rt, rt.db.session() as s:
        citizen_queries.remove_provider(s, unit_code, channel)
    click.echo(f"{channel} provider removed for {unit_code}")
