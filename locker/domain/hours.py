"""The host site's opening hours: a weekly schedule in the site's time zone, public
holidays, exceptional closures; whether the site is open, when it opens again, and
the fair deadline of an item whose deadline falls while it is closed.

Times inside are aware datetimes; the schedule's ranges are local times of the
site's zone, turned into instants day by day, so a daylight-saving change is
handled where it happens: a range that starts in the hour that does not exist
(the last Sunday of March) starts when the clocks have gone forward, and one on
the night the clocks go back lasts the hour longer it really lasts.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo

Interval = tuple[datetime, datetime]  # [start, end) in UTC
Ranges = tuple[tuple[int, int], ...]  # minutes since local midnight: [start, end), end <= 1440
CLOSURES = "closures"  # the server's closures, in the service's meta data
_DAY = timedelta(days=1)
_HORIZON_DAYS = 400  # a site that does not open within this is treated as never opening
_CHUNK_DAYS = 14


def _no_holiday(day: date) -> str | None:
    return None


@dataclass(frozen=True, slots=True)
class Closure:
    """An exceptional closure of the host site (config or the server's ``set_closure``)."""

    start: datetime
    end: datetime
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Hours:
    """``weekly`` None: open at all times (closures aside); else seven days of ranges,
    Monday first. ``holiday(day)`` names a public holiday (closed all day) or None."""

    tz: tzinfo = UTC
    weekly: tuple[Ranges, ...] | None = None
    holiday: Callable[[date], str | None] = field(default=_no_holiday, compare=False)
    closures: tuple[Closure, ...] = ()
    grace_h: float = 2.0  # of opening time given after a deadline moved to an opening

    @property
    def always(self) -> bool:
        return self.weekly is None and not self.closures

    def with_closures(self, closures: tuple[Closure, ...]) -> Hours:
        return Hours(self.tz, self.weekly, self.holiday, closures, self.grace_h)

    # -- the schedule as instants ----------------------------------------------
    def _local(self, day: date, minutes: int) -> datetime:
        at = datetime.combine(day, time()) + timedelta(minutes=minutes)
        # NOTE: a wall time in the spring gap takes the offset before the change, so
        # it lands just after the clocks went forward; fold 0 in the autumn repeat.
        return at.replace(tzinfo=self.tz).astimezone(UTC)

    def _day(self, day: date) -> list[Interval]:
        assert self.weekly is not None
        if self.holiday(day) is not None:
            return []
        out = []
        for start, end in self.weekly[day.weekday()]:
            a, b = self._local(day, start), self._local(day, end)
            if a < b:  # a range wholly inside the missing hour is not there that night
                out.append((a, b))
        return out

    def intervals(self, start: datetime, end: datetime) -> list[Interval]:
        """The open intervals meeting [start, end), closures taken out, joined where
        one ends as the next begins (a range to midnight and one from midnight)."""
        start, end = start.astimezone(UTC), end.astimezone(UTC)
        if self.weekly is None:
            raw = [(start, end)]
        else:
            raw = []
            day = start.astimezone(self.tz).date() - _DAY
            last = end.astimezone(self.tz).date() + _DAY
            while day <= last:
                raw.extend(self._day(day))
                day += _DAY
        for closure in self.closures:
            raw = [piece for iv in raw for piece in _minus(iv, closure)]
        joined: list[Interval] = []
        for a, b in sorted(raw):
            if joined and a <= joined[-1][1]:
                joined[-1] = (joined[-1][0], max(joined[-1][1], b))
            else:
                joined.append((a, b))
        return [(a, b) for a, b in joined if b > start and a < end]

    def _ahead(self, at: datetime) -> Iterator[Interval]:
        """Open intervals ending after ``at``, in order, up to the horizon."""
        lo = at
        for _ in range(_HORIZON_DAYS // _CHUNK_DAYS + 1):
            hi = lo + timedelta(days=_CHUNK_DAYS)
            for a, b in self.intervals(lo, hi):
                if b > at:
                    yield max(a, lo), b
            lo = hi

    # -- questions -------------------------------------------------------------
    def is_open(self, at: datetime) -> bool:
        if self.always:
            return True
        return any(a <= at < b for a, b in self.intervals(at, at + timedelta(seconds=1)))

    def next_opening(self, at: datetime) -> datetime | None:
        """``at`` itself while open; else when the site opens next (None: not within
        the horizon)."""
        for a, _ in self._ahead(at):
            return max(a, at)
        return None

    def closed_until(self, at: datetime) -> datetime | None:
        """None while open; else when the site opens again (or None if it never does)."""
        return None if self.is_open(at) else self.next_opening(at)

    def closes_at(self, at: datetime) -> datetime | None:
        """While open, when the site closes next (None: not within the horizon)."""
        if self.always:
            return None
        for a, b in self._ahead(at):
            if a <= at < b:
                return b if b < at + timedelta(days=_CHUNK_DAYS) else None
            return None
        return None

    def fair_deadline(self, deadline: datetime) -> datetime:
        """A deadline that falls while the site is closed moves to the next opening plus
        ``grace_h`` hours of opening time (the resident gets that long at the box
        open); one that falls while open, or on a site that never opens, stays."""
        if self.is_open(deadline):
            return deadline
        left = timedelta(hours=self.grace_h)
        for a, b in self._ahead(deadline):
            a = max(a, deadline)
            if b - a >= left:
                return a + left
            left -= b - a
        return deadline


def _minus(iv: Interval, closure: Closure) -> list[Interval]:
    a, b = iv
    c, d = closure.start.astimezone(UTC), closure.end.astimezone(UTC)
    if d <= a or c >= b:
        return [iv]
    return [p for p in ((a, c), (d, b)) if p[0] < p[1]]


def parse_range(text: str) -> tuple[int, int]:
    """``"09:00-12:30"`` as minutes since midnight; ``24:00`` ends a day. Raises ValueError."""
    parts = text.replace(" ", "").split("-")
    if len(parts) != 2:
        raise ValueError(f"{text!r} is not a range such as '09:00-12:00'")
    return _minutes(parts[0], text), _minutes(parts[1], text)


def _minutes(part: str, text: str) -> int:
    hh, sep, mm = part.partition(":")
    if not (sep and hh.isdigit() and mm.isdigit() and len(mm) == 2 and len(hh) <= 2):
        raise ValueError(f"{text!r} is not a range such as '09:00-12:00'")
    value = int(hh) * 60 + int(mm)
    if int(mm) > 59 or value > 24 * 60:
        raise ValueError(f"{text!r}: {part} is not a time of day")
    return value


def in_ranges(minutes: int, start: int, end: int) -> bool:
    """``minutes`` of a day within [start, end), a range that may cross midnight."""
    if start <= end:
        return start <= minutes < end
    return minutes >= start or minutes < end


@dataclass(frozen=True, slots=True)
class TimeRules:
    """The resident's time around the site's hours (``[hours]``)."""

    closed_blocks_pickups: bool = False  # residents' codes refused while closed
    reminder_h: float = 12.0  # 0: no reminders
    quiet: tuple[int, int] | None = None  # local minutes [start, end): no reminder then
    reopen_s: float = 60.0


def closures_json(closures: tuple[Closure, ...]) -> str:
    """The server's closures as kept in the service's meta data."""
    return json.dumps(
        [
            {"from": c.start.isoformat(), "to": c.end.isoformat(), "reason": c.reason}
            for c in closures
        ]
    )


def closures_from(text: str | None) -> tuple[Closure, ...]:
    if not text:
        return ()
    return tuple(
        Closure(datetime.fromisoformat(c["from"]), datetime.fromisoformat(c["to"]), c["reason"])
        for c in json.loads(text)
    )
