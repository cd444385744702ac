"""The wrong-person matrix: every way of holding the wrong code is refused, for its own
reason, through both ways a code comes in (the pickup entry, and the kiosk's one entry
that takes a pickup or a deposit code), and nothing opens. The right codes, presented
afterwards, still open: the refusals are not a locker that refuses everything."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from locker.domain.errors import Invalid, LockedOut, WrongCode
from locker.domain.model import Kind, Purpose, Size
from tests.conftest import Harness
from tests.test_lifecycle import deposit_and_close, upsert

# what it is, how it is presented, the WrongCode reason expected (None: Invalid, a 422),
# or a reason for each entry where they differ
Case = tuple[str, dict[str, str], str | dict[str, str] | None]


def attempts(h: Harness) -> tuple[list[Case], str, str]:
    """Every wrong-person case, and the live pickup and deposit codes they are made from."""
    upsert(h, "LIVE")
    live = deposit_and_close(h, "LIVE")
    upsert(h, "USED")
    used = deposit_and_close(h, "USED")
    h.service.pickup("staff-test", used)
    h.cycle_door(h.service.reservation("USED").compartment)  # type: ignore[union-attr, arg-type]
    upsert(h, "OLD", expires_at=h.clock.now() + timedelta(hours=1))
    old = deposit_and_close(h, "OLD")
    upsert(h, "GONE")
    gone = deposit_and_close(h, "GONE")
    h.service.cancel("GONE")  # deposited: expired at once (decision 13)
    dropoff = upsert(h, "DROP", kind=Kind.DROPOFF, size=Size.S)
    deposit_code = h.service.codes_of(dropoff)["deposit_code"]
    dead_drop = upsert(h, "DEAD", kind=Kind.DROPOFF, size=Size.S)
    cancelled_code = h.service.codes_of(dead_drop)["deposit_code"]
    h.service.cancel("DEAD")  # not deposited: cancelled
    h.clock.advance(3601)
    h.service.tick()
    one_off = [live[:i] + str((int(live[i]) + 1) % 10) + live[i + 1 :] for i in range(8)]
    swapped = live[1] + live[0] + live[2:]
    cases: list[Case] = [
        ("code of another locker", {"qr": f"LKR1:mairie-voisine:{live}"}, "unknown"),
        ("QR with a tampered locker id", {"qr": f"LKR1:dem0:{live}"}, "unknown"),
        ("expired code", {"code": old}, "expired"),
        ("already used code", {"code": used}, "used"),
        ("code of a cancelled parcel (deposited)", {"code": gone}, "expired"),
        (
            "deposit code of a cancelled dropoff",
            {"code": cancelled_code},
            {"pickup": "unknown", "kiosk": "cancelled"},  # no pickup code of that reservation
        ),
        ("deposit code used as a pickup code", {"code": deposit_code}, "unknown"),
    ]
    cases += [
        (f"live code, digit {i + 1} altered", {"code": c}, "unknown") for i, c in enumerate(one_off)
    ]
    if swapped != live:
        cases.append(("live code, first two digits swapped", {"code": swapped}, "unknown"))
    cases += [
        ("code with a letter", {"code": live[:7] + "x"}, None),
        ("code too short", {"code": live[:7]}, None),
        ("QR with a wrong prefix", {"qr": f"LKR2:demo:{live}"}, None),
        ("QR with an extra field", {"qr": f"LKR1:demo:{live}:x"}, None),
    ]
    return cases, live, deposit_code


def entries(h: Harness) -> dict[str, Callable[[str, str | None, str | None], object]]:
    return {"pickup": h.service.pickup, "kiosk": h.service.use_code}


def test_every_wrong_person_case_is_refused_and_opens_nothing(harness: Harness) -> None:
    h = harness
    cases, live, deposit_code = attempts(h)
    before = len(h.doors.unlocked)
    refused: list[str] = []
    for entry, present in entries(h).items():
        for i, (what, presented, reasons) in enumerate(cases):
            reason = reasons.get(entry) if isinstance(reasons, dict) else reasons
            if entry == "kiosk" and presented.get("code") == deposit_code:
                continue  # at the kiosk a live deposit code is a deposit: the right person
            terminal = f"{entry}@10.0.0.{i}"  # one each: the lockout is not what stops them
            expected = WrongCode if reason is not None else Invalid
            with pytest.raises(expected) as err:
                present(terminal, presented.get("code"), presented.get("qr"))
            assert not isinstance(err.value, LockedOut), what
            if isinstance(err.value, WrongCode):
                assert err.value.reason == reason, (entry, what, err.value.reason)
            refused.append(f"{entry}: {what}")
    assert len(refused) == 2 * len(cases) - 1  # 100 % refused, through both entries
    assert len(h.doors.unlocked) == before  # nothing opened
    opened = [e for e in h.store.events(0, 10_000) if e.type == "door.opened"]
    assert all(e.data["reason"] != "pickup" or e.reservation_id == "USED" for e in opened)
    # the right person, after all of that, still gets in
    purpose, cid = h.service.use_code("kiosk@10.0.1.1", None, f"LKR1:demo:{live}")
    assert purpose is Purpose.PICKUP and cid == h.service.reservation("LIVE").compartment  # type: ignore[union-attr]
    purpose, cid = h.service.use_code("kiosk@10.0.1.2", deposit_code, None)
    assert purpose is Purpose.DEPOSIT and cid == h.service.reservation("DROP").compartment  # type: ignore[union-attr]
    assert h.doors.unlocked[before:] == [h.service.reservation("LIVE").compartment, cid]  # type: ignore[union-attr]


def test_malformed_cases_are_422_not_wrong_codes(harness: Harness) -> None:
    for code in ("1234567", "123456789", "abcdefgh", "", " "):
        with pytest.raises(Invalid):
            harness.service.pickup("t", code)
        with pytest.raises(Invalid):
            harness.service.use_code("t", code)
    assert harness.service.lockouts() == {}
