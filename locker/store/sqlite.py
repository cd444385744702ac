"""The SQLite repository: WAL journal, full sync, one transaction per state change."""

from __future__ import annotations

import functools
import json
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, event
from sqlmodel import Session, col, create_engine, func, select

from locker.domain.model import Compartment, Event, Reservation
from locker.domain.ports import Changes, CodeSealer, CommandOutcome, Snapshot
from locker.durable import make_dirs
from locker.store import convert, migrations
from locker.store.tables import (
    CommandRow,
    CompartmentRow,
    EventRow,
    Meta,
    OpeningRow,
    ReservationRow,
    TerminalRow,
    ZoneRow,
)

_HOLDING = ("accepted", "deposited", "held")
_BOOLEANS = [n for n, f in ReservationRow.model_fields.items() if f.annotation is bool]


def _pragmas(dbapi_conn: sqlite3.Connection, _record: object) -> None:
    cur = dbapi_conn.cursor()
    # NOTE: WAL lets readers (the API, the publisher) run beside the writer.
    # synchronous=FULL fsyncs the WAL at every commit: a pickup that was
    # answered survives a power cut. NORMAL would be faster but may lose the
    # last transactions when the power goes, which we cannot accept here.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    # NOTE: checkpoints off the requests' path: SQLite's default (every 1,000 pages)
    # puts a copy of the log and a sync of the database file on one request in thirty.
    # The ticker checkpoints once a second (SqliteStore.checkpoint); a commit does it
    # only past 10,000 pages (40 MB), should the ticker not run (tools, tests).
    cur.execute("PRAGMA wal_autocheckpoint=10000")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA foreign_keys=ON")
    # NOTE: what is deleted or rewritten is overwritten with zeros, free pages too: an
    # erased recipient is not left behind in the file (issue 19; see checkpoint).
    cur.execute("PRAGMA secure_delete=ON")
    cur.close()


def open_engine(path: Path) -> Engine:
    """Open (creating and migrating as needed) the database at ``path``."""
    make_dirs(path.parent)  # its name synced: the database's own syncs cover the rest
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        found = migrations.migrate(conn)
        if 0 < found < migrations.SECURE_DELETE:
            migrations.scrub(conn)
    finally:
        conn.close()
    # hide_parameters: an error's text never carries a row's values (a recipient) to a log
    engine = create_engine(
        f"sqlite:///{path}", connect_args={"check_same_thread": False}, hide_parameters=True
    )
    event.listen(engine, "connect", _pragmas)
    return engine


@functools.cache
def _upsert_sql(table: str, columns: tuple[str, ...], key: str) -> str:
    """One ``INSERT ... ON CONFLICT DO UPDATE`` per table and column set, built once:
    the write path of every pickup, kept off SQLAlchemy's statement compiler."""
    names = ", ".join(columns)
    marks = ", ".join(f":{c}" for c in columns)
    sets = ", ".join(f"{c} = excluded.{c}" for c in columns if c != key)
    # Names come from our own table definitions (convert.py), never from input.
    return (
        f"INSERT INTO {table} ({names}) VALUES ({marks}) "  # noqa: S608
        f"ON CONFLICT ({key}) DO UPDATE SET {sets}"
    )


@functools.cache
def _insert_sql(table: str, columns: tuple[str, ...]) -> str:
    marks = ", ".join(f":{c}" for c in columns)
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"  # noqa: S608


def _upsert(conn: Connection, table: str, rows: list[dict[str, Any]], key: str) -> None:
    if rows:
        conn.exec_driver_sql(_upsert_sql(table, tuple(rows[0]), key), rows)


def _insert(conn: Connection, table: str, rows: list[dict[str, Any]]) -> None:
    if rows:
        conn.exec_driver_sql(_insert_sql(table, tuple(rows[0])), rows)


Ages = Sequence[tuple[str, str]]  # (event type LIKE pattern, delete when older than)


