"""A carer's code (contract v1.1, ``delegate``): a second code at deposit, either opens,
the first use spends both, ``parcel.collected`` says which (issue 15, decision 27)."""

from __future__ import annotations

from typing import Any

import pytest

from locker.domain.errors import Rejected, WrongCode
from locker.domain.model import State
from tests.conftest import Harness
from tests.test_lifecycle import events, upsert


def deposit(h: Harness, rid: str = "R-1") -> tuple[str, str, str]:
    """Deposit ``rid``: its compartment, pickup code and carer's code."""
    cid = h.service.deposit_by_courier(rid)
    h.cycle_door(cid)
    res = h.service.reservation(rid)
    assert res is not None
    codes = h.service.codes_of(res)
    return cid, codes["pickup_code"], codes["delegate_code"]


def collected_by(h: Harness, rid: str) -> str:
    found = [e for e in events(h) if e["type"] == "parcel.collected"]
    (event,) = [e for e in found if e["reservation_id"] == rid]
    return str(event["by"])


def test_the_deposit_issues_two_codes(harness: Harness) -> None:
    upsert(harness, delegate=True)
    cid, code, carer = deposit(harness)
    assert code != carer
    deposited = events(harness)[-1]
    assert deposited["type"] == "parcel.deposited"
    assert deposited["pickup_code"] == code and deposited["delegate_code"] == carer
    assert deposited["delegate_qr_payload"] == f"LKR1:demo:{carer}"
    shown = harness.service.codes_of(harness.service.reservation("R-1"))  # type: ignore[arg-type]
    assert shown["delegate_qr_payload"] == f"LKR1:demo:{carer}"
    assert cid == "A3"


def test_no_carer_no_second_code(harness: Harness) -> None:
    upsert(harness)
    cid = harness.service.deposit_by_courier("R-1")
    harness.cycle_door(cid)
    res = harness.service.reservation("R-1")
    assert res is not None and res.delegate_code is None
    assert "delegate_code" not in harness.service.codes_of(res)
    assert "delegate_code" not in events(harness)[-1]


@pytest.mark.parametrize("first", ["pickup", "delegate"])
def test_either_code_opens_and_spends_both(harness: Harness, first: str) -> None:
    upsert(harness, delegate=True)
    cid, code, carer = deposit(harness)
    used, other = (code, carer) if first == "pickup" else (carer, code)
    assert harness.service.pickup("kiosk-0@local", used) == cid
    for again in (used, other):  # the door is still open: both are spent already
        with pytest.raises(WrongCode) as err:
            harness.service.pickup("kiosk-0@local", again)
        assert err.value.reason == "used"
    harness.cycle_door(cid)
    assert harness.service.reservation("R-1").state is State.COLLECTED  # type: ignore[union-attr]
    assert collected_by(harness, "R-1") == first
    with pytest.raises(WrongCode) as err:  # after the pickup, from the database
        harness.service.pickup("kiosk-0@local", other)
    assert err.value.reason == "used"
    assert harness.doors.unlocked.count(cid) == 2  # the deposit and one pickup


def test_a_carer_code_opens_its_own_compartment_only(harness: Harness) -> None:
    upsert(harness, "R-1", delegate=True)
    upsert(harness, "R-2", delegate=True, reference="COLIS-2")
    cid1, _, carer1 = deposit(harness, "R-1")
    cid2, code2, carer2 = deposit(harness, "R-2")
    assert cid1 != cid2
    assert harness.service.pickup("kiosk-0@local", carer2) == cid2  # never cid1
    harness.cycle_door(cid2)
    assert collected_by(harness, "R-2") == "delegate"
    assert harness.service.reservation("R-1").state is State.DEPOSITED  # type: ignore[union-attr]
    with pytest.raises(WrongCode):
        harness.service.pickup("kiosk-0@local", code2)
    assert harness.service.pickup("kiosk-0@local", carer1) == cid1


def test_a_jammed_door_gives_both_codes_back(harness: Harness) -> None:
    upsert(harness, delegate=True)
    cid, code, carer = deposit(harness)
    harness.service.pickup("kiosk-0@local", carer)
    for _ in range(3):  # nobody opens it: re-pulse, then jammed
        harness.clock.advance(3600)
        harness.service.tick()
    assert any(e["type"] == "door.jammed" for e in events(harness))
    res = harness.service.reservation("R-1")
    assert res is not None and res.collected_by is None and len(res.live_codes()) == 2
    harness.service.set_service(cid, True)  # staff freed the door
    assert harness.service.pickup("kiosk-0@local", code) == cid  # the resident's works


def test_both_codes_survive_a_restart(harness: Harness) -> None:
    upsert(harness, delegate=True)
    cid, _, carer = deposit(harness)
    harness.reopen()
    res = harness.service.reservation("R-1")
    assert res is not None and res.delegate
    assert harness.service.codes_of(res)["delegate_code"] == carer
    assert harness.service.pickup("kiosk-0@local", carer) == cid


def test_the_carer_flag_cannot_change_once_deposited(harness: Harness) -> None:
    upsert(harness, delegate=True)
    deposit(harness)
    with pytest.raises(Rejected, match="delegate cannot change once deposited"):
        upsert(harness, version=2, delegate=False)
    assert events(harness)[-1]["type"] == "reservation.rejected"


def test_over_rest_admin_sees_both_codes_a_courier_neither(app_client: Any) -> None:
    from tests.conftest import ADMIN, COURIER, KIOSK
    from tests.test_api import book, door_cycle, state_of

    client, runtime = app_client
    book(client, delegate=True)
    cid = client.post("/api/v1/deposits", json={"reservation_id": "R-2031"}, headers=COURIER)
    cid = cid.json()["compartment"]
    door_cycle(client, runtime, cid)
    admin = state_of(client, "R-2031")
    assert admin["delegate"] is True and admin["delegate_code"] != admin["pickup_code"]
    assert admin["delegate_qr_payload"] == f"LKR1:demo:{admin['delegate_code']}"
    courier = client.get("/api/v1/reservations/R-2031", headers=COURIER).json()
    assert courier["delegate_code"] is None and courier["pickup_code"] is None
    from api import qr

    carer_qr = client.get("/api/v1/reservations/R-2031/qr.svg?code=delegate", headers=ADMIN)
    assert carer_qr.content == qr.svg(admin["delegate_qr_payload"])  # the carer's, not the other
    assert carer_qr.content != qr.svg(admin["qr_payload"])
    denied = client.get("/api/v1/reservations/R-2031/qr.png?code=delegate", headers=COURIER)
    assert denied.status_code == 403
    r = client.post("/api/v1/kiosk/codes", json={"code": admin["delegate_code"]}, headers=KIOSK)
    assert r.status_code == 200 and r.json() == {"compartment": cid, "purpose": "pickup"}
    r = client.post("/api/v1/kiosk/codes", json={"code": admin["pickup_code"]}, headers=KIOSK)
    assert r.status_code == 410 and r.json()["reason"] == "used"


def test_a_dropoff_has_no_carer(harness: Harness) -> None:
    from locker.domain.model import Kind

    with pytest.raises(Rejected, match="delegate is for deliveries only"):
        upsert(harness, kind=Kind.DROPOFF, recipient=None, delegate=True)
