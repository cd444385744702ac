"""Fair deadlines on a fixed clock: moved out of closed hours (at the deposit, on the
server's later deadline, on a closure), time given back after downtime and out of
service, never earlier, never on an untrusted clock; and the reminders."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from locker.domain.commands import ClearClosure, SetClosure
from locker.domain.lockout import LockoutPolicy
from locker.domain.model import State
from locker.domain.rules import Rules
from locker.hours.config import HoursConfig
from locker.sync.messages import check_event
from tests.conftest import Harness
from tests.helpers import book
from tests.test_lifecycle import deposit_and_close, events

PARIS = ZoneInfo("Europe/Paris")
WEEK = {d: ["09:00-12:00", "14:00-18:00"] for d in ("mon", "tue", "wed", "thu", "fri")}


def paris(day: int, hour: int, minute: int = 0) -> datetime:
    """A time of December 2026 in Paris (the 4th is a Friday, the 7th a Monday)."""
    return datetime(2026, 12, day, hour, minute, tzinfo=PARIS)


def rules_for(**hours: Any) -> Rules:
    cfg = HoursConfig.model_validate(hours)
    return Rules(
        locker_id="demo", lockout=LockoutPolicy(), hours=cfg.hours(), time=cfg.time_rules()
    )


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Harness]:
    h = Harness(tmp_path, rules_for(weekly=WEEK, reminder_h=0))
    h.clock.current = paris(4, 10)  # Friday morning, open
    yield h
    h.engine.dispose()


def parcel(tmp: Path) -> tuple[Harness, str]:
    """A site open at all times; on Friday at 10:00 a parcel deposited until Sunday 10:00."""
    h = Harness(tmp, rules_for(reminder_h=0))
    h.clock.current = paris(4, 10)
    book(h.service, h.clock.now(), expires_at=paris(6, 10))
    deposit_and_close(h)
    cid = h.service.reservation("R-1").compartment  # type: ignore[union-attr]
    assert cid is not None
    return h, cid


def deadline_events(h: Harness) -> list[tuple[str, datetime, datetime]]:
    for event in events(h):
        check_event(event)  # each as the contract has it
    return [
        (
            str(e["reason"]),
            datetime.fromisoformat(str(e["previous"])),
            datetime.fromisoformat(str(e["expires_at"])),
        )
        for e in events(h)
        if e["type"] == "reservation.deadline"
    ]


def expires(h: Harness, rid: str = "R-1") -> datetime:
    res = h.service.reservation(rid)
    assert res is not None
    return res.expires_at


def test_a_deadline_on_the_weekend_moves_to_monday_plus_the_grace(site: Harness) -> None:
    book(site.service, site.clock.now(), expires_at=paris(5, 15))  # Saturday afternoon
    assert expires(site) == paris(5, 15)  # not deposited yet: the courier always works
    deposit_and_close(site)
    assert expires(site) == paris(7, 11)  # Monday 9:00 + 2 h
    assert deadline_events(site) == [("hours", paris(5, 15), paris(7, 11))]
    told = [e["type"] for e in events(site)][-2:]
    assert told == ["parcel.deposited", "reservation.deadline"]  # the deposit, then the move


def test_the_grace_is_opening_time(site: Harness) -> None:
    book(site.service, site.clock.now(), "R-1", expires_at=paris(7, 11, 30))  # open: stays
    book(site.service, site.clock.now(), "R-2", expires_at=paris(7, 12, 30))  # lunch
    book(site.service, site.clock.now(), "R-3", expires_at=paris(4, 17, 30))  # Friday, late
    for rid in ("R-1", "R-2", "R-3"):
        deposit_and_close(site, rid)
    assert expires(site, "R-1") == paris(7, 11, 30)
    assert expires(site, "R-2") == paris(7, 16)  # 14:00 + 2 h
    assert expires(site, "R-3") == paris(4, 17, 30)  # open then: stays
    book(site.service, site.clock.now(), "R-3", version=2, expires_at=paris(4, 19))
    assert expires(site, "R-3") == paris(7, 11)  # Friday 18:00 closed: Monday 9:00 + 2 h


def test_the_servers_later_deadline_is_adjusted_the_same_way(site: Harness) -> None:
    book(site.service, site.clock.now(), expires_at=paris(7, 10))
    deposit_and_close(site)
    assert expires(site) == paris(7, 10)
    book(site.service, site.clock.now(), version=2, expires_at=paris(13, 10))  # a Sunday
    assert expires(site) == paris(14, 11)
    book(site.service, site.clock.now(), version=3, expires_at=paris(8, 10))  # earlier: taken
    assert expires(site) == paris(8, 10)
    assert deadline_events(site) == [("hours", paris(13, 10), paris(14, 11))]


def test_a_closure_moves_deadlines_and_clearing_it_never_brings_them_back(site: Harness) -> None:
    book(site.service, site.clock.now(), expires_at=paris(7, 10))
    deposit_and_close(site)
    site.service.server_command("q-1", SetClosure(paris(7, 0), paris(8, 0), "inventaire"))
    assert expires(site) == paris(8, 11)  # Tuesday 9:00 + 2 h
    site.service.server_command("q-2", ClearClosure(paris(7, 0)))
    assert expires(site) == paris(8, 11)  # never earlier
    assert deadline_events(site) == [("hours", paris(7, 10), paris(8, 11))]


def test_an_item_due_in_hours_closed_since_it_was_set_moves_instead_of_expiring(
    tmp_path: Path,
) -> None:
    h = Harness(tmp_path, rules_for(reminder_h=0))  # open at all times
    h.clock.current = paris(4, 10)
    book(h.service, h.clock.now(), expires_at=paris(5, 15))
    deposit_and_close(h)
    assert expires(h) == paris(5, 15)
    tick_at(h, paris(5, 14, 59))
    h.rules = rules_for(weekly=WEEK, reminder_h=0)  # the config changed, then a restart
    h.reopen()
    h.clock.current = paris(5, 15, 1)
    h.service.tick()
    res = h.service.reservation("R-1")
    assert res is not None and res.state is State.DEPOSITED and res.expires_at == paris(7, 11)
    h.clock.current = paris(7, 11, 1)
    h.service.tick()
    assert h.service.reservation("R-1").state is State.EXPIRED  # type: ignore[union-attr]
    h.engine.dispose()


def test_downtime_is_given_back_after_a_restart(tmp_path: Path) -> None:
    h, _ = parcel(tmp_path)
    h.service.tick()
    h.clock.advance(3 * 3600)  # down for three hours
    h.reopen()
    h.service.tick()
    assert expires(h) == paris(6, 13)
    assert deadline_events(h) == [("downtime", paris(6, 10), paris(6, 13))]
    res = h.service.reservation("R-1")
    assert res is not None and res.credit_s == pytest.approx(3 * 3600)
    h.clock.advance(300)  # a short restart gives nothing back
    h.reopen()
    h.service.tick()
    assert expires(h) == paris(6, 13)
    # the server's later deadline keeps the time given back
    book(h.service, h.clock.now(), version=2, expires_at=paris(9, 10))
    assert expires(h) == paris(9, 13)
    h.engine.dispose()


def test_downtime_waits_for_a_trusted_clock_even_across_another_restart(tmp_path: Path) -> None:
    h, _ = parcel(tmp_path)
    h.clock.current, h.clock.is_trusted = paris(4, 10, 1), False  # booted on a stale clock
    h.reopen()
    h.service.tick()
    h.service.door_changed("A1", False)  # the mark moves on, on the stale clock
    h.reopen()  # and again, before NTP answered
    h.service.tick()
    assert expires(h) == paris(6, 10)
    h.clock.current, h.clock.is_trusted = paris(4, 15), True  # NTP: five hours later
    h.service.tick()
    assert expires(h) == paris(6, 15)
    h.engine.dispose()


def test_time_out_of_service_is_given_back_to_the_item_inside(site: Harness) -> None:
    book(site.service, site.clock.now(), expires_at=paris(7, 10))
    deposit_and_close(site)
    cid = site.service.reservation("R-1").compartment  # type: ignore[union-attr]
    assert cid is not None
    site.service.set_service(cid, False, "door stuck")
    site.clock.advance(90 * 60)
    site.service.set_service(cid, True)
    assert expires(site) == paris(7, 11, 30)
    assert deadline_events(site) == [("downtime", paris(7, 10), paris(7, 11, 30))]


# -- reminders --------------------------------------------------------------------
@pytest.fixture
def reminding(tmp_path: Path) -> Iterator[Harness]:
    h = Harness(tmp_path, rules_for(reminder_h=12, quiet_hours="21:00-08:00"))
    h.clock.current = paris(7, 10)  # Monday
    yield h
    h.engine.dispose()


def reminders(h: Harness) -> list[dict[str, Any]]:
    for event in events(h):
        check_event(event)
    return [e for e in events(h) if e["type"] == "reservation.reminder"]


def tick_at(h: Harness, at: datetime) -> None:
    h.clock.current = at
    h.service.tick()


def test_a_reminder_once_and_not_again_after_a_restart(reminding: Harness) -> None:
    book(reminding.service, reminding.clock.now(), expires_at=paris(8, 20))
    deposit_and_close(reminding)
    tick_at(reminding, paris(8, 7, 59))  # 12 h before is 08:00 Tuesday
    assert reminders(reminding) == []
    tick_at(reminding, paris(8, 8, 0))
    [sent] = reminders(reminding)
    assert sent["reservation_id"] == "R-1" and sent["compartment"] == "A3"
    assert datetime.fromisoformat(sent["expires_at"]) == paris(8, 20)
    tick_at(reminding, paris(8, 9))
    reminding.reopen()
    tick_at(reminding, paris(8, 10))
    assert len(reminders(reminding)) == 1


def test_a_reminder_due_at_night_comes_the_evening_before(reminding: Harness) -> None:
    book(reminding.service, reminding.clock.now(), expires_at=paris(8, 15))  # 03:00 is quiet
    deposit_and_close(reminding)
    tick_at(reminding, paris(7, 20, 58))
    assert reminders(reminding) == []
    tick_at(reminding, paris(7, 20, 59))
    assert len(reminders(reminding)) == 1
    for hour in (22, 23):
        tick_at(reminding, paris(7, hour))
    assert len(reminders(reminding)) == 1


def test_a_reminder_missed_at_night_waits_for_the_morning(reminding: Harness) -> None:
    book(reminding.service, reminding.clock.now(), expires_at=paris(9, 9))  # Wednesday 9:00
    deposit_and_close(reminding)  # its reminder: Tuesday 20:59 (21:00 is quiet)
    tick_at(reminding, paris(8, 20, 30))
    reminding.clock.current = paris(8, 22, 30)  # down from 20:30 to 22:30
    reminding.reopen()
    reminding.service.tick()
    assert expires(reminding) == paris(9, 11)  # the two hours given back
    assert reminders(reminding) == []  # due at 23:00, moved to 20:59: it is night now
    tick_at(reminding, paris(9, 7, 59))
    assert reminders(reminding) == []
    tick_at(reminding, paris(9, 8, 0))
    assert len(reminders(reminding)) == 1


def test_no_reminder_on_an_untrusted_clock_nor_after_the_deadline(reminding: Harness) -> None:
    book(reminding.service, reminding.clock.now(), "R-1", expires_at=paris(8, 20))
    deposit_and_close(reminding, "R-1")
    reminding.clock.current, reminding.clock.is_trusted = paris(8, 9), False
    reminding.service.tick()
    assert reminders(reminding) == []
    reminding.clock.current, reminding.clock.is_trusted = paris(8, 20, 30), True
    reminding.service.tick()
    assert reminders(reminding) == []  # too late to remind: it expires
    assert reminding.service.reservation("R-1").state is State.EXPIRED  # type: ignore[union-attr]


def test_an_item_deposited_closer_to_its_deadline_gets_no_reminder(reminding: Harness) -> None:
    book(reminding.service, reminding.clock.now(), expires_at=paris(7, 18))
    deposit_and_close(reminding)
    for hour in (11, 12, 17):
        tick_at(reminding, paris(7, hour))
    assert reminders(reminding) == []


def test_downtime_moves_a_deadline_and_the_reminder_follows(reminding: Harness) -> None:
    book(reminding.service, reminding.clock.now(), expires_at=paris(8, 20))
    deposit_and_close(reminding)
    reminding.service.tick()
    reminding.clock.current = paris(7, 13)  # down from 10:00 to 13:00
    reminding.reopen()
    reminding.service.tick()
    assert expires(reminding) == paris(8, 23)
    tick_at(reminding, paris(8, 10, 59))
    assert reminders(reminding) == []
    tick_at(reminding, paris(8, 11, 0))
    assert len(reminders(reminding)) == 1


def test_the_servers_update_never_undoes_what_the_locker_announced(site: Harness) -> None:
    book(site.service, site.clock.now(), expires_at=paris(7, 10))
    deposit_and_close(site)
    site.service.server_command("q-1", SetClosure(paris(7, 0), paris(8, 0), "inventaire"))
    site.service.server_command("q-2", ClearClosure(paris(7, 0)))
    assert expires(site) == paris(8, 11)
    book(site.service, site.clock.now(), version=2, expires_at=paris(7, 10), recipient="x")
    assert expires(site) == paris(8, 11)  # the same deadline asked: nothing moves
    assert len(deadline_events(site)) == 1


def test_time_given_back_counts_from_the_servers_deadline(site: Harness) -> None:
    book(site.service, site.clock.now(), expires_at=paris(5, 3))  # Saturday 3:00
    deposit_and_close(site)
    assert expires(site) == paris(7, 11)
    cid = site.service.reservation("R-1").compartment  # type: ignore[union-attr]
    assert cid is not None
    site.service.set_service(cid, False, "door stuck")
    site.clock.advance(3600)
    site.service.set_service(cid, True)  # an hour given back: Saturday 4:00, still Monday
    assert expires(site) == paris(7, 11)
    book(site.service, site.clock.now(), version=2, expires_at=paris(5, 3, 30))
    assert expires(site) == paris(7, 11)  # the server's extension keeps the hour too


def test_an_outage_while_out_of_service_is_given_back_once(tmp_path: Path) -> None:
    h, cid = parcel(tmp_path)
    h.service.set_service(cid, False, "door stuck")  # out of service from 10:00
    h.clock.current = paris(4, 11)
    h.service.tick()
    h.clock.current = paris(4, 14)  # down from 11:00 to 14:00
    h.reopen()
    h.service.tick()
    assert expires(h) == paris(6, 13)
    h.clock.current = paris(4, 15)
    h.service.set_service(cid, True)  # out of service 10-11 and 14-15: two hours more
    assert expires(h) == paris(6, 15)
    h.engine.dispose()


def test_no_time_out_of_service_is_measured_on_an_untrusted_clock(tmp_path: Path) -> None:
    h, cid = parcel(tmp_path)
    h.clock.current, h.clock.is_trusted = paris(1, 10), False  # three days behind
    h.service.set_service(cid, False, "door stuck")
    h.clock.current, h.clock.is_trusted = paris(4, 10, 5), True  # NTP answered
    h.service.tick()
    h.clock.current = paris(4, 10, 20)
    h.service.set_service(cid, True)  # timed from the first trusted tick only
    assert expires(h) == paris(6, 10, 15)
    h.engine.dispose()


def test_an_item_deposited_at_night_is_reminded_in_the_morning(tmp_path: Path) -> None:
    h = Harness(tmp_path, rules_for(reminder_h=12, quiet_hours="21:00-08:00"))
    h.clock.current = paris(7, 21, 10)
    book(h.service, h.clock.now(), expires_at=paris(8, 9, 30))  # 12 h 20 min ahead
    deposit_and_close(h)
    tick_at(h, paris(7, 23))
    assert reminders(h) == []
    tick_at(h, paris(8, 8))
    assert len(reminders(h)) == 1
    h.engine.dispose()
