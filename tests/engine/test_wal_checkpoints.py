"""SQLite's write-ahead log is copied back into the database file once it holds
WAL_CHECKPOINT_PAGES pages (engine.store.database): not four times as often, as SQLite's default
would (each copy waits for two fsyncs), and not never: a busy office's WAL stays bounded."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import Column
from sqlalchemy import Integer
from sqlalchemy import LargeBinary
from sqlalchemy import MetaData
from sqlalchemy import Table
from sqlalchemy import func
from sqlalchemy import select

from engine.store.database import WAL_CHECKPOINT_PAGES
from tests.factories import scratch_tables

_METADATA = MetaData()
_SCANS = Table("wal_checkpoint_scan", _METADATA, Column("id", Integer, primary_key=True), Column("body", LargeBinary))

PAGE = 4096
FRAME = PAGE + 24  # a WAL frame: its header, then the page


@pytest.fixture
def scans(sqlite_database):
    with scratch_tables(_METADATA, sqlite_database) as db:
        yield db


def _wal_pages(db) -> int:
    wal = Path(f"{db.engine.url.database}-wal")
    return (os.path.getsize(wal) - 32) // FRAME if wal.exists() else 0


def _write_pages(db, pages: int, start: int) -> int:
    """Commit changes of about twenty pages each (a scanned document per row) until `pages` pages
    were written; the next row's id."""
    row = start
    for _ in range(pages // 20):
        with db.session() as s:
            s.connection().execute(
                _SCANS.insert(), [{"id": row + n, "body": os.urandom(PAGE - 200)} for n in range(20)]
            )
        row += 20
    return row


def test_the_wal_holds_more_than_sqlites_default_before_it_is_copied_back(scans):
    _write_pages(scans, 2 * 1000, 1)  # twice SQLite's default threshold
    assert _wal_pages(scans) >= 2 * 1000  # no checkpoint yet: every commit's frames still there


def test_the_wal_is_copied_back_and_reused_so_it_stays_bounded(scans):
    row = _write_pages(scans, WAL_CHECKPOINT_PAGES + 400, 1)
    row = _write_pages(scans, WAL_CHECKPOINT_PAGES + 400, row)
    # Two rounds past the threshold: the file was rewound after a checkpoint, never past one
    # round and a commit's frames.
    assert _wal_pages(scans) <= WAL_CHECKPOINT_PAGES + 100
    with scans.read_session() as s:
        assert s.scalar(select(func.count()).select_from(_SCANS)) == row - 1  # every row kept
