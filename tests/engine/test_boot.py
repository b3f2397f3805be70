"""A long-running process leaves what it built while booting out of the cyclic collector's walks
(engine.boot.settle): a full collection during a dossier's completion then walks only what the
work itself created. The served web worker's side: tests/web/test_serve_worker.py."""

from __future__ import annotations

import gc

from click.testing import CliRunner

from engine.commands.worker import worker_command
from engine.services import worker


def test_the_background_worker_freezes_its_boot_heap_before_it_polls(monkeypatch, tmp_path):
    frozen_when_polling = []
    monkeypatch.setattr(
        worker, "run_forever", lambda *args, **kwargs: frozen_when_polling.append(gc.get_freeze_count())
    )
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'motcua.sqlite3'}")
    gc.unfreeze()
    try:
        done = CliRunner().invoke(worker_command, ["--poll", "1"])
    finally:
        gc.unfreeze()  # the rest of the suite runs with the collector as it was
    assert done.exit_code == 0, done.output
    assert frozen_when_polling and frozen_when_polling[0] > 10_000
