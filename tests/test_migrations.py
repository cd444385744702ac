"""A database made by an older release opens without loss; the schema matches the models."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlmodel import SQLModel

from locker.domain.model import Size
from locker.store import migrations
from locker.store.sqlite import open_engine
from tests.conftest import Harness
from tests.test_lifecycle import deposit_and_close, types, upsert


def columns(conn: sqlite3.Connection, table: str) -> list[str]:
    return [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]


def test_schema_matches_the_sqlmodel_tables(tmp_path: Path) -> None:
    open_engine(tmp_path / "db.sqlite").dispose()
    conn = sqlite3.connect(tmp_path / "db.sqlite")
    assert migrations.current_version(conn) == migrations.LATEST
    for table in SQLModel.metadata.sorted_tables:
        assert sorted(columns(conn, table.name)) == sorted(c.name for c in table.columns), table
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


FROZEN_V1 = Path(__file__).parent / "data" / "schema_v1.sql"


def schema(path: Path) -> dict[str, list[tuple[str, str, int]]]:
    conn = sqlite3.connect(path)
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    out = {
        t: sorted((r[1], r[2], r[3]) for r in conn.execute(f"PRAGMA table_info({t})"))
        for t in tables
    }
    conn.close()
    return out


def make_v1_copy(source: Path, target: Path) -> None:
    """Write ``source``'s data into a schema-1 database, as release 0.1.0 would have."""
    old = sqlite3.connect(target, isolation_level=None)
    old.executescript(FROZEN_V1.read_text())
    old.execute("PRAGMA user_version = 1")
    old.execute("ATTACH DATABASE ? AS src", (str(source),))
    for table in ("meta", "compartment", "reservation", "opening", "event"):
        cols = ", ".join(columns(old, table))
        old.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM src.{table}")
    old.execute("DETACH DATABASE src")
    old.close()


def test_version_1_database_opens_without_loss(tmp_path: Path) -> None:
    new_dir, old_dir = tmp_path / "new", tmp_path / "old"
    new_dir.mkdir()
    old_dir.mkdir()
    h = Harness(new_dir)
    upsert(h, "R-1")
    code = deposit_and_close(h, "R-1")
    upsert(h, "R-2", size=Size.L)
    before = types(h)
    h.engine.dispose()
    make_v1_copy(new_dir / "locker.db", old_dir / "locker.db")
    conn = sqlite3.connect(old_dir / "locker.db")
    assert migrations.current_version(conn) == 1
    assert "sent_at" not in columns(conn, "event")
    conn.close()

    old = Harness(old_dir)  # same key as h; opening runs the migration
    assert types(old) == before
    assert old.service.reservation("R-2").compartment == "A2"  # type: ignore[union-attr]
    assert old.service.pickup("kiosk-0@local", code) == "A3"
    assert [e.seq for e in old.store.events(0, 100)] == list(range(1, len(before) + 2))
    conn = sqlite3.connect(old_dir / "locker.db")
    assert migrations.current_version(conn) == migrations.LATEST
    old.engine.dispose()
    assert schema(old_dir / "locker.db") == schema(new_dir / "locker.db")


def test_a_newer_database_is_refused(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "db.sqlite")
    conn.execute(f"PRAGMA user_version = {migrations.LATEST + 1}")
    conn.close()
    with pytest.raises(RuntimeError, match="newer"):
        open_engine(tmp_path / "db.sqlite")
