"""Group commit: concurrent operations share disk syncs, none answers or opens a door
before it is durable, and a failed write loses nothing that was answered."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

import pytest

from locker.domain.journal import Journal
from locker.domain.model import State
from locker.domain.ports import Changes, CommandOutcome
from locker.store.sqlite import SqliteStore
from tests.conftest import Harness
from tests.helpers import book, wait_for


class GatedStore(SqliteStore):
    """The real store, counting its transactions. ``hold`` keeps the first write
    waiting until it answers true; ``fail`` makes the next write raise as SQLite does
    when the disk refuses it."""

    def __init__(self, harness: Harness) -> None:
        super().__init__(harness.engine, harness.sealer)
        self.batches: list[int] = []
        self.hold: Callable[[], bool] | None = None
        self.fail = False

    def commit_all(self, batch: Sequence[Changes]) -> None:
        self.batches.append(len(batch))
        hold, self.hold = self.hold, None
        deadline = time.monotonic() + 20
        while hold is not None and not hold() and time.monotonic() < deadline:
            time.sleep(0.01)
        if self.fail:
            self.fail = False
            raise OSError("disk I/O error")
        super().commit_all(batch)


def deposited(harness: Harness, count: int) -> dict[str, str]:
    codes = {}
    for n in range(count):
        rid = f"R-{n}"
        book(harness.service, harness.clock.now(), rid=rid)
        harness.cycle_door(harness.service.deposit_by_courier(rid))
        res = harness.service.reservation(rid)
        assert res is not None
        codes[rid] = harness.service.codes_of(res)["pickup_code"]
    return codes


def test_pickups_at_once_share_one_disk_sync_and_are_all_durable(harness: Harness) -> None:
    codes = deposited(harness, 6)
    store = GatedStore(harness)
    service = harness.reopen(store)
    journal = service._journal
    # the first pickup's write waits until the five others are queued behind it
    store.hold = lambda: journal._issued >= 6
    opened: list[str] = []
    threads = [
        threading.Thread(target=lambda c=code: opened.append(service.pickup("kiosk", c)))
        for code in codes.values()
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(opened) == 6
    assert sorted(harness.doors.unlocked[-6:]) == sorted(opened)
    assert store.batches == [1, 5]  # six pickups, two transactions
    again = harness.reopen()  # what is on disk, read by a fresh service
    for rid in codes:  # each code is spent on disk: none opens a second time
        res = again.reservation(rid)
        assert res is not None and res.pickup_code is not None and res.pickup_code.used


def test_a_failed_write_opens_nothing_and_the_mirror_is_read_back(harness: Harness) -> None:
    store = GatedStore(harness)
    service = harness.reopen(store)
    book(service, harness.clock.now(), rid="R-1")
    pulses = len(harness.doors.unlocked)
    store.fail = True
    with pytest.raises(OSError):
        service.deposit_by_courier("R-1")
    assert len(harness.doors.unlocked) == pulses  # no door opens for a change not on disk
    assert all(opening is None for _, _, opening in service.compartments())
    res = service.reservation("R-1")
    assert res is not None and res.state is State.ACCEPTED
    cid = service.deposit_by_courier("R-1")  # and it goes on
    assert harness.doors.unlocked[-1] == cid


def test_operations_queued_behind_a_failed_write_fail_with_it(harness: Harness) -> None:
    store = GatedStore(harness)
    service = harness.reopen(store)
    journal = service._journal
    store.fail = True
    store.hold = lambda: journal._issued >= 2
    errors: list[BaseException] = []

    def booking(rid: str) -> None:
        try:
            book(service, harness.clock.now(), rid=rid)
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=booking, args=(f"R-{n}",)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(errors) == 2  # the second was built on the first: both refused
    assert service.reservation("R-0") is None and service.reservation("R-1") is None
    assert book(service, harness.clock.now(), rid="R-2") is not None


def test_reads_see_changes_queued_but_not_yet_written() -> None:
    writing = threading.Event()
    release = threading.Event()
    written: list[int] = []

    def slow_write(batch: Sequence[Changes]) -> None:
        writing.set()
        release.wait(10)
        written.append(len(batch))

    journal = Journal(slow_write)
    waiter = threading.Thread(target=journal.wait, args=(journal.append(Changes()),))
    waiter.start()
    assert writing.wait(10)
    done = CommandOutcome("resync", "done")
    later = journal.append(Changes(commands={"q-1": done}))
    assert journal.command_outcome("q-1") == done  # queued: seen before the disk has it
    release.set()
    journal.wait(later)
    waiter.join(10)
    assert written == [1, 1]
    assert journal.command_outcome("q-1") is None  # on disk now: the store answers


class Interrupted(BaseException):
    """Not an ``Exception``: a KeyboardInterrupt or SystemExit raised mid-write."""


def test_an_interrupted_write_fails_its_batch_and_later_writes_go_on() -> None:
    calls: list[int] = []

    def write(batch: Sequence[Changes]) -> None:
        calls.append(len(batch))
        if len(calls) == 1:
            raise Interrupted

    journal = Journal(write)
    first = journal.append(Changes())
    with pytest.raises(Interrupted):  # the writer's own thread gets the interruption
        journal.wait(first)
    journal.reset()  # as the service does after reading its mirror back
    later = threading.Thread(target=journal.wait, args=(journal.append(Changes()),), daemon=True)
    later.start()
    later.join(10)
    assert not later.is_alive(), "a later operation waits forever for its write"
    assert calls == [1, 1]


def test_a_failed_write_is_never_reported_as_written_however_late_its_waiter() -> None:
    fail = True

    def write(batch: Sequence[Changes]) -> None:
        if fail:
            raise OSError("disk I/O error")

    journal = Journal(write)
    slow = journal.append(Changes())  # its waiter is descheduled before it waits
    with pytest.raises(OSError):
        journal.wait(journal.append(Changes()))  # another waiter writes both: it fails
    for _ in range(100):  # the disk keeps failing for the operations after it
        journal.reset()
        with pytest.raises(OSError):
            journal.wait(journal.append(Changes()))
    fail = False
    with pytest.raises(OSError):  # the slow waiter learns its change is not on disk
        journal.wait(slow)


def test_the_watchdog_probe_tells_how_long_a_write_has_hung(harness: Harness) -> None:
    """The ticker stops pinging systemd when ``probe()`` reports a write lasting past
    half the watchdog period: a controller whose disk hangs is restarted."""
    store = GatedStore(harness)
    service = harness.reopen(store)
    release = threading.Event()
    store.hold = release.is_set
    booking = threading.Thread(target=book, args=(service, harness.clock.now()), daemon=True)
    booking.start()
    try:
        wait_for(lambda: store.batches, timeout=20, what="the write under way")
        first = service.probe()
        wait_for(lambda: service.probe() > first + 0.2, timeout=20, what="the hang to grow")
    finally:
        release.set()
    booking.join(20)
    assert service.probe() == 0.0  # the write went through: alive again
    assert service.reservation("R-1") is not None
