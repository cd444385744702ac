"""An operation answers only once what it read is on disk: work built on a change
whose write failed is run again on the state read back, never answered as it was."""

from __future__ import annotations

import threading

import pytest

from locker.domain.errors import NotFound
from locker.domain.model import State
from tests.conftest import Harness, RecordingDoors
from tests.helpers import book, wait_for
from tests.test_journal import GatedStore, deposited


def test_no_refusal_is_given_on_a_change_that_is_not_on_disk(harness: Harness) -> None:
    """A second try of a code while its first use is being written must not hear
    "already used" when that write fails: the code was never used."""
    code = deposited(harness, 1)["R-0"]
    store = GatedStore(harness)
    service = harness.reopen(store)
    release = threading.Event()
    store.hold, store.fail = release.is_set, True
    outcomes: dict[str, object] = {}

    def pickup(name: str) -> None:
        try:
            outcomes[name] = service.pickup(name, code)
        except Exception as exc:
            outcomes[name] = exc

    first = threading.Thread(target=pickup, args=("kiosk-1",), daemon=True)
    first.start()
    wait_for(lambda: store.batches, timeout=20, what="the first use being written")
    second = threading.Thread(target=pickup, args=("kiosk-2",), daemon=True)
    second.start()
    second.join(1.0)  # long enough to answer, were it allowed to
    release.set()  # the first use fails to reach the disk
    first.join(20)
    second.join(20)
    assert isinstance(outcomes["kiosk-1"], OSError)
    cid = outcomes["kiosk-2"]
    assert isinstance(cid, str), f"refused on a use that never reached the disk: {cid!r}"
    assert harness.doors.unlocked[-1] == cid


class HeldSwitches(RecordingDoors):
    """Door switches whose reading waits for ``go``: the work that reads them is
    held under the service lock while the test makes a write fail."""

    def __init__(self) -> None:
        super().__init__()
        self.go = threading.Event()
        self.reading = threading.Event()

    def is_open(self, compartment_id: str) -> bool:
        self.reading.set()
        self.go.wait(20)
        return super().is_open(compartment_id)


def test_work_that_read_a_state_lost_meanwhile_is_run_again(harness: Harness) -> None:
    switches = HeldSwitches()
    switches.levels["A1"] = True  # found open at start: door.left_open
    harness.doors = switches
    store = GatedStore(harness)
    service = harness.reopen(store)
    release = threading.Event()
    store.hold, store.fail = release.is_set, True
    errors: list[BaseException] = []

    def run(call: object, *args: object) -> None:
        try:
            call(*args)  # type: ignore[operator]
        except Exception as exc:
            errors.append(exc)

    booking = threading.Thread(target=run, args=(book, service, harness.clock.now()))
    booking.start()
    wait_for(lambda: store.batches, timeout=20, what="the booking being written")
    start = threading.Thread(target=run, args=(service.reconcile_doors,))
    start.start()
    assert switches.reading.wait(20)  # the reconcile reads the state the booking built
    release.set()  # the booking's write fails while the reconcile still works
    wait_for(lambda: service._journal.broken, timeout=20, what="the failed write")
    switches.go.set()
    booking.join(20)
    start.join(20)
    assert [type(e) for e in errors] == [OSError]  # the booking failed; the reconcile did not
    types = [e.type for e in harness.reopen().events(0, 100)]
    assert "door.left_open" in types and "reservation.accepted" not in types


def test_views_show_only_what_is_on_disk(harness: Harness) -> None:
    """GET /reservations, /healthz, the status message: a cancel whose write then
    fails was never made, and no view may have shown it."""
    store = GatedStore(harness)
    service = harness.reopen(store)
    book(service, harness.clock.now())
    free, last_seq = service.free_counts(), service.last_seq()
    release = threading.Event()
    store.hold, store.fail = release.is_set, True
    errors: list[BaseException] = []

    def cancel() -> None:
        try:
            service.cancel("R-1")
        except Exception as exc:
            errors.append(exc)

    cancelling = threading.Thread(target=cancel, daemon=True)
    cancelling.start()
    wait_for(lambda: len(store.batches) == 2, timeout=20, what="the cancel being written")
    shown: dict[str, object] = {}

    def look() -> None:
        res = service.reservation("R-1")
        shown.update(state=res and res.state, free=service.free_counts(), seq=service.last_seq())

    viewer = threading.Thread(target=look, daemon=True)
    viewer.start()
    viewer.join(1.0)  # long enough to answer, were it allowed to
    release.set()
    cancelling.join(20)
    viewer.join(20)
    assert [type(e) for e in errors] == [OSError]
    assert shown == {"state": State.ACCEPTED, "free": free, "seq": last_seq}
    with pytest.raises(NotFound):  # read back: a refusal is not the old write's error
        service.lift_lockout("kiosk-9")
