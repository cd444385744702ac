"""Door cycles in the domain: re-pulse, jam, left open, forced open, service state."""

from __future__ import annotations

import pytest

from locker.domain.errors import Unavailable
from tests.conftest import Harness
from tests.test_lifecycle import deposit_and_close, types, upsert


def test_unopened_door_is_pulsed_again_then_jammed(harness: Harness) -> None:
    upsert(harness)
    cid = harness.service.deposit_by_courier("R-1")
    harness.clock.advance(harness.rules.open_timeout_s - 1)
    harness.service.tick()
    assert harness.doors.unlocked == [cid]
    harness.clock.advance(2)
    harness.service.tick()
    assert harness.doors.unlocked == [cid, cid]  # one more pulse
    harness.clock.advance(harness.rules.open_timeout_s + 1)
    harness.service.tick()
    assert types(harness)[-1] == "door.jammed"
    [comp] = [c for c, _, _ in harness.service.compartments() if c.id == cid]
    assert not comp.in_service and comp.service_reason == "door jammed"
    assert harness.doors.unlocked == [cid, cid]
    with pytest.raises(Unavailable):
        harness.service.deposit_by_courier("R-1")
    # staff repair it; a later good operation works
    harness.service.set_service(cid, True)
    assert harness.service.deposit_by_courier("R-1") == cid


def test_a_jam_gives_the_pickup_code_back(harness: Harness) -> None:
    upsert(harness)
    code = deposit_and_close(harness)
    harness.service.pickup("t", code)
    for _ in range(2):
        harness.clock.advance(harness.rules.open_timeout_s + 1)
        harness.service.tick()
    assert types(harness)[-1] == "door.jammed"
    with pytest.raises(Unavailable):
        harness.service.pickup("t", code)  # out of service, but the code is not spent
    harness.service.set_service("A3", True)
    assert harness.service.pickup("t", code) == "A3"


def test_restart_reports_an_interrupted_opening_and_never_pulses_for_nobody(
    harness: Harness,
) -> None:
    upsert(harness)
    code = deposit_and_close(harness)
    harness.service.pickup("t", code)
    pulses = len(harness.doors.unlocked)
    harness.clock.advance(60)  # the controller was down while the resident went away
    harness.reopen().reconcile_doors()
    harness.service.tick()
    assert len(harness.doors.unlocked) == pulses
    jammed = harness.store.events(0, 100)[-1]
    assert jammed.type == "door.jammed" and jammed.data["interrupted"] is True
    harness.service.set_service("A3", True)
    assert harness.service.pickup("t", code) == "A3"  # the credential works again


def test_door_left_open_is_reported_once(harness: Harness) -> None:
    upsert(harness)
    cid = harness.service.deposit_by_courier("R-1")
    harness.service.door_changed(cid, True)
    harness.clock.advance(harness.rules.left_open_s + 1)
    harness.service.tick()
    harness.clock.advance(harness.rules.left_open_s + 1)
    harness.service.tick()
    assert types(harness).count("door.left_open") == 1
    harness.service.door_changed(cid, False)
    assert types(harness)[-1] == "parcel.deposited"


def test_door_opened_without_a_pulse_is_forced(harness: Harness) -> None:
    harness.service.door_changed("B2", True)
    assert types(harness) == ["door.forced_open"]
    [comp] = [c for c, _, _ in harness.service.compartments() if c.id == "B2"]
    assert not comp.in_service and comp.service_reason == "door forced open"
    harness.service.door_changed("B2", False)
    assert types(harness) == ["door.forced_open"]  # shutting it again changes nothing


def test_repeated_levels_are_ignored(harness: Harness) -> None:
    harness.service.door_changed("B2", False)
    assert types(harness) == []


def test_out_of_service_compartments_are_not_allocated(harness: Harness) -> None:
    harness.service.set_service("A3", False, "broken hinge")
    assert upsert(harness).compartment == "C2"  # A3 would have been first
    assert types(harness)[0] == "command.done"


def test_pickup_from_out_of_service_compartment_is_refused(harness: Harness) -> None:
    upsert(harness)
    code = deposit_and_close(harness)
    harness.service.set_service("A3", False)
    with pytest.raises(Unavailable):
        harness.service.pickup("t", code)
    harness.service.set_service("A3", True)
    assert harness.service.pickup("t", code) == "A3"  # the code was not spent


def test_admin_open_is_an_event_and_a_pulse(harness: Harness) -> None:
    harness.service.admin_open("C4", "jammed item")
    assert harness.doors.unlocked == ["C4"]
    [event] = harness.store.events(0, 10)
    assert event.type == "door.opened" and event.data["reason"] == "admin"
    harness.cycle_door("C4")
    assert types(harness) == ["door.opened"]


def test_interrupted_opening_completes_after_restart(harness: Harness) -> None:
    upsert(harness)
    cid = harness.service.deposit_by_courier("R-1")
    harness.service.door_changed(cid, True)
    # power cut: the door was shut while the controller was down
    harness.doors.levels[cid] = False
    harness.reopen().reconcile_doors()
    assert types(harness)[-1] == "parcel.deposited"


def test_door_open_at_start_is_reported_left_open(harness: Harness) -> None:
    harness.doors.levels["B4"] = True
    harness.service.reconcile_doors()
    assert types(harness) == ["door.left_open"]
