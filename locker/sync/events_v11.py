"""The events that contract v1.1 adds (``../shared/CONTRACT.md``): deadlines the locker
moved, held items, chilled zones and the cold chain of the items inside.

They join the v1 events in :data:`locker.sync.messages.EventMessage`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from locker.sync.fields import EventBase, Id, Msg, Timestamp

Celsius = Annotated[float, Field(ge=-273.15, le=200.0)]
HeldReason = Literal["cold_chain", "damaged", "wrong_item", "reported_empty"]
SensorFault = Literal["85", "crc", "missing", "range", "stuck"]


class ReservationDeadline(EventBase):
    type: Literal["reservation.deadline"]
    reservation_id: Id
    expires_at: Timestamp
    previous: Timestamp
    reason: Literal["hours", "downtime", "dwell"]


class ReservationReminder(EventBase):
    type: Literal["reservation.reminder"]
    reservation_id: Id
    compartment: Id
    expires_at: Timestamp


class ReservationHeld(EventBase):
    type: Literal["reservation.held"]
    reservation_id: Id
    compartment: Id
    reason: HeldReason


class ReservationReleased(EventBase):
    type: Literal["reservation.released"]
    reservation_id: Id
    compartment: Id
    reason: HeldReason


class TemperatureAlarm(EventBase):
    type: Literal["temperature.alarm"]
    zone: Id
    compartments: list[Id]
    celsius: Celsius
    limit_c: Celsius
    since: Timestamp


class TemperatureOk(EventBase):
    type: Literal["temperature.ok"]
    zone: Id
    celsius: Celsius
    alarm_minutes: Annotated[float, Field(ge=0)]


class SensorFaultEvent(EventBase):
    type: Literal["sensor.fault"]
    zone: Id
    reason: SensorFault


class SensorOk(EventBase):
    type: Literal["sensor.ok"]
    zone: Id
    reason: SensorFault = Field(description="the fault that ended")


class ColdChainBroken(EventBase):
    type: Literal["cold_chain.broken"]
    reservation_id: Id
    compartment: Id
    minutes_above: Annotated[float, Field(ge=0)]
    max_celsius: Celsius | None = Field(
        default=None,
        description="the warmest reading while inside; null when no reading was trustworthy",
    )


class CompartmentAudited(EventBase):
    type: Literal["compartment.audited"]
    compartment: Id
    reservation_id: Id | None = None
    found: Literal["empty", "occupied"]
    expected: Literal["empty", "occupied"]


class CommissionResult(Msg):
    compartment: Id
    outcome: Literal["ok", "no_door", "other_door", "not_shut"]
    other: Id | None = Field(
        default=None, description="other_door: the door whose switch (or lock) read open instead"
    )


class LockerCommissioned(EventBase):
    type: Literal["locker.commissioned"]
    results: list[CommissionResult] = Field(description="one entry per compartment tested")


class ReservationErased(EventBase):
    type: Literal["reservation.erased"]
    reservation_id: Id


class ParcelProblem(EventBase):
    type: Literal["parcel.problem"]
    reservation_id: Id
    compartment: Id
    problem: Literal["empty", "damaged", "wrong_item", "door", "other"]


V11_EVENTS = (
    CompartmentAudited,
    ReservationErased,
    LockerCommissioned,
    ParcelProblem,
    ReservationDeadline,
    ReservationReminder,
    ReservationHeld,
    ReservationReleased,
    TemperatureAlarm,
    TemperatureOk,
    SensorFaultEvent,
    SensorOk,
    ColdChainBroken,
)
