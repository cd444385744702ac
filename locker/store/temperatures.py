"""The readings of the chilled zones, read back for the inspector and thinned with age.

Every sample is one row of ``temperature`` (written with the service's other
changes, so a power cut loses none that were answered for). Past a week the
samples of each 5-minute slot are merged into one row (mean, min, max and how
many); past ``KEEP_DAYS`` they go. Readings are evidence: they are kept at
least a year whatever the other retention settings (decision 29).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from locker.store.convert import utc_text

RAW_DAYS = 7  # samples kept one by one this long
BUCKET_S = 300  # then merged into slots of this length
KEEP_DAYS = 400  # and dropped after this (more than the year decision 29 asks)


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
        """Rows of ``zone`` (every zone: None) with ``start <= at < end``, oldest first."""
        sql = (
            "SELECT zone, at, celsius, fault, min_c, max_c, samples FROM temperature "
            "WHERE at >= ? AND at < ? AND (? IS NULL OR zone = ?) ORDER BY at, id LIMIT ?"
        )
        args = (utc_text(start), utc_text(end), zone, zone, limit)
        with self._engine.connect() as conn:
            found = conn.exec_driver_sql(sql, args).all()
        return [
            Row(z, datetime.fromisoformat(at), c, f, lo, hi, n) for z, at, c, f, lo, hi, n in found
        ]

    def compact(self, now: datetime, batch: int = 2_000) -> int:
        """Merge up to ``batch`` samples older than a week into 5-minute slots and drop
        what is older than ``KEEP_DAYS``; answers how many rows went (0: nothing left to
        do). Small batches, so the writer is never held for long."""
        horizon = utc_text(now - timedelta(days=RAW_DAYS))
        too_old = utc_text(now - timedelta(days=KEEP_DAYS))
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
            merged = [_merge(zone, stamp, rows) for (zone, stamp), rows in slots.items()]
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


def _merge(
    zone: str, stamp: int, rows: list[tuple[int, float | None, str | None]]
) -> tuple[object, ...]:
    """One slot's row. A slot with any fault keeps it: the gap stays on the record."""
    values = [c for _, c, _ in rows if c is not None]
    fault = next((f for _, _, f in rows if f is not None), None)
    at = utc_text(datetime.fromtimestamp(stamp, UTC))
    if not values:
        return (zone, at, None, fault or "missing", None, None, len(rows), BUCKET_S)
    mean = round(sum(values) / len(values), 3)
    return (zone, at, mean, fault, min(values), max(values), len(rows), BUCKET_S)
