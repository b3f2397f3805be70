"""The `motcua` command line: every operator command in one place."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextlib import nullcontext
from pathlib import Path

import click

from configurator.commands import bpmn_group
from configurator.commands import catalogue_group
from configurator.commands import processes_group
from engine.commands.api_tokens import api_token_group
from engine.commands.audit import audit_group
from engine.commands.backup import backup_command
from engine.commands.backup import restore_command
from engine.commands.calendar import calendar_group
from engine.commands.connectors import connectors_group
from engine.commands.db import db_group
from engine.commands.notify import notify_group
from engine.commands.operations import incidents_group
from engine.commands.operations import status_command
from engine.commands.portal import portal_group
from engine.commands.rollups import rollups_group
from engine.commands.worker import worker_command


class _Commands(click.Group):
    """Turns the errors an operator can act on into one clear line instead of a traceback."""

    def invoke(self, ctx):
        from engine.domain.errors import EngineError
        from engine.store.database import OperationalError

        try:
            return super().invoke(ctx)
        except EngineError as exc:
            where = f" (element {exc.element_id})" if exc.element_id else ""
            raise click.ClickException(f"{exc.message}{where}") from None
        except OperationalError as exc:
            if "no such table" in str(exc) or "does not exist" in str(exc):
                raise click.ClickException("the database has no schema yet: run `motcua db upgrade` first") from None
            raise click.ClickException(f"database error: {exc.orig}") from None


@click.group(cls=_Commands)
def main() -> None:
    """motcua: one-stop administrative procedures: engine, configurator and web product."""


main.add_command(db_group)
main.add_command(rollups_group)
main.add_command(worker_command)
main.add_command(notify_group)
main.add_command(calendar_group)
main.add_command(audit_group)
main.add_command(bpmn_group)
main.add_command(processes_group)
main.add_command(catalogue_group)
main.add_command(api_token_group)
main.add_command(incidents_group)
main.add_command(portal_group)
main.add_command(connectors_group)
main.add_command(status_command)
main.add_command(backup_command)
main.add_command(restore_command)


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True)
@click.option(
    "--workers",
    default=0,
    show_default=True,
    help="Worker processes of the production server (granian, web.serving); 0 runs Flask's own server (development).",
)
@click.option("--threads", default=4, show_default=True, help="Threads of each worker process that run requests.")
@click.option(
    "--with-worker",
    is_flag=True,
    help="Also run one `motcua worker` process (timers, SLA alerts, notifications) while serving; "
    "in production run workers as their own service instead.",
)
@click.option(
    "--with-portal-simulator",
    "portal_port",
    type=int,
    default=None,
    is_flag=False,
    flag_value=5180,
    help="Also run the National Public Service Portal simulator on this port (default 5180), "
    "offering the demo's online dossiers; the demo province is configured to use it.",
)
def serve(host: str, port: int, workers: int, threads: int, with_worker: bool, portal_port: int | None) -> None:
    """Serve the web product. SIGTERM and SIGINT stop the server and the worker beside it."""
    with (
        _exit_on_sigterm(),
        portal_beside(portal_port) if portal_port else nullcontext(),
        worker_beside() if with_worker else nullcontext(),
    ):
        _serve(host, port, workers, threads)


@contextmanager
def portal_beside(port: int) -> Iterator[None]:
    """The portal simulator (engine.services.portal_simulator) on 127.0.0.1:`port` for as long as the
    block runs, in a thread of this process, offering the demo's online dossiers for pulling."""
    from engine.services.portal_simulator import PortalSimulator
    from web import demo_portal

    simulator = PortalSimulator("127.0.0.1", port, demo_portal.TOKEN)
    for item in demo_portal.offers():
        simulator.state.submit(item)
    simulator.start()
    click.echo(f"portal simulator on {simulator.url}")
    try:
        yield
    finally:
        simulator.stop()


