"""Parcels and reservations put in place before a figure is timed (not timed themselves)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from locker.config import Settings
from locker.domain.model import Kind, Size
from locker.domain.rules import Upsert
from locker.runtime import Runtime, build


def _upsert(runtime: Runtime, rid: str, version: int = 1) -> str:
    res = runtime.service.upsert(
        Upsert(
            reservation_id=rid,
            version=version,
            kind=Kind.DELIVERY,
            size=Size.M,
            expires_at=datetime.now(UTC) + timedelta(days=30),
            reference=f"REF-{rid}",
        )
    )
    assert res is not None and res.compartment is not None
    return res.compartment


def deposit(runtime: Runtime, rid: str) -> tuple[str, str]:
    """Book ``rid`` and deposit its parcel (door opened and shut through the domain);
    answers (compartment, pickup code)."""
    service = runtime.service
    cid = _upsert(runtime, rid)
    service.deposit_by_courier(rid)
    service.door_changed(cid, True)
    service.door_changed(cid, False)
    res = service.reservation(rid)
    assert res is not None
    return cid, service.codes_of(res)["pickup_code"]


def parcels(settings: Settings, count: int, prefix: str = "P") -> list[str]:
    """``count`` deposited parcels in the database of ``settings``; their pickup codes."""
    runtime = build(settings, simulate=True)
    try:
        return [deposit(runtime, f"{prefix}-{i}")[1] for i in range(count)]
    finally:
        runtime.stop()


def bookings(settings: Settings, count: int) -> None:
    """``count`` live reservations awaiting deposit, made while offline: as many
    ``reservation.accepted`` events wait in the outbox."""
    runtime = build(settings, simulate=True)
    try:
        for i in range(count):
            _upsert(runtime, f"B-{i}")
    finally:
        runtime.stop()
