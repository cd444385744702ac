"""The readings of the chilled zones, read back for the inspector and thinned with age.

Every sample is one row of ``temperature`` (written with the service's other
changes, so a power cut loses none that were answered for). Past a week the
samples of each 5-minute slot are merged into one row (mean, min, max and how
many); past ``KEEP_DAYS`` they go. Readings are evidence: they are kept at
least a year whatever the other retention settings (decision 29).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from sqlalchemy import Engine

from locker.store.convert import utc_text

RAW_DAYS = 7  # samples kept one by one this long
BUCKET_S = 300  # then merged into slots of this length
KEEP_DAYS = 400  # and dropped after this (privacy.temperature_days: a year at least)


@dataclass(frozen=True, slots=True)
class Row:
    zone: str
    at: datetime
    celsius: float | None  # a merged slot: the mean of its trustworthy samples
    fault: str | None
    min_c: float | None
    max_c: float | None
    samples: int


class TemperatureLog:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def readings(
        self, zone: str | None, start: datetime, end: datetime, limit: int = 100_000
    ) -> list[Row]:
        """Rows of ``zone`` (every zone: None) with ``start <= at < end``, oldest first; at
        most ``limit`` of them."""
        return next(self.pages(zone, start, end, limit), [])

    def pages(
        self, zone: str | None, start: datetime, end: datetime, size: int = 10_000
    ) -> Iterator[list[Row]]:
        """Every row of ``zone`` from ``start`` to ``end``, ``size`` at a time (the CSV of a
        year, without holding it in memory)."""
        sql = (
            "SELECT id, zone, at, celsius, fault, min_c, max_c, samples FROM temperature "
            "WHERE at < ? AND (? IS NULL OR zone = ?) AND (at > ? OR (at = ? AND id > ?)) "
            "ORDER BY at, id LIMIT ?"
        )
        after, after_id, until = utc_text(start), -1, utc_text(end)
        while True:
            with self._engine.connect() as conn:
                args = (until, zone, zone, after, after, after_id, size)
                found = conn.exec_driver_sql(sql, args).all()
            if not found:
                return
            yield [
                Row(z, datetime.fromisoformat(at), c, f, lo, hi, n)
                for _, z, at, c, f, lo, hi, n in found
            ]
            if len(found) < size:
                return
            after_id, after = found[-1][0], found[-1][2]

    def compact(self, now: datetime, batch: int = 2_000, keep_days: int = KEEP_DAYS) -> int:
        """Merge up to ``batch`` samples older than a week into 5-minute slots and drop
        what is older than ``KEEP_DAYS``; answers how many rows went (0: nothing left to
        do). Small batches, so the writer is never held for long."""
        horizon = utc_text(now - timedelta(days=RAW_DAYS))
        too_old = utc_text(now - timedelta(days=keep_days))
        with self._engine.begin() as conn:
            dropped = conn.exec_driver_sql(
                "DELETE FROM temperature WHERE id IN (SELECT id FROM temperature "
                "WHERE at < ? ORDER BY at LIMIT ?)",
                (too_old, batch),
            ).rowcount
            raw = conn.exec_driver_sql(
                "SELECT id, zone, at, celsius, fault FROM temperature "
                "WHERE at < ? AND bucket_s = 0 "
                "ORDER BY at LIMIT ?",
                (horizon, batch),
            ).all()
            if not raw:
                return dropped
            slots: dict[tuple[str, int], list[tuple[int, float | None, str | None]]] = {}
            for rid, zone, at, celsius, fault in raw:
                stamp = int(datetime.fromisoformat(at).timestamp()) // BUCKET_S * BUCKET_S
                slots.setdefault((zone, stamp), []).append((rid, celsius, fault))
            merged = []
            for (zone, stamp), rows in slots.items():
                row = _merge(zone, stamp, rows)
                at = row.at
                earlier = conn.exec_driver_sql(  # a slot begun by the previous batch
                    "SELECT id, zone, at, celsius, fault, min_c, max_c, samples FROM temperature"
                    " WHERE zone = ? AND at = ? AND bucket_s = ?",
                    (zone, at, BUCKET_S),
                ).first()
                if earlier is not None:
                    conn.exec_driver_sql("DELETE FROM temperature WHERE id = ?", (earlier[0],))
                    row = _combine(row, Slot(*earlier[1:]))
                merged.append(row)
            conn.exec_driver_sql(
                "DELETE FROM temperature WHERE id = ?", [(rid,) for rid, *_ in raw]
            )
            conn.exec_driver_sql(
                "INSERT INTO temperature "
                "(zone, at, celsius, fault, min_c, max_c, samples, bucket_s) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                merged,
            )
        return dropped + len(raw) - len(merged)


class Slot(NamedTuple):
    """A merged row: the samples of one zone in one 5-minute slot."""

    zone: str
    at: str
    celsius: float | None  # the mean of its trustworthy samples
    fault: str | None  # a slot with any fault keeps it: the gap stays on the record
    min_c: float | None
    max_c: float | None
    samples: int
    bucket_s: int = BUCKET_S


def _merge(zone: str, stamp: int, rows: list[tuple[int, float | None, str | None]]) -> Slot:
    values = [c for _, c, _ in rows if c is not None]
    fault = next((f for _, _, f in rows if f is not None), None)
    at = utc_text(datetime.fromtimestamp(stamp, UTC))
    if not values:
        return Slot(zone, at, None, fault or "missing", None, None, len(rows))
    mean = round(sum(values) / len(values), 3)
    return Slot(zone, at, mean, fault, min(values), max(values), len(rows))


def _combine(new: Slot, old: Slot) -> Slot:
    """A slot's new samples merged with its row from an earlier batch."""
    valued = [(s.celsius, s.samples) for s in (new, old) if s.celsius is not None]
    weight = sum(w for _, w in valued)
    lows = [v for v in (new.min_c, old.min_c) if v is not None]
    highs = [v for v in (new.max_c, old.max_c) if v is not None]
    return new._replace(
        celsius=round(sum(c * w for c, w in valued) / weight, 3) if valued else None,
        fault=new.fault or old.fault,
        min_c=min(lows, default=None),
        max_c=max(highs, default=None),
        samples=new.samples + old.samples,
    )
