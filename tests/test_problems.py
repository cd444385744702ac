"""A problem at the box (issue 15, decisions 31 and 32): what each kind does to the item
and the compartment, through the service and the real app."""

from __future__ import annotations

from typing import Any

import pytest

from locker.domain.errors import Conflict, Invalid
from locker.domain.model import Size, State
from tests.conftest import ADMIN, COURIER, KIOSK, Harness
from tests.test_lifecycle import deposit_and_close, events, upsert

T = "kiosk-0@local"


def opened(h: Harness) -> str:
    upsert(h)
    code = deposit_and_close(h)
    return h.service.pickup(T, code)


def state(h: Harness) -> State:
    res = h.service.reservation("R-1")
    assert res is not None
    return res.state


@pytest.mark.parametrize(
    ("problem", "reason"), [("empty", "reported_empty"), ("wrong_item", "wrong_item")]
)
def test_empty_or_not_mine_holds_and_collects_nothing(
    harness: Harness, problem: str, reason: str
) -> None:
    cid = opened(harness)
    assert harness.service.report_problem(T, cid, problem) == "held"
    harness.cycle_door(cid)  # the door shut after the report: nothing collected
    assert state(harness) is State.HELD
    kinds = [e["type"] for e in events(harness)]
    assert "parcel.collected" not in kinds
    assert next(e for e in events(harness) if e["type"] == "parcel.problem")["problem"] == problem
    assert next(e for e in events(harness) if e["type"] == "reservation.held")["reason"] == reason
    comp = harness.service.compartments_by_id()[cid]
    assert not comp.in_service and comp.service_reason is not None
    harness.service.release("R-1")  # staff checked: the code works again
    harness.service.set_service(cid, True)
    code = harness.service.codes_of(harness.service.reservation("R-1"))["pickup_code"]  # type: ignore[arg-type]
    assert harness.service.pickup(T, code) == cid


def test_reported_after_the_door_shut_the_compartment_is_checked(harness: Harness) -> None:
    cid = opened(harness)
    harness.cycle_door(cid)
    assert state(harness) is State.COLLECTED
    assert harness.service.report_problem(T, cid, "wrong_item") == "recorded"
    assert state(harness) is State.COLLECTED  # collected is final (contract v1.1)
    assert not harness.service.compartments_by_id()[cid].in_service  # staff look first


def test_one_report_per_opening_and_only_by_the_same_person(harness: Harness) -> None:
    cid = opened(harness)
    assert harness.service.report_problem(T, cid, "damaged", keep=True) == "kept"
    with pytest.raises(Conflict):
        harness.service.report_problem(T, cid, "damaged", keep=False)  # reported already
    upsert(harness, "R-2", reference="C-2")
    code2 = deposit_and_close(harness, "R-2")
    cid2 = harness.service.pickup(T, code2)
    harness.cycle_door(cid2)  # collected: that person is gone
    upsert(harness, "R-3", reference="C-3", size=Size.L)
    code3 = deposit_and_close(harness, "R-3")
    assert harness.service.pickup(T, code3) != cid2  # the next person at this kiosk
    with pytest.raises(Conflict):
        harness.service.report_problem(T, cid2, "empty")  # not theirs to report


def test_a_report_never_shuts_someone_elses_compartment(harness: Harness) -> None:
    cid = opened(harness)
    harness.cycle_door(cid)
    harness.clock.advance(harness.rules.time.reopen_s)  # its re-open window is over
    harness.service.tick()
    upsert(harness, "R-2", reference="C-2")  # the compartment is booked again meanwhile
    other = harness.service.reservation("R-2")
    assert other is not None and other.compartment == cid
    assert harness.service.report_problem(T, cid, "empty") == "recorded"
    assert harness.service.compartments_by_id()[cid].in_service


def test_damaged_kept_or_left(harness: Harness) -> None:
    cid = opened(harness)
    assert harness.service.report_problem(T, cid, "damaged", keep=True) == "kept"
    harness.cycle_door(cid)
    assert state(harness) is State.COLLECTED
    upsert(harness, "R-2", reference="C-2")
    code = deposit_and_close(harness, "R-2")
    cid2 = harness.service.pickup(T, code)
    assert harness.service.report_problem(T, cid2, "damaged", keep=False) == "held"
    harness.cycle_door(cid2)
    res = harness.service.reservation("R-2")
    assert res is not None and res.state is State.HELD and res.held_reason == "damaged"
    assert harness.service.compartments_by_id()[cid2].in_service  # only the item is held
    assert harness.service.return_item("R-2") == cid2  # staff take it back


