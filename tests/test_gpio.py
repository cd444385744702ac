"""Relays and reed switches on gpiozero's MockFactory: the pins really move."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from gpiozero.pins.mock import MockFactory

from firmware_bridge.gpio import DoorTiming, DoorWiring, GpioDoors
from firmware_bridge.sim import SimulatedCabinet
from locker.runtime import Runtime
from tests.helpers import book, wait_for

WIRING = [DoorWiring("A1", 4, 21), DoorWiring("B1", 17, 18), DoorWiring("C1", 27, 23)]
TIMING = DoorTiming(pulse_s=0.15, debounce_s=0.03, max_concurrent_pulses=2)


@pytest.fixture
def cabinet() -> Iterator[tuple[MockFactory, GpioDoors, SimulatedCabinet]]:
    factory = MockFactory()
    doors = GpioDoors(WIRING, TIMING, factory)
    sim = SimulatedCabinet(factory, WIRING, TIMING)
    sim.close_all()
    yield factory, doors, sim
    doors.close()
    factory.reset()


def test_active_low_relays_idle_high(
    cabinet: tuple[MockFactory, GpioDoors, SimulatedCabinet],
) -> None:
    factory, _, _ = cabinet
    assert all(factory.pin(w.relay_pin).state for w in WIRING)  # high = relay off


def test_unlock_is_one_pulse_of_the_configured_length(
    cabinet: tuple[MockFactory, GpioDoors, SimulatedCabinet],
) -> None:
    factory, doors, sim = cabinet
    doors.unlock("B1")
    pin = factory.pin(17)
    wait_for(lambda: not pin.state, what="relay on")  # active-low: low = energised
    wait_for(lambda: pin.state, what="relay off")
    assert sim.relay_pulses("B1") == 1 and sim.relay_pulses("A1") == 0
    lows = [i for i, s in enumerate(pin.states) if not s.state and i > 0]
    [on_index] = lows
    held = pin.states[on_index + 1].timestamp  # time spent low
    assert held >= TIMING.pulse_s * 0.9


def test_no_more_than_two_relays_at_once(
    cabinet: tuple[MockFactory, GpioDoors, SimulatedCabinet],
) -> None:
    factory, doors, sim = cabinet
    peak = 0
    stop = threading.Event()

    def watch() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, sum(1 for w in WIRING if not factory.pin(w.relay_pin).state))
            time.sleep(0.002)

    watcher = threading.Thread(target=watch)
    watcher.start()
    for cid in ("A1", "B1", "C1"):
        doors.unlock(cid)
    wait_for(lambda: all(sim.relay_pulses(c) == 1 for c in ("A1", "B1", "C1")), what="3 pulses")
    wait_for(lambda: all(factory.pin(w.relay_pin).state for w in WIRING), what="all off")
    stop.set()
    watcher.join()
    assert 1 <= peak <= 2  # never three solenoids at once (2 is seen unless starved)


def test_reed_bounce_gives_one_change(
    cabinet: tuple[MockFactory, GpioDoors, SimulatedCabinet],
) -> None:
    _, doors, sim = cabinet
    seen: list[tuple[str, bool]] = []
    doors.listen(lambda cid, is_open: seen.append((cid, is_open)))
    for _ in range(5):  # a chattering switch as the door swings open
        sim.set_door("A1", is_open=True)
        sim.set_door("A1", is_open=False)
    sim.set_door("A1", is_open=True)
    wait_for(lambda: seen, what="debounced change")
    time.sleep(TIMING.debounce_s * 4)
    assert seen == [("A1", True)]
    assert doors.is_open("A1") and not doors.is_open("B1")


def test_bounce_back_to_the_same_level_reports_nothing() -> None:
    factory = MockFactory()
    timing = DoorTiming(pulse_s=0.05, debounce_s=0.3)  # wide: a loaded machine is slow
    doors = GpioDoors(WIRING, timing, factory)
    sim = SimulatedCabinet(factory, WIRING, timing)
    sim.close_all()
    try:
        seen: list[tuple[str, bool]] = []
        doors.listen(lambda cid, is_open: seen.append((cid, is_open)))
        sim.set_door("C1", is_open=True)
        sim.set_door("C1", is_open=False)  # a knock on the door, shorter than the debounce
        time.sleep(timing.debounce_s * 3)
        assert seen == []
    finally:
        doors.close()
        factory.reset()


def test_reed_edges_complete_a_deposit_and_a_pickup(app_runtime: Runtime) -> None:
    service, sim = app_runtime.service, app_runtime.sim
    assert sim is not None
    book(service, datetime.now(UTC))
    cid = service.deposit_by_courier("R-1")
    wait_for(lambda: sim.relay_pulses(cid) == 1, what="deposit pulse")
    sim.set_door(cid, is_open=True)
    wait_for(lambda: service.compartments_by_id()[cid].door_open, what="door seen open")
    sim.set_door(cid, is_open=False)
    wait_for(lambda: service.reservation("R-1").state.value == "deposited")  # type: ignore[union-attr]
    res = service.reservation("R-1")
    assert res is not None
    code = service.codes_of(res)["pickup_code"]
    service.pickup("kiosk-0@local", code)
    wait_for(lambda: sim.relay_pulses(cid) == 2, what="pickup pulse")
    sim.set_door(cid, is_open=True)
    wait_for(lambda: service.compartments_by_id()[cid].door_open, what="door seen open")
    sim.set_door(cid, is_open=False)
    wait_for(lambda: service.reservation("R-1").state.value == "collected")  # type: ignore[union-attr]


def test_two_unlocks_of_one_lock_are_two_pulses(
    cabinet: tuple[MockFactory, GpioDoors, SimulatedCabinet],
) -> None:
    factory, doors, sim = cabinet
    doors.unlock("A1")
    doors.unlock("A1")  # a second worker is free, but must not merge into the first pulse
    wait_for(lambda: sim.relay_pulses("A1") == 2, what="two pulses")
    wait_for(lambda: factory.pin(4).state, what="relay off")
