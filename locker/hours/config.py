"""``[hours]``: when the host site is open, its public holidays and closures, and the
resident's time around them (grace after an opening, reminders, the re-open window)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime, tzinfo
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import holidays
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from locker.domain.hours import Closure, Hours, Ranges, TimeRules, parse_range

Holiday = Callable[[date], str | None]

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ClosureConfig(_Strict):
    # NOTE: "from" is a Python keyword: the TOML key is `from`, the attribute `start`.
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    start: datetime = Field(alias="from", description="local time of the site, or with offset")
    to: datetime
    reason: str = Field(default="", max_length=200)


class HoursConfig(_Strict):
    timezone: str = Field(default="Europe/Paris", description="the site's zone (IANA name)")
    weekly: Literal["always"] | dict[Day, list[str]] = Field(
        default="always",
        description="'always', or ranges a day: mon = ['09:00-12:00', '14:00-18:30']; "
        "a day left out is closed",
    )
    public_holidays: bool = Field(default=True, description="closed on French public holidays")
    subdivision: str | None = Field(
        default=None,
        description="'57' (Alsace-Moselle) or '6AE' (Alsace): Good Friday and 26 December too",
    )
    closures: list[ClosureConfig] = Field(default_factory=list)
    closed_blocks_pickups: bool = Field(
        default=False,
        description="true where the cabinet cannot be reached while the site is closed: "
        "residents' codes are refused then (couriers and staff always work)",
    )
    grace_after_opening_h: float = Field(default=2.0, ge=0, le=72)
    reminder_h: float = Field(default=12.0, ge=0, le=168, description="0: no reminders")
    quiet_hours: str | None = Field(
        default="21:00-08:00", description="no reminder in these hours (local); may cross midnight"
    )
    reopen_s: float = Field(
        default=60.0, ge=0, le=600, description="the same code reopens the door this long"
    )

    @field_validator("timezone")
    @classmethod
    def _zone(cls, name: str) -> str:
        if name not in _zones():
            raise ValueError(f"{name!r} is not a time zone (e.g. 'Europe/Paris')")
        return name

    @field_validator("subdivision")
    @classmethod
    def _subdivision(cls, value: str | None) -> str | None:
        known = holidays.country_holidays("FR").subdivisions
        if value is not None and value not in known:
            raise ValueError(f"{value!r} is not a French subdivision of holidays: {known}")
        return value

    @field_validator("quiet_hours")
    @classmethod
    def _quiet(cls, value: str | None) -> str | None:
        if value is not None:
            start, end = parse_range(value)
            if start == end:
                raise ValueError(f"{value!r} is an empty range")
        return value

    @model_validator(mode="after")
    def _ranges(self) -> HoursConfig:
        problems = range_problems(self.weekly)
        for i, c in enumerate(self.closures):
            if self.localise(c.to) <= self.localise(c.start):
                problems.append(f"closures[{i}]: 'to' must come after 'from'")
        if problems:
            raise ValueError("\n".join(problems))
        return self

    def zone(self) -> tzinfo:
        return ZoneInfo(self.timezone)

    def localise(self, at: datetime) -> datetime:
        """A time written without an offset is the site's local time."""
        return at if at.tzinfo is not None else at.replace(tzinfo=self.zone())

    def hours(self) -> Hours:
        weekly: tuple[Ranges, ...] | None = None
        if self.weekly != "always":
            days: dict[str, list[str]] = {str(k): v for k, v in self.weekly.items()}
            weekly = tuple(tuple(sorted(parse_range(r) for r in days.get(d, []))) for d in DAYS)
        closures = tuple(
            Closure(self.localise(c.start), self.localise(c.to), c.reason) for c in self.closures
        )
        hours = Hours(
            tz=self.zone(), weekly=weekly, closures=closures, grace_h=self.grace_after_opening_h
        )
        if self.public_holidays:
            hours = replace(hours, holiday=french_holidays(self.subdivision))
        return hours

    def time_rules(self) -> TimeRules:
        return TimeRules(
            closed_blocks_pickups=self.closed_blocks_pickups,
            reminder_h=self.reminder_h,
            quiet=None if self.quiet_hours is None else parse_range(self.quiet_hours),
            reopen_s=self.reopen_s,
        )


def range_problems(weekly: Literal["always"] | dict[Day, list[str]]) -> list[str]:
    """Each range that cannot be read, is empty or overlaps another, with its location."""
    if weekly == "always":
        return []
    problems: list[str] = []
    for day, texts in weekly.items():
        seen: list[tuple[int, int, str]] = []
        for i, text in enumerate(texts):
            where = f"weekly.{day}[{i}]"
            try:
                start, end = parse_range(text)
            except ValueError as exc:
                problems.append(f"{where}: {exc}")
                continue
            if start == end:
                problems.append(f"{where}: {text!r} is an empty range")
                continue
            if end < start:
                problems.append(
                    f"{where}: {text!r} ends before it starts: split it at midnight "
                    "(…-24:00 on one day, 00:00-… on the next)"
                )
                continue
            for a, b, other in seen:
                if start < b and a < end:
                    problems.append(f"{where}: {text!r} overlaps {other!r}")
            seen.append((start, end, text))
    if all(not texts for texts in weekly.values()):
        problems.append("weekly: no day has an opening range: the site would never open")
    return problems


def french_holidays(subdivision: str | None) -> Holiday:
    """``day -> name or None`` from the holidays library (France, ``subdivision``)."""
    table = holidays.country_holidays("FR", subdiv=subdivision, language="fr")

    @functools.lru_cache(maxsize=4096)
    def holiday(day: date) -> str | None:
        name = table.get(day)
        return None if name is None else str(name)

    return holiday


@functools.cache
def _zones() -> frozenset[str]:
    try:
        return frozenset(available_timezones())
    except ZoneInfoNotFoundError:  # pragma: no cover - no tz database at all
        return frozenset({"UTC"})
