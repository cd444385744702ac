"""The re-open window (decision 33): for ``reopen_s`` after a pickup door shuts, the
same code at the same terminal opens the same door once more; then it is spent as
before. The compartment is not booked meanwhile, and the window ends with any other
opening or staff action there, and with a restart."""

from __future__ import annotations

import pytest

from locker.domain.commands import OpenDoor
from locker.domain.errors import Rejected, WrongCode
from locker.domain.model import Purpose, Size
from tests.conftest import Harness
from tests.helpers import book
from tests.test_lifecycle import deposit_and_close, events

KIOSK = "kiosk-0@1"


def collected(h: Harness) -> tuple[str, str]:
    """A parcel deposited and collected at KIOSK: its code and compartment."""
    book(h.service, h.clock.now())
    code = deposit_and_close(h)
    cid = h.service.pickup(KIOSK, code)
    h.cycle_door(cid)
    return code, cid


def reasons(h: Harness) -> list[str]:
    return [str(e.get("reason")) for e in events(h) if e["type"] == "door.opened"]


def test_the_same_code_opens_the_same_door_once_more(harness: Harness) -> None:
    code, cid = collected(harness)
    harness.clock.advance(30)
    before = len(harness.doors.unlocked)
    assert harness.service.use_code(KIOSK, code) == (Purpose.REOPEN, cid)
    assert harness.doors.unlocked[before:] == [cid]
    assert reasons(harness)[-1] == "reopen"
    harness.cycle_door(cid)  # shut again: nothing more to complete
    assert [e["type"] for e in events(harness)][-1] == "door.opened"
    with pytest.raises(WrongCode) as refused:  # once only
        harness.service.pickup(KIOSK, code)
    assert refused.value.reason == "used"
    assert harness.doors.unlocked[before:] == [cid]


def test_not_at_another_terminal_nor_after_the_window(harness: Harness) -> None:
    code, cid = collected(harness)
    with pytest.raises(WrongCode):
        harness.service.pickup("kiosk-1@1", code)
    harness.clock.advance(61)
    with pytest.raises(WrongCode) as refused:
        harness.service.pickup(KIOSK, code)
    assert refused.value.reason == "used"
    assert harness.doors.unlocked.count(cid) == 2  # the deposit and the pickup


def fill(h: Harness, first: int) -> list[str]:
    """Book small parcels until no compartment is left: the compartments they got."""
    got: list[str] = []
    for n in range(first, first + 40):
        try:
            res = book(h.service, h.clock.now(), f"R-{n}", size=Size.S)
        except Rejected:
            return got
        assert res is not None and res.compartment is not None
        got.append(res.compartment)
    raise AssertionError("the cabinet never filled up")


def test_the_compartment_is_not_booked_while_the_window_runs(harness: Harness) -> None:
    _code, cid = collected(harness)
    assert cid not in fill(harness, 2)
    harness.clock.advance(61)
    harness.service.tick()
    assert fill(harness, 100) == [cid]  # free again once the window ended


@pytest.mark.parametrize("action", ["staff opens it", "server opens it", "out of service"])
def test_any_staff_action_there_ends_the_window(harness: Harness, action: str) -> None:
    code, cid = collected(harness)
    if action == "staff opens it":
        harness.service.admin_open(cid)
        harness.cycle_door(cid)
    elif action == "server opens it":
        harness.service.server_command("q-1", OpenDoor(cid))
        harness.cycle_door(cid)
    else:
        harness.service.set_service(cid, False)
        harness.service.set_service(cid, True)
    with pytest.raises(WrongCode):
        harness.service.use_code(KIOSK, code)


def test_a_restart_ends_the_window(harness: Harness) -> None:
    code, _cid = collected(harness)
    harness.reopen()
    with pytest.raises(WrongCode) as refused:
        harness.service.use_code(KIOSK, code)
    assert refused.value.reason == "used"


def test_a_carers_code_has_its_window_too(harness: Harness) -> None:
    book(harness.service, harness.clock.now(), delegate=True)
    deposit_and_close(harness)
    res = harness.service.reservation("R-1")
    assert res is not None
    carer = harness.service.codes_of(res)["delegate_code"]
    cid = harness.service.use_code(KIOSK, carer)[1]
    harness.cycle_door(cid)
    assert harness.service.use_code(KIOSK, carer) == (Purpose.REOPEN, cid)
    assert reasons(harness)[-2:] == ["pickup", "reopen"]