@pytest.mark.parametrize(("problem", "in_service"), [("door", False), ("other", True)])
def test_door_and_other(harness: Harness, problem: str, in_service: bool) -> None:
    cid = opened(harness)
    assert harness.service.report_problem(T, cid, problem) == "recorded"
    assert harness.service.compartments_by_id()[cid].in_service is in_service
    assert state(harness) is State.DEPOSITED


def test_only_a_compartment_opened_here_lately(harness: Harness) -> None:
    cid = opened(harness)
    with pytest.raises(Conflict):
        harness.service.report_problem("kiosk-1@local", cid, "empty")
    with pytest.raises(Conflict):
        harness.service.report_problem(T, "C4", "empty")
    with pytest.raises(Invalid):
        harness.service.report_problem(T, cid, "smelly")
    harness.clock.advance(601)
    with pytest.raises(Conflict):
        harness.service.report_problem(T, cid, "empty")
    assert state(harness) is State.DEPOSITED


def test_over_rest_the_person_is_told_what_follows(app_client: Any) -> None:
    from tests.test_api import book, door_cycle, state_of

    client, runtime = app_client
    book(client)
    cid = client.post("/api/v1/deposits", json={"reservation_id": "R-2031"}, headers=COURIER)
    cid = cid.json()["compartment"]
    door_cycle(client, runtime, cid)
    code = state_of(client, "R-2031")["pickup_code"]
    assert client.post("/api/v1/kiosk/codes", json={"code": code}, headers=KIOSK).is_success
    r = client.post(
        "/api/v1/kiosk/problems", json={"compartment": cid, "problem": "empty"}, headers=KIOSK
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["outcome"] == "held" and "recontacte" in body["message_fr"]
    assert body["phone"] == "04 75 00 00 00"
    assert state_of(client, "R-2031")["state"] == "held"
    r = client.post(
        "/api/v1/kiosk/problems", json={"compartment": cid, "problem": "x"}, headers=KIOSK
    )
    assert r.status_code == 422
    r = client.post(
        "/api/v1/kiosk/problems", json={"compartment": cid, "problem": "empty"}, headers=ADMIN
    )
    assert r.status_code == 409  # admin's terminal opened nothing


def test_at_a_deposit_nothing_is_held(harness: Harness) -> None:
    from locker.domain.model import Kind

    upsert(harness, kind=Kind.DROPOFF, recipient=None)
    res = harness.service.reservation("R-1")
    assert res is not None
    code = harness.service.codes_of(res)["deposit_code"]
    cid = harness.service.deposit_with_code(T, code)
    assert harness.service.report_problem(T, cid, "wrong_item") == "recorded"
    assert not harness.service.compartments_by_id()[cid].in_service  # someone's item there
    assert state(harness) is State.ACCEPTED


def test_a_second_code_while_the_first_door_is_open_keeps_both_reportable(
    harness: Harness,
) -> None:
    cid = opened(harness)  # R-1's door is unlocked (the recording doors never open it)
    upsert(harness, "R-2", reference="C-R-2", recipient="apt-2")
    code2 = deposit_and_close(harness, "R-2")
    cid2 = harness.service.pickup(T, code2)  # the same person's second code
    assert harness.service.report_problem(T, cid, "empty") == "held"  # the first door too
    harness.cycle_door(cid2)  # the second door's cycle ends: the next code is someone else
    upsert(harness, "R-3", reference="C-R-3", recipient="apt-3", size=Size.L)
    code3 = deposit_and_close(harness, "R-3")
    assert harness.service.pickup(T, code3) not in (cid, cid2)
    with pytest.raises(Conflict):
        harness.service.report_problem(T, cid2, "damaged")


def test_a_problem_after_a_serial_scan_is_reported_at_the_box_screen(harness: Harness) -> None:
    from locker.scans import ScanDesk

    upsert(harness)
    code = deposit_and_close(harness)
    desk = ScanDesk(harness.service, "/dev/ttyACM0")
    cid = str(desk.scan(code)["compartment"])
    with pytest.raises(Conflict):  # the kiosk alone never saw that door open
        harness.service.report_problem(T, cid, "empty")
    assert harness.service.report_problem(T, cid, "empty", also=(desk.terminal,)) == "held"
