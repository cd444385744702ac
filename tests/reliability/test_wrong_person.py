"""The wrong-person matrix: every way of holding the wrong code is refused, nothing opens."""

from __future__ import annotations

from datetime import timedelta

import pytest

from locker.domain.errors import DomainError, Invalid, LockedOut
from locker.domain.model import Kind, Size
from tests.conftest import Harness
from tests.test_lifecycle import deposit_and_close, upsert


def attempts(h: Harness) -> list[tuple[str, dict[str, str | None]]]:
    """(what it is, how it is presented) for every wrong-person case."""
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
    h.service.cancel("GONE")
    dropoff = upsert(h, "DROP", kind=Kind.DROPOFF, size=Size.S)
    deposit_code = h.service.codes_of(dropoff)["deposit_code"]
    h.clock.advance(3601)
    h.service.tick()
    one_off = [live[:i] + str((int(live[i]) + 1) % 10) + live[i + 1 :] for i in range(8)]
    cases: list[tuple[str, dict[str, str | None]]] = [
        ("code of another locker", {"qr": f"LKR1:mairie-voisine:{live}"}),
        ("QR with a tampered locker id", {"qr": f"LKR1:dem0:{live}"}),
        ("expired code", {"code": old}),
        ("already used code", {"code": used}),
        ("code of a cancelled reservation", {"code": gone}),
        ("deposit code used as a pickup code", {"code": deposit_code}),
    ]
    cases += [(f"live code altered at digit {i + 1}", {"code": c}) for i, c in enumerate(one_off)]
    cases += [
        ("code with a letter", {"code": live[:7] + "x"}),
        ("code too short", {"code": live[:7]}),
        ("QR with a wrong prefix", {"qr": f"LKR2:demo:{live}"}),
        ("QR with an extra field", {"qr": f"LKR1:demo:{live}:x"}),
    ]
    return cases


def test_every_wrong_person_case_is_refused_and_opens_nothing(harness: Harness) -> None:
    cases = attempts(harness)
    before = len(harness.doors.unlocked)
    refused = []
    for i, (what, presented) in enumerate(cases):
        terminal = f"kiosk-0@10.0.0.{i}"  # one terminal each: the lockout is not what stops them
        with pytest.raises(DomainError) as err:
            harness.service.pickup(terminal, presented.get("code"), presented.get("qr"))
        assert not isinstance(err.value, LockedOut), what
        refused.append(what)
    assert refused == [what for what, _ in cases]  # 100 % refused
    assert len(harness.doors.unlocked) == before  # nothing opened
    opened = [e for e in harness.store.events(0, 10_000) if e.type == "door.opened"]
    assert all(e.data["reason"] != "pickup" or e.reservation_id == "USED" for e in opened)


def test_malformed_cases_are_422_not_wrong_codes(harness: Harness) -> None:
    for code in ("1234567", "123456789", "abcdefgh", "", " "):
        with pytest.raises(Invalid):
            harness.service.pickup("t", code)
    assert harness.service.lockouts() == {}
