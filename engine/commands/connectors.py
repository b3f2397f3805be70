"""`motcua connectors`: the service-task connectors and the http connector's allow-list of hosts
(the same list the administrator keeps at /quan-tri/may-chu-ket-noi)."""

from __future__ import annotations

import click

from engine.commands.operations import _runtime
from engine.domain import connectors
from engine.domain.assignment import Actor
from engine.domain.errors import EngineError
from engine.services import service_calls


@click.group("connectors")
def connectors_group() -> None:
    """Connectors a service task may call, and the hosts the http connector may reach."""


@connectors_group.command("list")
def list_connectors() -> None:
    """Every connector with its parameters (* required)."""
    for spec in connectors.CONNECTORS.values():
        params = ", ".join(f"{p.name}{'*' if p.required else ''}" for p in spec.parameters)
        click.echo(f"{spec.name}: {params}")


@connectors_group.group("hosts")
def hosts_group() -> None:
    """The http connector's allow-list."""


@hosts_group.command("list")
def list_hosts() -> None:
    with _runtime() as rt:
        hosts = service_calls.allowed_hosts(rt)
    for host in hosts:
        click.echo(f"{host.host}\t{host.added_by}\t{host.added_at.isoformat()}\t{host.note or ''}")
    if not hosts:
        click.echo("no host is allowed: the http connector refuses every call")


@hosts_group.command("allow")
@click.argument("host")
@click.option("--note", default=None, help="Why (kept with the host).")
@click.option("--by", "username", default="system", show_default=True, help="Who allows it (kept in the audit log).")
def allow_host(host: str, note: str | None, username: str) -> None:
    with _runtime() as rt:
        try:
            row = service_calls.allow_host(rt, host, Actor(username), note)
        except EngineError as exc:
            raise click.ClickException(exc.message) from None
    click.echo(f"{row.host} allowed")


@hosts_group.command("forbid")
@click.argument("host")
@click.option("--by", "username", default="system", show_default=True, help="Who removes it (kept in the audit log).")
def forbid_host(host: str, username: str) -> None:
    with _runtime() as rt:
        try:
            service_calls.forbid_host(rt, host, Actor(username))
        except EngineError as exc:
            raise click.ClickException(exc.message) from None
    click.echo(f"{host.strip().lower()} removed")
