"""A database made by an older release opens without loss; the schema matches the models."""

from __future__ import annotations

import dataclasses
import sqlite3
from pathlib import Path

import pytest
from sqlmodel import Session, SQLModel, select

from locker.domain.model import Kind, Size
from locker.store import convert, migrations
from locker.store.sqlite import open_engine
from locker.store.tables import ReservationRow
from tests.conftest import Harness
from tests.helpers import book
from tests.test_lifecycle import deposit_and_close, types, upsert
from tests.test_privacy import raw


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


def kinds(value: object) -> object:
    """The Python type of every field, down into the codes: what a reader gets back."""
    if dataclasses.is_dataclass(value):
        return {f.name: kinds(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return type(value)


def test_the_plain_sql_path_stores_and_reads_what_sqlalchemy_does(harness: Harness) -> None:
    service = harness.service
    book(service, harness.clock.now(), kind=Kind.DROPOFF, chilled=True, recipient=None)
    service.cancel("R-1")  # final: read from the database alone (find_reservation)
    plain = harness.store.find_reservation("R-1")
    assert plain is not None
    with Session(harness.engine) as s:
        orm = convert.reservation_from(s.exec(select(ReservationRow)).one())
        s.add(ReservationRow.model_validate({**convert.reservation_row(orm), "id": "R-2"}))
        s.commit()  # a copy written by SQLAlchemy, as before the plain SQL
    assert plain == orm and kinds(plain) == kinds(orm)  # bools as bools, None as None
    assert plain.chilled is True and plain.deposit_code is not None
    with sqlite3.connect(harness.tmp / "locker.db") as conn:
        cols = ", ".join(f"typeof({c}), {c}" for c in columns(conn, "reservation")[1:])
        query = f"SELECT {cols} FROM reservation WHERE id = ?"
        stored = [conn.execute(query, (rid,)).fetchone() for rid in ("R-1", "R-2")]
    assert stored[0] == stored[1]  # the same storage classes and values, column by column


def test_a_file_of_an_earlier_release_is_scrubbed_once_at_the_upgrade(tmp_path: Path) -> None:
    """Files written before secure_delete (schema < 8) keep old copies of rows in their
    free pages: the upgrade rewrites the file once, and those copies are gone (issue 19)."""
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA secure_delete=OFF")  # as release 7 wrote it
    migrations.migrate(conn, target=7)
    conn.execute("CREATE TABLE scratch (x TEXT)")  # a table of the release's own, dropped
    conn.executemany("INSERT INTO scratch VALUES (?)", [("foyer-secret-5511" * 40,)] * 50)
    conn.execute("DROP TABLE scratch")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    assert b"foyer-secret-5511" in path.read_bytes()  # in the free pages: the test can fail
    open_engine(path).dispose()
    assert b"foyer-secret-5511" not in raw(path)
    check = sqlite3.connect(path)
    assert migrations.current_version(check) == migrations.LATEST
    check.close()
