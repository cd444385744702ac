"""The host site's hours on a fixed clock: a normal week, public holidays (14 July, Whit
Monday, 26 December in Alsace-Moselle), closures, the DST weekends, fair deadlines,
and check-config's word on bad ranges."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from locker.config import ConfigError
from locker.domain.hours import Closure, Hours
from locker.hours.config import HoursConfig
from tests.helpers import settings_for

PARIS = ZoneInfo("Europe/Paris")
WEEK = {
    "mon": ["09:00-12:00", "14:00-18:30"],
    "tue": ["09:00-12:00", "14:00-18:30"],
    "wed": ["09:00-12:00"],
    "thu": ["09:00-12:00", "14:00-18:30"],
    "fri": ["09:00-12:00", "14:00-18:30"],
    "sat": ["09:00-12:00"],
}


def paris(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=PARIS)


def hours(**values: Any) -> Hours:
    return HoursConfig.model_validate({"weekly": WEEK, **values}).hours()


def test_a_normal_week() -> None:
    h = hours()
    assert h.is_open(paris(2026, 12, 7, 9, 0))  # Monday, the opening minute
    assert not h.is_open(paris(2026, 12, 7, 8, 59))
    assert not h.is_open(paris(2026, 12, 7, 12, 0))  # lunch
    assert h.closed_until(paris(2026, 12, 7, 12, 30)) == paris(2026, 12, 7, 14, 0)
    assert h.is_open(paris(2026, 12, 9, 11, 59))  # Wednesday morning only
    assert h.closed_until(paris(2026, 12, 9, 15, 0)) == paris(2026, 12, 10, 9, 0)
    # Saturday noon to Monday nine: closed all Sunday
    assert h.closed_until(paris(2026, 12, 12, 12, 0)) == paris(2026, 12, 14, 9, 0)
    assert h.closed_until(paris(2026, 12, 13, 15, 0)) == paris(2026, 12, 14, 9, 0)
    assert h.closes_at(paris(2026, 12, 7, 15, 0)) == paris(2026, 12, 7, 18, 30)
    assert h.closed_until(paris(2026, 12, 7, 10, 0)) is None


def test_always_is_open_but_for_closures() -> None:
    h = HoursConfig().hours()
    assert h.always and h.is_open(paris(2026, 12, 25, 3, 0))  # holidays only close a schedule
    closed = h.with_closures((Closure(paris(2026, 12, 24, 12), paris(2026, 12, 26, 9)),))
    assert not closed.is_open(paris(2026, 12, 25, 3, 0))
    assert closed.closed_until(paris(2026, 12, 25, 3, 0)) == paris(2026, 12, 26, 9, 0)


@pytest.mark.parametrize(
    ("day", "subdivision", "closed"),
    [
        (paris(2026, 7, 14, 10), None, True),  # Tuesday 14 July, Fête nationale
        (paris(2027, 5, 17, 10), None, True),  # Whit Monday 2027
        (paris(2026, 12, 28, 10), None, False),  # an ordinary Monday
        (paris(2027, 12, 27, 10), None, False),  # Monday 27 December: no holiday anywhere
        (paris(2027, 12, 27, 10), "57", False),
        (paris(2026, 12, 26, 10), None, False),  # Saturday 26 December: open in Lyon...
        (paris(2026, 12, 26, 10), "57", True),  # ...closed in Metz (Saint-Étienne)
        (paris(2027, 3, 26, 10), "57", True),  # Good Friday in Alsace-Moselle
        (paris(2027, 3, 26, 10), None, False),
    ],
)
def test_public_holidays(day: datetime, subdivision: str | None, closed: bool) -> None:
    h = hours(subdivision=subdivision)
    assert h.is_open(day) is not closed
    assert hours(subdivision=subdivision, public_holidays=False).is_open(day)


def test_fair_deadline_after_a_holiday() -> None:
    h = hours()
    # due on Whit Monday morning: the site opens on Tuesday at nine, plus two hours
    assert h.fair_deadline(paris(2027, 5, 17, 10, 0)) == paris(2027, 5, 18, 11, 0)


def test_fair_deadline_moves_to_the_next_opening_plus_grace() -> None:
    h = hours()
    sunday_3am = paris(2026, 12, 13, 3, 0)
    assert h.fair_deadline(sunday_3am) == paris(2026, 12, 14, 11, 0)
    assert h.fair_deadline(paris(2026, 12, 7, 10, 0)) == paris(2026, 12, 7, 10, 0)  # open
    # the grace is opening time: Wednesday 11:00-12:00 is one hour, then Thursday 9:00
    short = hours(weekly={"wed": ["11:00-12:00"], "thu": ["09:00-18:00"]})
    assert short.fair_deadline(paris(2026, 12, 9, 8, 0)) == paris(2026, 12, 10, 10, 0)
    assert hours(grace_after_opening_h=0).fair_deadline(sunday_3am) == paris(2026, 12, 14, 9)


def test_spring_forward_weekend() -> None:
    # 28 March 2027: 02:00 becomes 03:00 in Paris
    h = hours(weekly={"sun": ["01:00-04:00"], "mon": ["09:00-12:00"]})
    night = h.intervals(paris(2027, 3, 27, 12), paris(2027, 3, 28, 12))
    assert len(night) == 1 and night[0][1] - night[0][0] == timedelta(hours=2)  # real hours
    assert h.is_open(datetime(2027, 3, 28, 0, 30, tzinfo=UTC))  # 01:30 CET
    assert h.is_open(datetime(2027, 3, 28, 1, 30, tzinfo=UTC))  # 03:30 CEST
    assert not h.is_open(datetime(2027, 3, 28, 2, 0, tzinfo=UTC))  # 04:00 CEST
    # a range wholly in the missing hour does not happen, and does not break anything
    gap = hours(weekly={"sun": ["02:00-03:00"], "mon": ["09:00-12:00"]})
    # (Monday 29 March 2027 is Easter Monday: the next opening is Sunday's, a week on)
    assert gap.closed_until(paris(2027, 3, 27, 12)) == paris(2027, 4, 4, 2)
    # a deadline given in the missing hour (02:30 at +01:00, i.e. 03:30 CEST)
    missing = datetime.fromisoformat("2027-03-28T02:30:00+01:00")
    assert hours().fair_deadline(missing) == paris(2027, 3, 30, 11, 0)
    assert hours(public_holidays=False).fair_deadline(missing) == paris(2027, 3, 29, 11, 0)
    assert hours().fair_deadline(missing).utcoffset() is not None


def test_fall_back_weekend() -> None:
    # 31 October 2027: 03:00 becomes 02:00 again; a night range lasts an hour more
    h = hours(weekly={"sun": ["00:00-06:00"], "mon": ["09:00-12:00"]})
    first = h.intervals(paris(2027, 10, 30, 12), paris(2027, 11, 1, 0))
    assert len(first) == 1 and first[0][1] - first[0][0] == timedelta(hours=7)
    assert h.is_open(datetime(2027, 10, 31, 1, 30, tzinfo=UTC))  # the second 02:30
    after = datetime(2027, 10, 31, 5, 0, tzinfo=UTC)  # 06:00 CET: closed again
    assert h.closed_until(after) == paris(2027, 11, 7, 0)  # Monday 1 November is Toussaint
    # opening hours keep their wall time on both sides of the change
    week = hours()
    assert week.closed_until(paris(2027, 10, 30, 13)) == paris(2027, 11, 2, 9)  # 1 Nov: Toussaint
    assert paris(2027, 11, 2, 9).utcoffset() == timedelta(hours=1)


def test_closures_from_the_config_in_local_time() -> None:
    h = hours(closures=[{"from": "2026-12-24T12:00", "to": "2026-12-28T14:00", "reason": "mairie"}])
    assert not h.is_open(paris(2026, 12, 28, 10))  # a Monday, but closed
    assert h.closed_until(paris(2026, 12, 24, 12)) == paris(2026, 12, 28, 14)


def test_a_site_that_never_opens_keeps_its_deadlines() -> None:
    h = HoursConfig().hours().with_closures((Closure(paris(2026, 1, 1), paris(2030, 1, 1)),))
    assert h.closed_until(paris(2026, 12, 7)) is None
    assert h.fair_deadline(paris(2026, 12, 7)) == paris(2026, 12, 7)


@pytest.mark.parametrize(
    ("weekly", "expected"),
    [
        ({"mon": ["09:00-12:00", "11:00-14:00"]}, "hours: weekly.mon[1]: '11:00-14:00' overlaps"),
        ({"tue": ["10:00-10:00"]}, "hours: weekly.tue[0]: '10:00-10:00' is an empty range"),
        ({"wed": ["18:00-02:00"]}, "hours: weekly.wed[0]: '18:00-02:00' ends before it starts"),
        ({"thu": ["9h-12h"]}, "hours: weekly.thu[0]: '9h-12h' is not a range"),
        ({"fri": ["09:00-25:00"]}, "hours: weekly.fri[0]: '09:00-25:00': 25:00 is not a time"),
        ({"sat": []}, "hours: weekly: no day has an opening range"),
    ],
)
def test_check_config_rejects_bad_ranges_with_their_location(
    tmp_path: Path, weekly: dict[str, list[str]], expected: str
) -> None:
    with pytest.raises(ConfigError) as err:
        settings_for(tmp_path, hours={"weekly": weekly})
    assert any(p.startswith(expected) for p in err.value.problems), err.value.problems


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"timezone": "Europe/Pariss"}, "hours.timezone: 'Europe/Pariss' is not a time zone"),
        ({"subdivision": "99"}, "hours.subdivision: '99' is not a French subdivision"),
        ({"weekly": {"mon": ["09:00-12:00"]}, "lundi": 1}, "hours.lundi: unknown key"),
        (
            {"closures": [{"from": "2026-12-26T09:00", "to": "2026-12-24T12:00"}]},
            "hours: closures[0]: 'to' must come after 'from'",
        ),
    ],
)
def test_check_config_rejects_other_mistakes(
    tmp_path: Path, values: dict[str, Any], expected: str
) -> None:
    with pytest.raises(ConfigError) as err:
        settings_for(tmp_path, hours=values)
    assert any(p.startswith(expected) for p in err.value.problems), err.value.problems


def test_the_example_config_is_open_always(tmp_path: Path) -> None:
    assert settings_for(tmp_path).hours.hours().always
