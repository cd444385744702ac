"""Several parcels for one person (issue 15, decision 31): after a pickup, the other items
waiting for the same recipient open too; never after a carer's code; held ones skipped."""

from __future__ import annotations

from typing import Any

import pytest

from locker.domain.errors import Conflict
from locker.domain.model import State
from locker.domain.state import Txn
from tests.conftest import ADMIN, COURIER, KIOSK, Harness
from tests.test_delegate import deposit
from tests.test_lifecycle import events, upsert

T = "kiosk-0@local"


def three_for_one(h: Harness, **kw: Any) -> list[tuple[str, str, str]]:
    """Three parcels for apt-12, one for apt-7: their (compartment, pickup code, carer)."""
    for rid in ("R-1", "R-2", "R-3"):
        upsert(h, rid, recipient="apt-12", reference=f"C-{rid}", delegate=True, **kw)
    upsert(h, "N-1", recipient="apt-7", reference="C-N-1", delegate=True)
    return [deposit(h, rid) for rid in ("R-1", "R-2", "R-3", "N-1")]


def test_the_others_of_the_same_person_open_one_by_one(harness: Harness) -> None:
    (c1, code1, _), (c2, _, _), (c3, _, _), (c4, _, _) = three_for_one(harness)
    assert harness.service.pickup(T, code1) == c1
    assert harness.service.others_waiting(T) == 2
    opened, skipped = harness.service.pickup_others(T, code1)
    assert opened == sorted([c2, c3]) and skipped == []
    assert c4 not in harness.doors.unlocked[-3:]  # the neighbour's parcel stays shut
    by = [e["by"] for e in events(harness) if e["type"] == "door.opened"][-2:]
    assert by == ["group", "group"]
    for cid in (c1, c2, c3):
        harness.cycle_door(cid)
    for rid in ("R-1", "R-2", "R-3"):
        assert harness.service.reservation(rid).state is State.COLLECTED  # type: ignore[union-attr]
    collected = [e for e in events(harness) if e["type"] == "parcel.collected"]
    assert len(collected) == 3 and {e["by"] for e in collected} == {"pickup"}
    assert harness.service.reservation("N-1").state is State.DEPOSITED  # type: ignore[union-attr]
    assert harness.service.pickup_others(T, code1) == ([], [])  # nothing left


def test_never_after_a_carers_code(harness: Harness) -> None:
    (c1, code1, carer1), *_ = three_for_one(harness)
    assert harness.service.pickup(T, carer1) == c1
    assert harness.service.others_waiting(T) == 0
    for code in (carer1, code1):
        with pytest.raises(Conflict, match="no pickup with this code"):
            harness.service.pickup_others(T, code)


def test_only_the_code_just_used_at_this_terminal_within_two_minutes(harness: Harness) -> None:
    (c1, code1, _), (c2, code2, _), *_ = three_for_one(harness)
    harness.service.pickup(T, code1)
    with pytest.raises(Conflict):
        harness.service.pickup_others("kiosk-1@local", code1)  # another terminal
    harness.clock.advance(121)
    with pytest.raises(Conflict):
        harness.service.pickup_others(T, code1)  # too late
    assert harness.service.pickup(T, code2) == c2  # a new pickup at this kiosk
    with pytest.raises(Conflict):
        harness.service.pickup_others(T, code1)  # not the code just used ...
    with pytest.raises(Conflict):
        harness.service.pickup_others(T, code2)  # ... and that guess ended the window
    assert harness.doors.unlocked.count(c1) == 2  # its deposit and its pickup, nothing else


def test_a_held_item_is_skipped_and_named(harness: Harness) -> None:
    (_, code1, _), (c2, _, _), (c3, _, _), _ = three_for_one(harness)
    res = harness.service.reservation("R-2")
    assert res is not None

    def hold(txn: Txn) -> None:  # held as after a reported problem (decision 32)
        txn.put(res.with_(state=State.HELD, held_reason="damaged"))

    harness.service._run(hold)
    harness.service.pickup(T, code1)
    opened, skipped = harness.service.pickup_others(T, code1)
    assert opened == [c3] and skipped == [{"compartment": c2, "reason": "held"}]


def test_over_rest_the_answer_says_how_many_wait(app_client: Any) -> None:
    from tests.test_api import book, door_cycle, state_of

    client, runtime = app_client
    codes = {}
    for rid in ("R-1", "R-2"):
        book(client, reservation_id=rid, recipient="apt-12")
        cid = client.post("/api/v1/deposits", json={"reservation_id": rid}, headers=COURIER)
        door_cycle(client, runtime, cid.json()["compartment"])
        codes[rid] = (cid.json()["compartment"], state_of(client, rid)["pickup_code"])
    r = client.post("/api/v1/kiosk/codes", json={"code": codes["R-1"][1]}, headers=KIOSK)
    assert r.status_code == 200 and r.json()["others"] == 1
    r = client.post("/api/v1/pickups/others", json={"code": codes["R-1"][1]}, headers=KIOSK)
    assert r.status_code == 200 and r.json() == {"opened": [codes["R-2"][0]], "skipped": []}
    again = client.post("/api/v1/pickups/others", json={"code": "12345678"}, headers=KIOSK)
    assert again.status_code == 409
    r = client.post("/api/v1/pickups/others", json={"code": codes["R-1"][1]}, headers=COURIER)
    assert r.status_code == 403
    assert client.get("/api/v1/lockouts", headers=ADMIN).json() == {}


def test_after_a_serial_scan_the_screen_opens_the_others_once(harness: Harness) -> None:
    from locker.scans import ScanDesk

    (c1, code1, _), (c2, _, _), (c3, _, _), _ = three_for_one(harness)
    desk = ScanDesk(harness.service, "/dev/ttyACM0")
    outcome = desk.scan(f"LKR1:demo:{code1}")
    assert outcome == {"ok": True, "compartment": c1, "purpose": "pickup", "others": 2}
    opened, skipped = harness.service.pickup_others_scanned(desk.terminal)
    assert opened == sorted([c2, c3]) and skipped == []
    with pytest.raises(Conflict):  # once: the window ends with it
        harness.service.pickup_others_scanned(desk.terminal)
    with pytest.raises(Conflict):  # nothing was scanned at the kiosk's own terminal
        harness.service.pickup_others_scanned(T)
    quiet = ScanDesk(harness.service, "/dev/ttyACM1", group=False)  # kiosk.group_pickup off
    upsert(harness, "R-9", recipient="apt-7", reference="C-R-9", delegate=True)
    (_, code9, _) = deposit(harness, "R-9")
    assert quiet.scan(code9)["ok"] is True and "others" not in quiet.scan(code9)


def test_over_rest_scanner_others_need_a_scanner(app_client: Any) -> None:
    client, _ = app_client  # the demo has no serial scanner
    r = client.post("/api/v1/pickups/others", json={"scanner": True}, headers=KIOSK)
    assert r.status_code == 409
    r = client.post("/api/v1/pickups/others", json={"scanner": True}, headers=ADMIN)
    assert r.status_code == 409  # the box's screen only
