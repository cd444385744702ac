"""Checkpoints run from the ticker, not inside a request's commit."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from locker.runtime import build
from tests.conftest import FAST_DOORS, NO_MQTT
from tests.helpers import book, settings_for, wait_for


def rows_in_the_database_file(db: Path, tmp: Path) -> int:
    """Reservations in the main file alone, as if the write-ahead log were lost."""
    copy = tmp / "main-file-only.db"
    shutil.copy(db, copy)
    with sqlite3.connect(copy) as conn:
        return int(conn.execute("SELECT count(*) FROM reservation").fetchone()[0])


def test_the_ticker_copies_the_log_into_the_database(tmp_path: Path) -> None:
    runtime = build(settings_for(tmp_path, doors=FAST_DOORS, mqtt=NO_MQTT), simulate=True)
    db = Path(runtime.settings.storage.path)
    with runtime.engine.connect() as conn:  # a commit alone checkpoints only past 40 MB
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 10_000
    for n in range(3):
        book(runtime.service, runtime.service._clock.now(), rid=f"R-{n}")
    assert rows_in_the_database_file(db, tmp_path) == 0  # in the log only
    runtime.start()
    try:
        wait_for(
            lambda: rows_in_the_database_file(db, tmp_path) == 3,
            timeout=30,
            what="the ticker's checkpoint",
        )
    finally:
        runtime.stop()
