"""`motcua api-token ...`: tokens other systems use to call the REST API as one user."""

from __future__ import annotations

import click

from engine.commands.operations import operator_runtime


@click.group("api-token")
def api_token_group() -> None:
    """Create, list and revoke API tokens (DATABASE_URL or instance/motcua.sqlite3)."""


@api_token_group.command("create")
@click.option("--user", "username", required=True, help="The user the token acts as (roles and unit).")
@click.option("--name", required=True, help="Which system uses it, e.g. 'Đồng bộ Cổng DVC quốc gia'.")
@click.option(
    "--expires-in",
    default="90d",
    show_default=True,
    help="How long it stays valid: days or hours, e.g. 90d, 12h (at most 730d).",
)
def create(username: str, name: str, expires_in: str) -> None:
    """Print a new token once; only its SHA-256 is stored, so keep it now."""
    from engine.services import api_tokens

    with operator_runtime() as rt:
        record, token = api_tokens.issue(rt, username=username, name=name, expires_in=expires_in)
    click.echo(
        f"token {record.id} for {username} ({record.name}), valid until {_utc(record.expires_at)}; "
        "it is shown only this once:",
        err=True,
    )
    click.echo(token)


@api_token_group.command("list")
def list_tokens() -> None:
    """Every token, one a line, tab-separated: id, user, name, created, expires, last used, state
    (active, expired or revoked); never the token itself."""
    from engine.services import api_tokens

    with operator_runtime() as rt:
        now, records = rt.clock.now(), api_tokens.all_tokens(rt)
    for record in records:
        state = (
            "revoked"
            if record.revoked
            else "expired"
            if not record.expires_at or record.expires_at <= now
            else "active"
        )
        click.echo(
            f"{record.id}\t{record.username}\t{record.name}\t{_utc(record.created_at)}\t"
            f"{_utc(record.expires_at)}\t{_utc(record.last_used_at) if record.last_used_at else 'never'}\t"
            f"{state}"
        )


def _utc(at) -> str:
    return f"{at:%Y-%m-%d %H:%M}Z" if at else "-"


@api_token_group.command("revoke")
@click.argument("token_id", type=int)
def revoke(token_id: int) -> None:
    """Revoke a token by its id (see `list`); calls with it are refused from now on."""
    from engine.services import api_tokens

    with operator_runtime() as rt:
        api_tokens.revoke(rt, token_id)
    click.echo(f"token {token_id} revoked")