class SqliteStore:
    def __init__(self, engine: Engine, sealer: CodeSealer) -> None:
        self._engine = engine
        self._sealer = sealer
        # personal data were erased: the next checkpoint copies the whole log into the
        # file and truncates it, so their former pages are gone from the WAL too
        self._scrubs_asked = 0  # commits that erased or purged some
        self._scrubbed = 0  # of those, the ones a truncating checkpoint followed

    # -- loading ------------------------------------------------------------
    def load(self, specs: Iterable[Compartment]) -> Snapshot:
        with Session(self._engine) as s:
            rows = {r.id: r for r in s.exec(select(CompartmentRow))}
            compartments = {
                c.id: convert.compartment_from(rows[c.id], c) if c.id in rows else c for c in specs
            }
            reservations = {
                r.id: convert.reservation_from(r)
                for r in s.exec(
                    select(ReservationRow).where(
                        col(ReservationRow.state).in_(_HOLDING)
                        | (
                            (col(ReservationRow.state) == "expired")
                            & col(ReservationRow.deposited_at).is_not(None)
                        )
                    )
                )
            }
            openings = {o.compartment: convert.opening_from(o) for o in s.exec(select(OpeningRow))}
            terminals = {t.key: convert.terminal_from(t.state) for t in s.exec(select(TerminalRow))}
            last_seq = s.exec(select(func.max(EventRow.seq))).one() or 0
            meta = {m.key: m.value for m in s.exec(select(Meta))}
            zones = {z.id: convert.zone_from(z.state) for z in s.exec(select(ZoneRow))}
        return Snapshot(compartments, reservations, openings, terminals, int(last_seq), meta, zones)

    # -- writing ------------------------------------------------------------
    def commit(self, changes: Changes) -> None:
        self.commit_all([changes])

    def commit_all(self, batch: Sequence[Changes]) -> None:
        """One transaction, one disk sync, for the changes of several operations."""
        with self._engine.begin() as conn:
            for changes in batch:
                self._write(conn, changes)
        if any(e.type == "reservation.erased" for c in batch for e in c.events):
            self._scrubs_asked += 1

    def _write(self, conn: Connection, changes: Changes) -> None:
        _upsert(
            conn,
            "reservation",
            [convert.reservation_row(r) for r in changes.reservations.values()],
            "id",
        )
        _upsert(
            conn,
            "compartment",
            [convert.compartment_row(c) for c in changes.compartments.values()],
            "id",
        )
        closed = [(cid,) for cid, opening in changes.openings.items() if opening is None]
        if closed:
            conn.exec_driver_sql("DELETE FROM opening WHERE compartment = ?", closed)
        _upsert(
            conn,
            "opening",
            [convert.opening_row(o) for o in changes.openings.values() if o is not None],
            "compartment",
        )
        gone = [(key,) for key, terminal in changes.terminals.items() if terminal is None]
        if gone:
            conn.exec_driver_sql("DELETE FROM terminal WHERE key = ?", gone)
        _upsert(
            conn,
            "terminal",
            [
                {"key": key, "state": convert.terminal_json(terminal)}
                for key, terminal in changes.terminals.items()
                if terminal is not None
            ],
            "key",
        )
        _upsert(conn, "meta", [{"key": k, "value": v} for k, v in changes.meta.items()], "key")
        _upsert(
            conn,
            "zone",
            [{"id": z.zone, "state": convert.zone_json(z)} for z in changes.zones.values()],
            "id",
        )
        _insert(conn, "temperature", [convert.reading_row(r) for r in changes.readings])
        _insert(
            conn,
            "event",
            [convert.event_row(e, self._seal_secrets(e)) for e in changes.events],
        )
        at = changes.events[-1].at.isoformat() if changes.events else ""
        _insert(
            conn,
            "command",
            [
                {
                    "request_id": rid,
                    "at": at,
                    "command": outcome.command,
                    "outcome": outcome.outcome,
                    "reason": outcome.reason,
                }
                for rid, outcome in changes.commands.items()
            ],
        )

    def _seal_secrets(self, event: Event) -> str | None:
        if not event.secrets:
            return None
        return self._sealer.seal(json.dumps(event.secrets))

    # -- lookups ------------------------------------------------------------
    def find_reservation(self, reservation_id: str) -> Reservation | None:
        # NOTE: asked for every new reservation id (is it a final one?): plain SQL,
        # as on the commit path.
        with self._engine.connect() as conn:
            found = conn.exec_driver_sql(
                "SELECT * FROM reservation WHERE id = ?", (reservation_id,)
            ).first()
        if found is None:
            return None
        values = found._asdict()
        for name in _BOOLEANS:  # SQLite hands back 0 and 1, as SQLAlchemy does not
            values[name] = bool(values[name])
        return convert.reservation_from(ReservationRow.model_construct(**values))

    def find_by_digest(self, digest: str) -> Reservation | None:
        with Session(self._engine) as s:
            row = s.exec(
                select(ReservationRow).where(
                    (col(ReservationRow.pickup_digest) == digest)
                    | (col(ReservationRow.deposit_digest) == digest)
                    | (col(ReservationRow.delegate_digest) == digest)
                )
            ).first()
            return None if row is None else convert.reservation_from(row)

    def command_outcome(self, request_id: str) -> CommandOutcome | None:
        with Session(self._engine) as s:
            row = s.get(CommandRow, request_id)
            if row is None:
                return None
            return CommandOutcome(row.command or "unknown", row.outcome or "done", row.reason)

    def events(self, after_seq: int, limit: int, reveal: bool = False) -> list[Event]:
        """Events after ``after_seq``. ``reveal`` unseals code fields not yet masked
        (for the publisher); otherwise they read ``********``."""
        with Session(self._engine) as s:
            rows = s.exec(
                select(EventRow)
                .where(EventRow.seq > after_seq)
                .order_by(col(EventRow.seq))
                .limit(limit)
            )
            return [convert.event_from(r, self._unseal(r) if reveal else None) for r in rows]

    def with_personal_data(self, ended_before: str, limit: int) -> list[str]:
        """Final reservations that ended before ``ended_before`` (UTC text) and still hold
        a recipient or a reference: the retention sweep's next batch (a range of the
        partial index of those rows, which an erased one leaves)."""
        with self._engine.connect() as conn:
            rows = conn.exec_driver_sql(
                "SELECT id FROM reservation INDEXED BY ix_reservation_personal "
                "WHERE closed_at IS NOT NULL AND closed_at < ? "
                "AND state IN ('collected', 'returned', 'cancelled', 'expired') "
                "AND (recipient IS NOT NULL OR reference IS NOT NULL) "
                "ORDER BY closed_at LIMIT ?",
                (ended_before, limit),
            ).all()
        return [str(r[0]) for r in rows]

    def purge_events(self, before: str, limit: int, ages: Ages = ()) -> int:
        """Delete up to ``limit`` events the broker has acknowledged, the oldest first:
        those of a type matching one of ``ages`` (a ``LIKE`` pattern, the first that
        matches) older than its time, the others older than ``before``; never an unsent
        one, never the newest (it numbers the next)."""
        whens = " ".join("WHEN type LIKE ? THEN at < ?" for _ in ages)
        aged = f"CASE {whens} ELSE at < ? END" if ages else "at < ?"
        upper = max([before, *(at for _, at in ages)])
        # the CASE is made of placeholders only; the oldest first, a range of ix_event_at
        sql = (
            "DELETE FROM event WHERE seq IN (SELECT seq FROM event WHERE at < ? "  # noqa: S608
            "AND sent_at IS NOT NULL AND seq < (SELECT max(seq) FROM event) "
            f"AND {aged} ORDER BY at LIMIT ?)"
        )
        args = (upper, *(x for age in ages for x in age), before, limit)
        with self._engine.begin() as conn:
            gone = conn.exec_driver_sql(sql, args).rowcount
        if gone:
            self._scrubs_asked += 1  # their pages, out of the WAL too
        return int(gone)

    def events_of(self, reservation_id: str) -> list[Event]:
        """Every logged event about one reservation, in ``seq`` order, codes masked
        (an export of what the locker holds: :mod:`api.routes.privacy`)."""
        with Session(self._engine) as s:
            rows = s.exec(
                select(EventRow)
                .where(EventRow.reservation_id == reservation_id)
                .order_by(col(EventRow.seq))
            )
            return [convert.event_from(r, None) for r in rows]

    # -- the outbox ---------------------------------------------------------
    def unsent(self, after_seq: int, limit: int) -> list[Event]:
        """Events not yet acknowledged by the broker, in ``seq`` order, codes unsealed."""
        with Session(self._engine) as s:
            rows = s.exec(
                select(EventRow)
                .where(EventRow.seq > after_seq, col(EventRow.sent_at).is_(None))
                .order_by(col(EventRow.seq))
                .limit(limit)
            )
            return [convert.event_from(r, self._unseal(r)) for r in rows]

    def mark_sent(self, seqs: list[int], at: str) -> None:
        """The broker acknowledged these events: keep them as the audit log, codes masked."""
        if not seqs:
            return
        table = EventRow.__table__  # type: ignore[attr-defined]
        with Session(self._engine) as s, s.begin():
            s.execute(
                table.update().where(table.c.seq.in_(seqs)).values(sent_at=at, sealed_secrets=None)
            )

    def checkpoint(self) -> None:
        """Copy the write-ahead log into the database, without waiting for readers or
        writers (PASSIVE); what cannot be copied now is copied next time. After an
        erasure, all of it, and the log truncated to nothing (TRUNCATE): the erased
        values' former pages are then in neither file."""
        asked = self._scrubs_asked
        scrub = asked != self._scrubbed
        with self._engine.connect() as conn:
            mode = "TRUNCATE" if scrub else "PASSIVE"
            busy = conn.exec_driver_sql(f"PRAGMA wal_checkpoint({mode})").fetchone()
        if scrub and busy is not None and busy[0] == 0:
            self._scrubbed = asked

    def backlog(self) -> int:
        with Session(self._engine) as s:
            count = s.exec(
                select(func.count()).select_from(EventRow).where(col(EventRow.sent_at).is_(None))
            ).one()
            return int(count)

    def _unseal(self, row: EventRow) -> dict[str, str] | None:
        if row.sealed_secrets is None:
            return None
        secrets: dict[str, str] = json.loads(self._sealer.unseal(row.sealed_secrets))
        return secrets
