"""Chilled zones: one fridge, its probe, its alarms (contract v1.1, decisions 29 and 34).

A zone is sampled every ``sample_s``; each sample is a temperature or a fault.
:func:`sampled` turns a sample into the zone's new state and the events it
raises: ``sensor.fault`` / ``sensor.ok`` when the probe stops or starts giving
readings that can be trusted, ``temperature.alarm`` / ``temperature.ok`` once
per excursion, with hysteresis.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

PLAUSIBLE_C = (-30.0, 60.0)  # a fridge probe outside this range is broken, not hot
FAULTS = ("85", "crc", "missing", "range", "stuck")


@dataclass(frozen=True, slots=True)
class ZoneSpec:
    """What the configuration says of one chilled zone."""

    id: str
    compartments: tuple[str, ...]
    limit_c: float = 4.0
    critical_c: float = 8.0
    hysteresis_c: float = 0.5
    grace_min: float = 15.0
    stuck_s: float = 14_400.0
    max_minutes_above: float = 30.0
    on_broken: str = "hold"  # or "warn": the item opens and the screen says so


@dataclass(frozen=True, slots=True)
class ColdRules:
    sample_s: float = 30.0
    chilled_max_dwell_h: float = 24.0
    default_max_c: float = 4.0
    tolerance_c: float = 2.0  # handling tolerance above an item's max_c (decision 34)


@dataclass(frozen=True, slots=True)
class ZoneState:
    """A zone as the last samples left it; kept in the database."""

    zone: str
    celsius: float | None = None  # the last trustworthy reading
    read_at: datetime | None = None  # the last sample, reading or fault
    fault: str | None = None
    fault_since: datetime | None = None
    same_c: float | None = None  # the value the probe has given since ``same_since``
    same_since: datetime | None = None
    above_since: datetime | None = None  # the excursion above the limit began
    alarm_since: datetime | None = None  # set while temperature.alarm is raised
    peak_c: float | None = None  # the warmest reading of the excursion
    alarm_minutes: float = 0.0  # all time spent in alarm, for the metrics counter

    def with_(self, **changes: object) -> ZoneState:
        return replace(self, **changes)  # type: ignore[arg-type]

    def current(self) -> float | None:
        """The temperature to report: None while the probe is faulty."""
        return None if self.fault is not None else self.celsius


@dataclass(frozen=True, slots=True)
class Reading:
    """One sample as it is kept: a temperature, or the fault that stood for it."""

    zone: str
    at: datetime
    celsius: float | None
    fault: str | None = None


@dataclass
class ZoneEvent:
    type: str
    data: dict[str, Any]  # the event's fields: ids, numbers, times as ISO text


def classify(
    spec: ZoneSpec, state: ZoneState, now: datetime, celsius: float | None, fault: str | None
) -> tuple[float | None, str | None]:
    """The sample as the locker takes it: a trustworthy value, or a fault."""
    if fault is not None or celsius is None:
        return None, fault or "missing"
    if not PLAUSIBLE_C[0] <= celsius <= PLAUSIBLE_C[1]:
        return None, "range"
    same = state.same_c == celsius and state.same_since is not None
    if same and state.same_since and (now - state.same_since).total_seconds() >= spec.stuck_s:
        return None, "stuck"
    return celsius, None


def healthy(spec: ZoneSpec, state: ZoneState | None, now: datetime, stale_s: float) -> str | None:
    """None when chilled items may go into the zone, else why not."""
    if state is None or state.read_at is None:
        return f"zone {spec.id} has no reading yet"
    if state.fault is not None:
        return f"the sensor of zone {spec.id} is faulty ({state.fault})"
    if (now - state.read_at).total_seconds() > stale_s:
        return f"zone {spec.id} has no recent reading"
    if state.alarm_since is not None or state.celsius is None or state.celsius > spec.limit_c:
        shown = "?" if state.celsius is None else f"{state.celsius:.1f}"
        return f"zone {spec.id} is above its limit ({shown} °C, limit {spec.limit_c:g} °C)"
    return None


def sampled(
    spec: ZoneSpec, state: ZoneState, now: datetime, celsius: float | None, fault: str | None
) -> tuple[ZoneState, Reading, list[ZoneEvent]]:
    """The zone after one sample, the reading to keep, and the events to emit."""
    value, fault = classify(spec, state, now, celsius, fault)
    events: list[ZoneEvent] = []
    new = state
    if state.alarm_since is not None and state.read_at is not None and now > state.read_at:
        minutes = (now - state.read_at).total_seconds() / 60
        new = new.with_(alarm_minutes=state.alarm_minutes + minutes)
    if celsius is not None and celsius != state.same_c:
        new = new.with_(same_c=celsius, same_since=now)
    if fault is not None:
        if state.fault is None:
            events.append(ZoneEvent("sensor.fault", {"zone": spec.id, "reason": fault}))
            new = new.with_(fault=fault, fault_since=now)
        elif state.fault != fault:
            new = new.with_(fault=fault)
        return new.with_(read_at=now), Reading(spec.id, now, None, fault), events
    assert value is not None
    if state.fault is not None:
        events.append(ZoneEvent("sensor.ok", {"zone": spec.id, "reason": state.fault}))
        new = new.with_(fault=None, fault_since=None)
    new = new.with_(celsius=value, read_at=now)
    new, alarm_events = _excursion(spec, new, now, value)
    return new, Reading(spec.id, now, value), events + alarm_events


def _excursion(
    spec: ZoneSpec, state: ZoneState, now: datetime, value: float
) -> tuple[ZoneState, list[ZoneEvent]]:
    """Alarms with hysteresis: one ``temperature.alarm`` per excursion."""
    if value > spec.limit_c:
        since = state.above_since or now
        peak = value if state.peak_c is None else max(state.peak_c, value)
        state = state.with_(above_since=since, peak_c=peak)
        over_s = (now - since).total_seconds()
        if state.alarm_since is None and (value > spec.critical_c or over_s > spec.grace_min * 60):
            event = ZoneEvent(
                "temperature.alarm",
                {
                    "zone": spec.id,
                    "compartments": list(spec.compartments),
                    "celsius": value,
                    "limit_c": spec.limit_c,
                    "since": since.isoformat(),
                },
            )
            return state.with_(alarm_since=now), [event]
        return state, []
    if state.alarm_since is None:
        return state.with_(above_since=None, peak_c=None), []
    if value > spec.limit_c - spec.hysteresis_c:
        return state, []  # back under the limit, not yet by the hysteresis: still in alarm
    minutes = round((now - state.alarm_since).total_seconds() / 60, 1)
    event = ZoneEvent(
        "temperature.ok", {"zone": spec.id, "celsius": value, "alarm_minutes": minutes}
    )
    return state.with_(above_since=None, alarm_since=None, peak_c=None), [event]
