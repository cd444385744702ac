"""The retention sweep (issue 19, point 2) on a fixed clock and a real SQLite file:
personal data of final reservations blanked after ``personal_data_days``, the event
log thinned after ``event_log_days`` but never of an unsent event, and a sweep cut
short (a crash between batches) finished by the next one; and the real service killed
inside a batch."""

from __future__ import annotations

import signal
import sqlite3
import time
from contextlib import closing
from pathlib import Path

import pytest

from locker.config import ConfigError
from locker.privacy.config import PrivacyConfig
from locker.privacy.retention import BATCH, Retention
from tests.bench import retentionbench
from tests.coldkit import Cabinet
from tests.conftest import Harness
from tests.helpers import book, settings_for
from tests.procs import ServiceProcess
from tests.test_privacy import raw

DAY = 86_400.0
TERMINAL = "kiosk-0@127.0.0.1"
ERASED = "reservation.erased"


def collected(h: Harness, rid: str) -> None:
    book(h.service, h.clock.now(), rid=rid, recipient=f"apt-{rid}")
    cid = h.service.deposit_by_courier(rid)
    h.cycle_door(cid)
    res = h.service.reservation(rid)
    assert res is not None
    h.service.pickup(TERMINAL, h.service.codes_of(res)["pickup_code"])
    h.cycle_door(cid)
    done = h.service.reservation(rid)
    assert done is not None and done.state.value == "collected"


def sweeper(h: Harness, **config: int) -> Retention:
    return Retention(PrivacyConfig(**config), h.service, h.store)


def test_personal_data_go_after_their_days_and_not_before(harness: Harness) -> None:
    h = harness
    collected(h, "R-1")
    h.clock.advance(5 * DAY)
    book(h.service, h.clock.now(), rid="R-2", recipient="apt-2")
    h.service.cancel("R-2")
    book(h.service, h.clock.now(), rid="R-3", recipient="apt-3")  # still booked
    h.clock.advance(26 * DAY)  # R-1 ended 31 days ago, R-2 26
    swept = sweeper(h).sweep()
    assert (swept.erased, swept.done) == (1, True)
    r1, r2, r3 = (h.service.reservation(r) for r in ("R-1", "R-2", "R-3"))
    assert r1 is not None and (r1.recipient, r1.reference, r1.collected_by) == (None, None, None)
    assert r2 is not None and r2.recipient == "apt-2"
    assert r3 is not None and r3.recipient == "apt-3"
    erased = [e.reservation_id for e in h.service.events(0, 1000) if e.type == "reservation.erased"]
    assert erased == ["R-1"]
    h.clock.advance(5 * DAY)
    assert sweeper(h).sweep().erased == 1  # R-2 now; R-3 is live, never
    assert sweeper(h).sweep().erased == 0  # nothing left: said once


