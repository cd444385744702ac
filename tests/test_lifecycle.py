"""Every transition and refusal of the reservation lifecycle, with a fixed clock."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

import pytest

from locker.domain.errors import Conflict, NotFound, Rejected, WrongCode
from locker.domain.model import Kind, Size, State
from locker.secrets import Sealer
from tests.conftest import Harness
from tests.helpers import book


def upsert(h: Harness, rid: str = "R-1", version: int = 1, **kw: Any) -> Any:
    return book(h.service, h.clock.now(), rid, version, **kw)


def events(h: Harness, after: int = 0) -> list[dict[str, Any]]:
    return [e.to_contract("demo", reveal=True) for e in h.store.events(after, 1000, reveal=True)]


def types(h: Harness, after: int = 0) -> list[str]:
    return [str(e["type"]) for e in events(h, after)]


def deposit_and_close(h: Harness, rid: str = "R-1") -> str:
    cid = h.service.deposit_by_courier(rid)
    h.cycle_door(cid)
    return h.service.codes_of(h.service.reservation(rid))["pickup_code"]  # type: ignore[arg-type]


def test_upsert_accepts_and_allocates(harness: Harness) -> None:
    res = upsert(harness)
    assert res.state is State.ACCEPTED and res.compartment == "A3"
    [event] = events(harness)
    assert event["type"] == "reservation.accepted"
    assert event["seq"] == 1 and event["compartment"] == "A3"
    assert event["reservation_id"] == "R-1" and "deposit_code" not in event


def test_dropoff_gets_a_deposit_code(harness: Harness) -> None:
    res = upsert(harness, kind=Kind.DROPOFF, size=Size.S)
    code = harness.service.codes_of(res)["deposit_code"]
    assert len(code) == 8 and code.isdigit()
    masked = harness.service.events(0, 10)[0].to_contract("demo")
    assert masked["deposit_code"] == "********"


def test_duplicate_and_stale_versions_change_nothing(harness: Harness) -> None:
    upsert(harness, version=3, recipient="apt-12")
    assert upsert(harness, version=3, recipient="other").recipient == "apt-12"
    assert upsert(harness, version=2, recipient="older").recipient == "apt-12"
    assert types(harness) == ["reservation.accepted"]


def test_newer_version_updates_and_reallocates(harness: Harness) -> None:
    upsert(harness, size=Size.S)
    res = upsert(harness, version=2, size=Size.L, recipient="apt-3")
    assert res.compartment == "A2" and res.recipient == "apt-3" and res.version == 2
    assert types(harness) == ["reservation.accepted", "reservation.accepted"]
    assert harness.service.free_counts()["S"] == 4


def test_no_fit_is_rejected_and_not_kept(harness: Harness) -> None:
    for i in range(3):
        upsert(harness, f"L{i}", size=Size.L)
    with pytest.raises(Rejected, match="no compartment fits"):
        upsert(harness, "L3", size=Size.L)
    assert harness.service.reservation("L3") is None
    last = events(harness)[-1]
    assert last["type"] == "reservation.rejected" and "size L" in str(last["reason"])


def test_too_late_is_rejected(harness: Harness) -> None:
    with pytest.raises(Rejected, match="too late"):
        upsert(harness, expires_at=harness.clock.now() - timedelta(seconds=1))


def test_version_below_one_is_rejected(harness: Harness) -> None:
    with pytest.raises(Rejected, match="version"):
        upsert(harness, version=0)


def test_delivery_deposit_then_pickup(harness: Harness) -> None:
    upsert(harness)
    cid = harness.service.deposit_by_courier("R-1")
    assert harness.doors.unlocked == [cid]
    assert harness.service.reservation("R-1").state is State.ACCEPTED  # type: ignore[union-attr]
    harness.cycle_door(cid)
    res = harness.service.reservation("R-1")
    assert res is not None and res.state is State.DEPOSITED
    code = harness.service.codes_of(res)["pickup_code"]
    deposited = events(harness)[-1]
    assert deposited["type"] == "parcel.deposited"
    assert deposited["pickup_code"] == code and deposited["qr_payload"] == f"LKR1:demo:{code}"

    assert harness.service.pickup("kiosk-0@local", code) == cid
    harness.cycle_door(cid)
    res = harness.service.reservation("R-1")
    assert res is not None and res.state is State.COLLECTED
    assert types(harness) == [
        "reservation.accepted",
        "door.opened",
        "parcel.deposited",
        "door.opened",
        "parcel.collected",
    ]
    assert harness.service.free_counts() == {"S": 4, "M": 5, "L": 3}


def test_deposit_by_reference(harness: Harness) -> None:
    upsert(harness, reference="COLIS-88412")
    assert harness.service.deposit_by_courier(reference="COLIS-88412") == "A3"


def test_a_pickup_code_opens_once(harness: Harness) -> None:
    upsert(harness)
    code = deposit_and_close(harness)
    harness.service.pickup("t", code)
    with pytest.raises(WrongCode) as err:
        harness.service.pickup("t", code)  # door still open: already used
    assert err.value.reason == "used"
    harness.cycle_door("A3")
    with pytest.raises(WrongCode) as err:  # elsewhere: spent (the re-open window aside)
        harness.service.pickup("u", code)
    assert err.value.reason == "used"
    harness.clock.advance(harness.rules.time.reopen_s)
    with pytest.raises(WrongCode) as err:  # and there too once its window is over
        harness.service.pickup("t", code)
    assert err.value.reason == "used"
    assert harness.doors.unlocked.count("A3") == 2  # deposit + one pickup


def test_dropoff_deposit_code_then_provider_pickup(harness: Harness) -> None:
    res = upsert(harness, kind=Kind.DROPOFF, size=Size.S)
    deposit_code = harness.service.codes_of(res)["deposit_code"]
    with pytest.raises(WrongCode):
        harness.service.pickup("t", deposit_code)  # a deposit code is no pickup code
    cid = harness.service.deposit_with_code("t", None, f"LKR1:demo:{deposit_code}")
    harness.cycle_door(cid)
    with pytest.raises(WrongCode) as err:
        harness.service.deposit_with_code("t", deposit_code)
    assert err.value.reason == "used"
    pickup_code = harness.service.codes_of(harness.service.reservation("R-1"))["pickup_code"]  # type: ignore[arg-type]
    assert pickup_code != deposit_code
    assert harness.service.pickup("t", pickup_code) == cid


def test_a_courier_cannot_deposit_a_dropoff(harness: Harness) -> None:
    upsert(harness, kind=Kind.DROPOFF)
    with pytest.raises(Conflict):
        harness.service.deposit_by_courier("R-1")


def test_code_of_another_locker_is_refused(harness: Harness) -> None:
    upsert(harness)
    code = deposit_and_close(harness)
    with pytest.raises(WrongCode):
        harness.service.pickup("t", None, f"LKR1:mairie-ailleurs:{code}")
    assert harness.doors.unlocked == ["A3"]


def test_cancel_accepted_frees_the_compartment(harness: Harness) -> None:
    upsert(harness)
    res = harness.service.cancel("R-1", 2)
    assert res.state is State.CANCELLED and harness.service.free_counts()["M"] == 5
    assert types(harness)[-1] == "reservation.cancelled"
    assert upsert(harness, version=2).state is State.CANCELLED  # stale after cancel


def test_a_greater_version_books_again_after_a_staff_cancel(harness: Harness) -> None:
    upsert(harness)
    harness.service.cancel("R-1")  # staff, over REST: no version
    res = upsert(harness, version=2)  # decision 17: the greater version wins
    assert res.state is State.ACCEPTED and res.compartment == "A3" and res.version == 2
    assert types(harness)[-2:] == ["reservation.cancelled", "reservation.accepted"]


def test_collected_reservation_is_not_booked_again(harness: Harness) -> None:
    upsert(harness)
    code = deposit_and_close(harness)
    harness.service.pickup("t", code)
    harness.cycle_door("A3")
    with pytest.raises(Rejected, match="already collected"):
        upsert(harness, version=2)


def test_a_parcel_reference_belongs_to_one_live_reservation(harness: Harness) -> None:
    upsert(harness, "A", reference="COLIS-1")
    with pytest.raises(Rejected, match="reference"):
        upsert(harness, "B", reference="COLIS-1")
    harness.service.cancel("A")
    assert upsert(harness, "B", reference="COLIS-1").state is State.ACCEPTED
    assert harness.service.deposit_by_courier(reference="COLIS-1") == "A3"


def test_cancel_of_deposited_expires_and_return_frees(harness: Harness) -> None:
    upsert(harness)
    code = deposit_and_close(harness)
    res = harness.service.cancel("R-1")
    assert res.state is State.EXPIRED and types(harness)[-1] == "reservation.expired"
    assert harness.service.free_counts()["M"] == 4  # the item is still inside
    with pytest.raises(WrongCode) as err:
        harness.service.pickup("t", code)
    assert err.value.reason == "expired"
    cid = harness.service.return_item("R-1")
    harness.cycle_door(cid)
    assert harness.service.reservation("R-1").state is State.RETURNED  # type: ignore[union-attr]
    assert types(harness)[-1] == "parcel.returned"
    assert harness.service.free_counts()["M"] == 5


def test_cancel_that_overtakes_its_upsert(harness: Harness) -> None:
    harness.service.cancel("R-9", 2)
    assert upsert(harness, "R-9", version=1).state is State.CANCELLED
    with pytest.raises(NotFound):
        harness.service.cancel("nope")


def test_return_needs_an_expired_item(harness: Harness) -> None:
    upsert(harness)
    with pytest.raises(Conflict):
        harness.service.return_item("R-1")


def test_deposited_upsert_may_change_expiry_and_recipient_only(harness: Harness) -> None:
    upsert(harness)
    deposit_and_close(harness)
    later = harness.clock.now() + timedelta(days=5)
    with pytest.raises(Rejected, match="size cannot change"):
        upsert(harness, version=2, size=Size.L, expires_at=later)
    res = harness.service.reservation("R-1")
    assert res is not None and res.version == 1 and res.state is State.DEPOSITED
    res = upsert(harness, version=3, expires_at=later, recipient="apt-1")
    assert res.expires_at == later and res.recipient == "apt-1" and res.version == 3


def test_expiry_of_accepted_and_deposited(harness: Harness) -> None:
    upsert(harness, "A", expires_at=harness.clock.now() + timedelta(hours=1))
    upsert(harness, "B", expires_at=harness.clock.now() + timedelta(hours=1))
    deposit_and_close(harness, "B")
    harness.clock.advance(3601)
    harness.service.tick()
    a, b = harness.service.reservation("A"), harness.service.reservation("B")
    assert a is not None and a.state is State.EXPIRED and not a.holds_compartment
    assert b is not None and b.state is State.EXPIRED and b.holds_compartment
    assert types(harness)[-2:] == ["reservation.expired", "reservation.expired"]


def test_no_expiry_on_an_untrusted_clock(harness: Harness) -> None:
    upsert(harness, expires_at=harness.clock.now() + timedelta(hours=1))
    harness.clock.is_trusted = False
    harness.clock.advance(7200)
    harness.service.tick()
    assert harness.service.reservation("R-1").state is State.ACCEPTED  # type: ignore[union-attr]


def test_no_expiry_after_the_clock_jumped_back(harness: Harness) -> None:
    upsert(harness, expires_at=harness.clock.now() + timedelta(hours=1))
    harness.clock.advance(600)
    harness.service.tick()  # the locker has now seen T0 + 10 min
    harness.clock.advance(-86400 * 3)  # a Pi booting without its clock
    assert not harness.service.clock_trusted()
    harness.service.tick()
    assert harness.service.reservation("R-1").state is State.ACCEPTED  # type: ignore[union-attr]


def test_seq_is_gap_free_across_a_restart(harness: Harness) -> None:
    upsert(harness, "A")
    with pytest.raises(Rejected):
        upsert(harness, "B", version=0)
    harness.reopen()
    upsert(harness, "C")
    assert [e["seq"] for e in events(harness)] == [1, 2, 3]
    assert len({e["event_id"] for e in events(harness)}) == 3


def test_database_file_reveals_no_live_code(harness: Harness) -> None:
    upsert(harness, "D", kind=Kind.DROPOFF, size=Size.S)
    upsert(harness, "P")
    pickup = deposit_and_close(harness, "P")
    deposit = harness.service.codes_of(harness.service.reservation("D"))["deposit_code"]  # type: ignore[arg-type]
    harness.engine.dispose()
    raw = b"".join(p.read_bytes() for p in harness.tmp.glob("locker.db*"))
    assert raw  # the database and its WAL were read
    for code in (pickup, deposit):
        assert code.encode() not in raw
        assert code.encode("utf-16-le") not in raw
        # an unkeyed hash could be reversed by trying all 10^8 codes: none is stored...
        for text in (code, f"demo:{code}"):
            for algo in (hashlib.sha256, hashlib.sha1, hashlib.md5):
                assert algo(text.encode()).hexdigest().encode() not in raw
        # ...the digest that is stored needs the locker's key
        assert harness.sealer.digest(code).encode() in raw
        other_key = Sealer(b"another-key-0123456789", "demo")
        assert other_key.digest(code).encode() not in raw
