"""Door faults in simulation, through real gpiozero devices on MockFactory pins: each is
detected, reported as its event, the compartment is made safe, and a later good
operation works."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from locker.domain.errors import Unavailable
from locker.domain.model import Size
from locker.runtime import Runtime, build
from tests.helpers import book, settings_for, wait_for

# Short timings, but with room for a loaded machine: a hand takes well under 1.5 s.
DOORS = {"pulse_ms": 40, "debounce_ms": 100, "open_timeout_s": 1.5, "left_open_s": 1.0}


@pytest.fixture
def box(tmp_path: Path) -> Iterator[Runtime]:
    runtime = build(settings_for(tmp_path, doors=DOORS, mqtt={"enabled": False}), simulate=True)
    runtime.start()
    yield runtime
    runtime.stop()


def types(box: Runtime) -> list[str]:
    return [e.type for e in box.store.events(0, 10_000)]


def comp(box: Runtime, cid: str):  # type: ignore[no-untyped-def]
    return box.service.compartments_by_id()[cid]


def hand(box: Runtime, cid: str, is_open: bool) -> None:
    assert box.sim is not None
    box.sim.set_door(cid, is_open=is_open)
    wait_for(lambda: comp(box, cid).door_open == is_open, what=f"{cid} open={is_open}")


def parcel_in(box: Runtime, rid: str) -> tuple[str, str]:
    book(box.service, datetime.now(UTC), rid)
    cid = box.service.deposit_by_courier(rid)
    hand(box, cid, True)
    hand(box, cid, False)
    wait_for(lambda: box.service.reservation(rid).deposited_at)  # type: ignore[union-attr]
    res = box.service.reservation(rid)
    assert res is not None
    return cid, box.service.codes_of(res)["pickup_code"]


def collected(box: Runtime, rid: str) -> bool:
    res = box.service.reservation(rid)
    return res is not None and res.state.value == "collected"


def test_jammed_door(box: Runtime) -> None:
    cid, code = parcel_in(box, "J-1")
    assert box.sim is not None
    before = box.sim.relay_pulses(cid)
    box.service.pickup("kiosk-0@1", code)  # the lock does not let go: nobody can open it
    wait_for(lambda: "door.jammed" in types(box), what="jam detected")
    assert box.sim.relay_pulses(cid) == before + 2  # one more pulse, then the alarm
    assert not comp(box, cid).in_service  # made safe
    with pytest.raises(Unavailable):
        box.service.pickup("kiosk-0@1", code)
    box.service.set_service(cid, True)  # staff free the latch
    box.service.pickup("kiosk-0@1", code)  # the code was given back: it opened nothing
    hand(box, cid, True)
    hand(box, cid, False)
    wait_for(lambda: collected(box, "J-1"))


def test_door_left_open(box: Runtime) -> None:
    book(box.service, datetime.now(UTC), "L-1")
    cid = box.service.deposit_by_courier("L-1")
    hand(box, cid, True)
    wait_for(lambda: "door.left_open" in types(box), what="left open reported")
    book(box.service, datetime.now(UTC), "L-2")  # never booked into an open compartment
    assert box.service.reservation("L-2").compartment != cid  # type: ignore[union-attr]
    hand(box, cid, False)
    wait_for(lambda: types(box)[-1] == "parcel.deposited")
    assert types(box).count("door.left_open") == 1


def test_door_forced_open(box: Runtime) -> None:
    cid, code = parcel_in(box, "F-1")
    hand(box, cid, True)  # no pulse: someone forced it
    wait_for(lambda: "door.forced_open" in types(box))
    forced = next(e for e in box.store.events(0, 1000) if e.type == "door.forced_open")
    assert forced.compartment == cid and forced.reservation_id == "F-1"
    assert not comp(box, cid).in_service  # made safe: nothing handed out or booked in
    with pytest.raises(Unavailable):
        box.service.pickup("kiosk-0@1", code)
    hand(box, cid, False)
    box.service.set_service(cid, True)  # staff checked it
    box.service.pickup("kiosk-0@1", code)
    hand(box, cid, True)
    hand(box, cid, False)
    wait_for(lambda: collected(box, "F-1"))


def test_reed_switch_bounce(box: Runtime) -> None:
    cid, code = parcel_in(box, "B-1")
    assert box.sim is not None
    box.service.pickup("kiosk-0@1", code)
    for _ in range(6):  # the switch chatters as the door swings
        box.sim.set_door(cid, is_open=True)
        box.sim.set_door(cid, is_open=False)
    hand(box, cid, True)
    for _ in range(6):
        box.sim.set_door(cid, is_open=False)
        box.sim.set_door(cid, is_open=True)
    hand(box, cid, False)
    wait_for(lambda: collected(box, "B-1"))
    log = types(box)
    assert log.count("parcel.collected") == 1 and "door.forced_open" not in log


def test_sensor_stuck_closed(box: Runtime) -> None:
    """A switch stuck closed: the door opens and shuts, and its pin never moves. With one
    reed switch a door, the controller cannot tell it from a jammed lock, so it is
    handled as one: reported, the compartment out of service until staff have been,
    and the code given back in case the parcel is still inside. (Without an opening to
    wait for, a stuck-closed switch shows nothing: nothing is handed out through it.)"""
    cid, code = parcel_in(box, "S-1")
    assert box.sim is not None
    before = box.sim.relay_pulses(cid)
    box.service.pickup("kiosk-0@1", code)  # the resident opens the door: the pin stays put
    wait_for(lambda: "door.jammed" in types(box), what="detected as a jam")
    jam = next(e for e in box.store.events(0, 1000) if e.type == "door.jammed")
    assert jam.compartment == cid and jam.reservation_id == "S-1"
    assert box.sim.relay_pulses(cid) == before + 2  # the re-pulse, then the alarm
    assert not comp(box, cid).in_service  # made safe
    with pytest.raises(Unavailable):
        box.service.pickup("kiosk-0@1", code)  # nobody is sent to that door meanwhile
    book(box.service, datetime.now(UTC), "S-2", size=Size.S)
    assert box.service.reservation("S-2").compartment != cid  # type: ignore[union-attr]
    assert box.service.reservation("S-1").state.value == "deposited"  # type: ignore[union-attr]
    box.service.set_service(cid, True)  # switch replaced
    box.service.pickup("kiosk-0@1", code)
    hand(box, cid, True)
    hand(box, cid, False)
    wait_for(lambda: collected(box, "S-1"))


def test_sensor_stuck_open(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, doors=DOORS, mqtt={"enabled": False})
    first = build(settings, simulate=True)
    first.start()
    assert first.sim is not None
    first.sim.set_door("C4", is_open=True)  # stuck open
    wait_for(lambda: "door.forced_open" in types(first))
    first.service.set_service("C4", True)
    wait_for(lambda: "door.left_open" in types(first), what="left-open alarm")
    for i in range(11):  # every other compartment gets booked; never C4 while it reads open
        book(first.service, datetime.now(UTC), f"X-{i}", size=Size.S)
    assert all(r.compartment != "C4" for r in first.service.reservations())
    first.sim.set_door("C4", is_open=False)  # switch fixed
    wait_for(lambda: not first.service.compartments_by_id()["C4"].door_open)
    book(first.service, datetime.now(UTC), "X-12", size=Size.S)
    assert first.service.reservation("X-12").compartment == "C4"  # type: ignore[union-attr]
    first.stop()