def test_old_events_go_once_sent_never_unsent_never_the_newest(harness: Harness) -> None:
    h = harness
    collected(h, "R-1")
    events = h.service.events(0, 1000)
    sent = [e.seq for e in events[: len(events) // 2]]
    h.store.mark_sent(sent, h.clock.now().isoformat())
    h.clock.advance(364 * DAY)
    assert sweeper(h, door_log_days=365).sweep().events == 0  # not a year old yet
    h.clock.advance(2 * DAY)
    swept = sweeper(h, door_log_days=365).sweep()
    assert swept.events == len(sent)
    left = [e.seq for e in h.store.events(0, 1000)]
    unsent = [e.seq for e in events if e.seq not in sent]
    assert not set(sent) & set(left) and set(unsent) <= set(left)  # the unsent stay
    assert [e.type for e in h.store.events(0, 1000)][-1] == "reservation.erased"  # R-1's
    h.store.mark_sent(left, h.clock.now().isoformat())
    h.clock.advance(366 * DAY)
    sweeper(h).sweep()
    assert [e.seq for e in h.store.events(0, 1000)] == [left[-1]]  # numbers the next one


def test_door_events_go_after_their_days_and_the_cold_chain_s_after_a_year(
    tmp_path: Path,
) -> None:
    """Door events are an access log (90 days); a fridge's alarm is evidence (decision 29):
    it outlives the event log itself when that is shorter."""
    box = Cabinet(tmp_path)
    try:
        box.book()
        cid = box.deposit("P-1")
        box.hold(9.0, 2)  # critical: temperature.alarm at once
        box.hold(3.0, 20)  # back: temperature.ok
        runtime, clock = box.runtime, box.clock
        runtime.store.mark_sent([e.seq for e in runtime.store.events(0, 1000)], "sent")
        before = [e.type for e in runtime.store.events(0, 1000)]
        assert {"door.opened", "temperature.alarm", "parcel.deposited"} <= set(before), before
        config = PrivacyConfig(event_log_days=100)

        def swept_after(days: float) -> list[str]:
            clock.advance(days * DAY)
            Retention(config, runtime.service, runtime.store).sweep()
            return [e.type for e in runtime.store.events(0, 1000)]

        assert swept_after(89) == before
        after_90 = swept_after(2)
        assert not any(t.startswith("door.") for t in after_90[:-1]), after_90
        assert "parcel.deposited" in after_90 and "temperature.alarm" in after_90
        after_100 = swept_after(10)  # the event log's days: the alarm stays a year
        assert "parcel.deposited" not in after_100
        assert {"temperature.alarm", "temperature.ok"} <= set(after_100), after_100
        after_400 = swept_after(300)
        assert "temperature.alarm" not in after_400[:-1], after_400
        assert cid  # the item is still inside: its personal data were never swept
    finally:
        box.stop()


def test_a_sweep_cut_short_is_finished_by_the_next(harness: Harness) -> None:
    h = harness
    for n in range(5):
        collected(h, f"R-{n}")
    h.clock.advance(31 * DAY)
    first = sweeper(h).sweep(budget_s=0.0, batch=2)  # then the process dies
    assert (first.erased, first.done) == (2, False)
    h.reopen()  # a new process on the same database
    second = sweeper(h).sweep(batch=2)
    assert (second.erased, second.done) == (3, True)
    for n in range(5):
        res = h.service.reservation(f"R-{n}")
        assert res is not None and res.recipient is None


def test_an_untrusted_clock_sweeps_nothing(harness: Harness) -> None:
    h = harness
    collected(h, "R-1")
    h.clock.advance(400 * DAY)
    h.clock.is_trusted = False
    assert sweeper(h).sweep().erased == 0


def test_check_config_refuses_limits_that_lose_evidence(tmp_path: Path) -> None:
    for bad, where in (
        ({"temperature_days": 100}, "privacy.temperature_days"),
        ({"event_log_days": 1}, "privacy.event_log_days"),
        ({"personal_data_days": 0}, "privacy.personal_data_days"),
    ):
        with pytest.raises(ConfigError) as exc:
            settings_for(tmp_path, privacy=bad)
        assert any(p.startswith(where) for p in exc.value.problems), exc.value.problems
    assert settings_for(tmp_path).privacy.personal_data_days == 30


def _erasures(db: Path) -> tuple[set[str], set[str]]:
    """Reservations with their personal data blanked; those with a reservation.erased."""
    with closing(sqlite3.connect(db)) as conn:
        blank = {
            r[0]
            for r in conn.execute(
                "SELECT id FROM reservation WHERE recipient IS NULL AND reference IS NULL"
            )
        }
        told = {
            r[0] for r in conn.execute("SELECT reservation_id FROM event WHERE type = ?", (ERASED,))
        }
    return blank, told


def _unsent_old(db: Path) -> set[int]:
    with closing(sqlite3.connect(db)) as conn:
        return {r[0] for r in conn.execute("SELECT seq FROM event WHERE sent_at IS NULL")}


def test_a_crash_inside_a_batch_loses_nothing_and_the_next_start_goes_on(
    tmp_path: Path,
) -> None:
    """The real service on a database of 1,500 reservations past their days: SIGKILLed
    while its first sweep runs, inside a batch of 100; each erasure is whole (blanked
    and told, or neither), and the next start goes on where it stopped."""
    layout = retentionbench.seed(tmp_path, 1500)  # all ended 31 days to 3 years ago
    db = tmp_path / "locker.db"
    with closing(sqlite3.connect(db)) as conn, conn:  # ten old events never acknowledged
        conn.execute(
            "UPDATE event SET sent_at = NULL WHERE seq IN (SELECT seq FROM event "
            "WHERE reservation_id LIKE 'OLD-%' ORDER BY seq LIMIT 10)"
        )
    unsent = _unsent_old(db)
    assert len(unsent) == 10
    with closing(sqlite3.connect(db)) as conn:
        seeded_events = {r[0] for r in conn.execute("SELECT event_id FROM event")}
    service = ServiceProcess(tmp_path, config=layout)
    inside = None
    for _attempt in range(5):
        done_before = len(_erasures(db)[0])
        service.start(wait=False)
        try:
            _wait_for_erasures_under_way(db, done_before)
        finally:
            service.stop(signal.SIGKILL)
        blank, told = _erasures(db)
        assert blank == told  # each erasure whole: none blanked untold, none told unblanked
        assert unsent <= _unsent_old(db)
        if (len(blank) - done_before) % BATCH:
            inside = len(blank)
            break
    assert inside is not None, "no kill landed inside a batch in five tries"
    service.start()
    try:
        deadline = time.monotonic() + 60
        while len(_erasures(db)[0]) <= inside:  # the next start's sweep goes on
            assert time.monotonic() < deadline, "the sweep did not go on after the restart"
            time.sleep(0.05)
    finally:
        service.stop()
    blank, told = _erasures(db)
    assert blank == told and len(blank) > inside
    assert unsent <= _unsent_old(db)
    with closing(sqlite3.connect(db)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        left = {r[0] for r in conn.execute("SELECT event_id FROM event")}
    # gone means gone: neither an erased recipient nor a purged event is in the bytes
    data = raw(db)
    erased = [f"apt-{rid.removeprefix('OLD-')}-b".encode() for rid in blank]
    assert erased and not [e for e in erased if e in data]
    purged = [e.encode() for e in seeded_events - left]
    assert purged and not [e for e in purged if e in data]
    kept = [r for r in (f"apt-{i}-b".encode() for i in range(1500)) if r in data]
    assert len(kept) == 1500 - len(erased)  # the test can fail: the others are there


def _wait_for_erasures_under_way(db: Path, before: int) -> None:
    """Return at once when erasures are seen being made (two reads, both growing)."""
    deadline = time.monotonic() + 60
    seen = before
    while time.monotonic() < deadline:
        try:
            now = len(_erasures(db)[0])
        except sqlite3.OperationalError:  # the first start migrates the schema meanwhile
            now = seen
        if now > seen > before:
            return
        seen = max(seen, now)
        time.sleep(0.005)
    raise AssertionError("no sweep seen in 60 s")
