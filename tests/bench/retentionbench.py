"""The retention sweep's cost (issue 19): a database of ``count`` final reservations,
ended 31 days to three years ago, with their events (sent), swept to the end; and the
pickup -> relay latency while the sweep runs back to back, beside the same database
left alone. The database is seeded in SQL from reservations made through the service
(rows the service wrote, copied), then the real service runs on it."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from locker.privacy.retention import Retention
from locker.runtime import Runtime, build
from tests.bench import inproc
from tests.bench.layout import settings, write_layout
from tests.bench.seed import deposit

SPAN_DAYS = 3 * 365  # the oldest ended three years ago, the newest 31 days ago


def seed(workdir: Path, count: int) -> Path:
    """``workdir/locker.db`` with ``count`` final reservations past their personal-data
    days (collected, each as one collected through the service) and their events, all
    acknowledged by the broker; answers the layout."""
    layout = write_layout(workdir, generated=0)
    runtime = build(settings(workdir, layout), simulate=True)
    try:
        cid, code = deposit(runtime, "TPL-C")
        runtime.service.pickup("kiosk-0@bench", code)
        runtime.service.door_changed(cid, True)
        runtime.service.door_changed(cid, False)
    finally:
        runtime.stop()
    _multiply(workdir / "locker.db", count)
    return layout


def _multiply(db: Path, count: int) -> None:
    now = datetime.now(UTC)
    conn = sqlite3.connect(db)
    try:
        cols = [r[1] for r in conn.execute("PRAGMA table_info(reservation)")]
        states = dict(conn.execute("SELECT id, state FROM reservation"))
        assert states.get("TPL-C") == "collected", states
        changed = {"id", "recipient", "reference", "closed_at", "updated_at"}
        kept = [c for c in cols if c not in changed]
        ecols = [r[1] for r in conn.execute("PRAGMA table_info(event)")]
        ekept = [c for c in ecols if c not in {"seq", "event_id", "reservation_id", "at"}]
        oldest = now - timedelta(days=SPAN_DAYS)
        step_s = (SPAN_DAYS - 31) * 86_400 / count
        conn.execute("CREATE TEMP TABLE n(i INTEGER PRIMARY KEY, closed TEXT)")
        conn.executemany(
            "INSERT INTO n VALUES (?, ?)",
            ((i, (oldest + timedelta(seconds=i * step_s)).isoformat()) for i in range(count)),
        )
        conn.execute(
            f"INSERT INTO reservation (id, recipient, reference, closed_at, updated_at, "
            f"{', '.join(kept)}) SELECT 'OLD-' || n.i, 'apt-' || n.i || '-b', "
            f"'COLIS ' || n.i || '-b', "
            f"n.closed, n.closed, {', '.join(kept)} FROM n, reservation r WHERE r.id = 'TPL-C'"
        )
        conn.execute(
            f"INSERT INTO event (event_id, reservation_id, at, {', '.join(ekept)}) "
            f"SELECT lower(hex(randomblob(16))), 'OLD-' || n.i, n.closed, "
            f"{', '.join('e.' + c for c in ekept)} FROM n, event e "
            "WHERE e.reservation_id = 'TPL-C' ORDER BY n.i, e.seq"
        )
        conn.execute("UPDATE event SET sent_at = at, sealed_secrets = NULL")
        conn.commit()
    finally:
        conn.close()


def _without_sweep(runtime: Runtime) -> None:
    """Take the service's own sweep off its ticker: the figure runs its own."""
    chores = runtime.ticker.chores
    chores[:] = [c for c in chores if not isinstance(getattr(c._work, "__self__", None), Retention)]


class _Sweeper(threading.Thread):
    """Sweeps back to back, each run with the service's budget, until nothing is left."""

    def __init__(self, runtime: Runtime) -> None:
        super().__init__(daemon=True)
        self.retention = Retention(runtime.settings.privacy, runtime.service, runtime.store)
        self.erased = self.events = 0
        self.elapsed_s = 0.0
        self.done = threading.Event()

    def run(self) -> None:
        start = time.monotonic()
        while True:
            swept = self.retention.sweep()
            self.erased += swept.erased
            self.events += swept.events
            if swept.done:
                break
        self.elapsed_s = time.monotonic() - start
        self.done.set()


@dataclass
class Sampled:
    latencies_ms: list[float]  # pickup -> relay
    sweep_s: float = 0.0  # the whole sweep, when one ran
    erased: int = 0
    events_deleted: int = 0


def run(seeded: Path, workdir: Path, pickups: int, sweeping: bool) -> Sampled:
    """On a copy of ``seeded``: up to ``pickups`` pickup -> relay latencies (ms); when
    ``sweeping``, taken while the sweep runs (fewer if it ends first), and how long the
    whole sweep took and what it removed."""
    shutil.rmtree(workdir, ignore_errors=True)
    shutil.copytree(seeded, workdir)
    runtime = build(settings(workdir, workdir / "bench.toml"), simulate=True)
    _without_sweep(runtime)
    runtime.start()
    try:
        sweeper = _Sweeper(runtime)
        if sweeping:
            sweeper.start()
        until = sweeper.done.is_set if sweeping else None
        found = Sampled(asyncio.run(inproc.timed_pickups(runtime, pickups, until=until)))
        if sweeping:
            sweeper.done.wait(3600)
            found.sweep_s, found.erased = sweeper.elapsed_s, sweeper.erased
            found.events_deleted = sweeper.events
        return found
    finally:
        runtime.stop()
