"""`motcua worker`: fires due timers and delivers notifications."""

from __future__ import annotations

import os
import signal
from datetime import datetime
from pathlib import Path

import click

from engine import boot
from engine import logs
from engine import secret_box
from engine.clock import FrozenClock
from engine.clock import clock_from_env
from engine.documents import store_from_environment
from engine.services import worker
from engine.services.channels import SmtpChannel
from engine.services.delivery import default_channels
from engine.services.runtime import Runtime
from engine.services.watchdog import Watchdog
from engine.store.database import Database

#: How long the item in hand may still run after SIGTERM before it is rolled back and released.
STOP_GRACE_SECONDS = 5.0


def _smtp_from_env() -> SmtpChannel | None:
    host = os.environ.get("MOTCUA_SMTP_HOST")
    if not host:
        return None
    return SmtpChannel(
        host,
        int(os.environ.get("MOTCUA_SMTP_PORT", "25")),
        os.environ.get("MOTCUA_SMTP_SENDER", "motcua@localhost"),
        os.environ.get("MOTCUA_SMTP_USER"),
        os.environ.get("MOTCUA_SMTP_PASSWORD"),
        os.environ.get("MOTCUA_SMTP_STARTTLS") == "1",
    )


@click.command("worker")
@click.option("--once", is_flag=True, help="Do one pass over everything due, then exit.")
@click.option("--poll", default=5.0, show_default=True, help="Seconds between passes.")
@click.option("--batch", default=50, show_default=True, help="Rows leased per batch.")
@click.option(
    "--now", "frozen_now", default=None, help="Run on a frozen clock at this ISO instant (simulations and tests)."
)
@click.option("--worker-id", default=None, help="Lease owner name (default host:pid).")
@click.option(
    "--pass-seconds",
    default=60.0,
    show_default=True,
    help="Watchdog: a pass stops taking new items after this long (the rest waits for the next).",
)
@click.option(
    "--item-seconds",
    default=30.0,
    show_default=True,
    help="Watchdog: one dossier, step or message running longer is stopped and counts as a failure.",
)
def worker_command(
    once: bool,
    poll: float,
    batch: int,
    frozen_now: str | None,
    worker_id: str | None,
    pass_seconds: float,
    item_seconds: float,
) -> None:
    """Fire due BPMN timers and deliver the outbox (e-mail when MOTCUA_SMTP_HOST is set).

    Any number of workers may run against PostgreSQL; on SQLite run one.
    """
    logs.configure()
    try:
        secret_box.check_configured()  # it decrypts the providers' secrets for every message
    except secret_box.SecretKeyMissing as exc:
        raise click.ClickException(str(exc)) from None
    clock = FrozenClock(datetime.fromisoformat(frozen_now)) if frozen_now else clock_from_env()
    # The signed results go where the web app keeps files: instance/documents unless configured.
    rt = Runtime(db=Database.from_env(), clock=clock, documents=store_from_environment(Path("instance") / "documents"))
    if worker_id:
        rt.worker_id = worker_id
    channels = default_channels(_smtp_from_env())
    watchdog = Watchdog(pass_seconds=pass_seconds, item_seconds=item_seconds)
    # SIGTERM/SIGINT: stop taking items at once, give the item in hand a few seconds, release the rest.
    signal.signal(signal.SIGTERM, lambda *_: watchdog.hurry(STOP_GRACE_SECONDS))
    signal.signal(signal.SIGINT, lambda *_: watchdog.hurry(STOP_GRACE_SECONDS))
    if once:
        click.echo(worker.run_once(rt, channels, batch, watchdog))
        return
    boot.settle()  # a long-running process from here on, as a served web worker
    click.echo(f"worker {rt.worker_id} polling every {poll}s")
    worker.run_forever(rt, channels, poll_seconds=poll, batch=batch, watchdog=watchdog)