@contextmanager
def _exit_on_sigterm() -> Iterator[None]:
    """SIGTERM as a clean exit: Python's default ends the process at once, skipping the block
    that stops the worker beside the server (which then ran on, orphaned)."""
    previous = signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _serve(host: str, port: int, workers: int, threads: int) -> None:
    from engine import logs
    from web.app import create_app

    logs.configure()
    if workers <= 0:
        create_app().run(host=host, port=port)
        return
    from web import serving

    if header_like := serving.header_like_variables():
        raise click.ClickException(
            f"{', '.join(header_like)} would reach every request as a header the client did not send "
            "(the server hands its environment to the app with each request): unset it; for an "
            "outgoing proxy use lower-case http_proxy / https_proxy."
        )
    serving.start_metrics_clean()
    serving.server(host, port, workers, threads).serve()


@contextmanager
def worker_beside(*extra_args: str, **popen_kwargs) -> Iterator[subprocess.Popen]:
    """A `motcua worker` process (same database, same environment) for as long as the block runs;
    stopped with SIGTERM, which lets it finish the batch in hand (its leases make any stop safe)."""
    with subprocess.Popen([sys.executable, "-m", "web.cli", "worker", *extra_args], **popen_kwargs) as process:
        try:
            yield process
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


@main.command("seed")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database already has units.")
@click.option("--province", default="ha_noi", show_default=True, help="Province codename (vietnam-provinces).")
@click.option("--dossiers/--no-dossiers", default=True, show_default=True, help="Also create demo dossiers.")
def seed_command(if_empty: bool, province: str, dossiers: bool) -> None:
    """Load demo data: the province's communes, users for every role, the library, dossiers."""
    from engine.documents import store_from_environment
    from engine.services.runtime import Runtime
    from engine.store.database import Database
    from web import demo_portal
    from web import demo_records
    from web import seed
    from web import seed_citizen

    # The demo's files go where the web app keeps them: instance/documents unless configured.
    rt = Runtime(db=Database.from_env(), documents=store_from_environment(Path("instance") / "documents"))
    if if_empty and not seed.is_empty(rt):
        click.echo("database already seeded; nothing to do")
        return
    click.echo(f"units: {seed.seed_units(rt, province)}")
    click.echo(f"users: {len(seed.seed_users(rt))} (password {seed.DEMO_PASSWORD})")
    click.echo(f"procedures published: {seed.seed_library(rt)}")
    click.echo(f"commune processes rolled out: {seed.seed_rollouts(rt)}")
    click.echo(f"catalogue entries: {demo_records.seed_catalogue(rt)}")
    click.echo(f"signing certificates (demo CA): {demo_records.seed_signing(rt, seed.DEMO_COMMUNES)}")
    if dossiers:
        # Connected before the dossiers: each demo dossier's events go to the portal simulator.
        click.echo(f"online dossiers waiting (portal simulator at {demo_portal.endpoint()}): {demo_portal.seed(rt)}")
        click.echo(f"demo citizen {demo_records.CITIZEN_ID} (data store): {demo_records.seed_citizen(rt)}")
        click.echo(f"demo dossiers: {seed.seed_dossiers(rt)}")
        click.echo(f"SLA warnings, breaches, escalations and apology requests: {seed.seed_sla(rt)}")
        click.echo(f"satisfaction ratings: {seed_citizen.seed_ratings(rt)}")


@processes_group.command("load")
@click.option(
    "--dir",
    "root",
    type=click.Path(exists=True, file_okay=False),
    default=None,
    help="Library folder (default: the shipped processes/).",
)
def processes_load(root: str | None) -> None:
    """Publish every procedure of the library into the database (unchanged ones are skipped)."""
    from pathlib import Path

    from configurator import library
    from engine.services.runtime import Runtime
    from engine.store.database import Database

    rt = Runtime(db=Database.from_env())
    for definition in library.load(rt, Path(root) if root else library.LIBRARY):
        click.echo(f"{definition.key} v{definition.version} ({definition.procedure_code or 'no code'})")


if __name__ == "__main__":  # `python -m web.cli`, how `serve --with-worker` starts its worker
    main()
