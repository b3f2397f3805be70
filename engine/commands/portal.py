"""`motcua portal simulate|configure|reconcile|pull|backlog`: the National Public Service Portal
connection from the command line (docs/portal.md)."""

from __future__ import annotations

import json
import sys

import click

from engine import logs
from engine.commands.operations import operator_runtime
from engine.domain.errors import EngineError
from engine.services import online_intake
from engine.services import portal_admin
from engine.services import portal_reconcile
from engine.services.portal_client import PortalUnavailable
from engine.services.portal_simulator import PortalSimulator


@click.group("portal")
def portal_group() -> None:
    """The National Public Service Portal: settings, reconciliation, and a simulator to test against."""


@portal_group.command("simulate")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5180, show_default=True)
@click.option("--token", default="portal-demo-token", show_default=True, help="The bearer token the portal expects.")
@click.option("--push-to", default=None, help="Our intake URL (…/api/v1/portal/submissions) to push submissions to.")
@click.option("--push-token", default=None, help="The API token the simulator pushes with.")
@click.option(
    "--submissions",
    "submissions_file",
    type=click.File("r", encoding="utf-8"),
    default=None,
    help="A JSON list of submissions to offer from the start (the demo's).",
)
def simulate(host: str, port: int, token: str, push_to: str | None, push_token: str | None, submissions_file) -> None:
    """Serve a stand-in portal: receives syncs, offers submissions, answers reconciliation queries."""
    logs.configure()
    simulator = PortalSimulator(host, port, token, push_url=push_to, push_token=push_token)
    for submission in json.load(submissions_file) if submissions_file else []:
        simulator.state.submit(submission)
    click.echo(f"portal simulator on {simulator.url} (token {token})")
    try:
        simulator.serve_forever()
    except KeyboardInterrupt:
        pass


@portal_group.command("configure")
@click.option("--province", required=True, help="Province unit code (01 for Hà Nội).")
@click.option("--endpoint", required=True, help="The portal's base URL.")
@click.option("--token", required=True, help="The credential the portal issued to the province.")
@click.option("--platform-code", default=None, help="The two digits AA of Circular 4/2025's dossier code.")
@click.option(
    "--agency", "agencies", multiple=True, help="UNIT=PORTAL_AGENCY_ID (repeatable); others use their agency code."
)
@click.option("--status-map", default="{}", help='Our status -> portal code where they differ, JSON: {"6": 4}.')
@click.option("--timeout", default=10, show_default=True, help="Seconds before a portal request counts as failed.")
@click.option("--pull-every", default=60, show_default=True, help="Seconds between pulls of online submissions.")
def configure(province, endpoint, token, platform_code, agencies, status_map, timeout, pull_every) -> None:
    """Connect a province to the portal (or change its settings)."""
    try:
        mapping = json.loads(status_map)
        pairs = dict(a.split("=", 1) for a in agencies)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    with operator_runtime() as rt:
        try:
            portal_admin.configure(
                rt,
                province,
                endpoint=endpoint,
                token=token,
                agency_ids=pairs,
                platform_code=platform_code,
                status_map=mapping,
                timeout_seconds=timeout,
                pull_every_seconds=pull_every,
            )
        except EngineError as exc:
            raise click.ClickException(f"{exc.field}: {exc}") from None
    click.echo(f"province {province} uses the portal at {endpoint}")


@portal_group.command("reconcile")
@click.option("--province", default=None, help="Only this province (default: every connected one).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per difference.")
def reconcile(province: str | None, as_json: bool) -> None:
    """Compare what the portal holds with ours; list each difference. Exit code 1 when any."""
    with operator_runtime() as rt:
        try:
            reports = portal_reconcile.reconcile(rt, province)
        except (EngineError, PortalUnavailable) as exc:
            raise click.ClickException(str(exc)) from None
    found = 0
    for report in reports:
        if not as_json:
            click.echo(
                f"province {report.province_code}: {report.ours} dossiers here, {report.portal} at the portal, "
                f"{len(report.differences)} differences"
            )
        for d in report.differences:
            found += 1
            if as_json:
                click.echo(
                    json.dumps(
                        {
                            "province": report.province_code,
                            "code": d.code,
                            "what": d.what,
                            "ours": d.ours,
                            "portal": d.portal,
                        },
                        ensure_ascii=False,
                    )
                )
            else:
                click.echo(f"  {d.code}\t{d.what}\tours={d.ours or '-'}\tportal={d.portal or '-'}")
    sys.exit(1 if found else 0)


@portal_group.command("pull")
def pull() -> None:
    """Take the submissions the portal offers now (the worker does this on its own)."""
    with operator_runtime() as rt:
        click.echo(online_intake.pull(rt, now_whatever_the_interval=True))


@portal_group.command("backlog")
def backlog() -> None:
    """Portal messages not delivered: dead letters (with their error) and the count still pending."""
    with operator_runtime() as rt:
        found = portal_admin.backlog(rt)
    click.echo(f"pending: {len(found.pending)}, dead: {len(found.dead)}")
    for message in found.dead:
        click.echo(f"  #{message.id}\t{message.subject}\t{message.last_error}")
