"""Shared test helpers: a fixed clock, settings for a temporary cabinet, waiting."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from locker.config import Settings, load_settings
from locker.domain.model import Kind, Reservation, Size
from locker.domain.rules import Upsert
from locker.domain.service import LockerService

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "config" / "locker.example.toml"
T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
T = TypeVar("T")


class FixedClock:
    """A clock that moves only when told to."""

    def __init__(self, now: datetime = T0, trusted: bool = True) -> None:
        self.current = now
        self.is_trusted = trusted

    def now(self) -> datetime:
        return self.current

    def trusted(self) -> bool:
        return self.is_trusted

    def advance(self, seconds: float) -> None:
        self.current += timedelta(seconds=seconds)


def settings_for(tmp: Path, **overrides: Any) -> Settings:
    """The example layout with its database and key under ``tmp``."""
    values: dict[str, Any] = {
        "storage": {"path": tmp / "locker.db"},
        "security": {"key_file": tmp / "locker.key"},
    }
    values.update(overrides)
    return load_settings(EXAMPLE, **values)


def wait_for(
    check: Callable[[], T | None], timeout: float = 10.0, interval: float = 0.02, what: str = ""
) -> T:
    """Poll ``check`` until it answers something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        time.sleep(interval)


def book(
    service: LockerService, now: datetime, rid: str = "R-1", version: int = 1, **kw: Any
) -> Reservation | None:
    """Upsert a reservation: a medium delivery expiring in two days unless told otherwise."""
    fields: dict[str, Any] = {
        "kind": Kind.DELIVERY,
        "size": Size.M,
        "expires_at": now + timedelta(days=2),
        "reference": f"REF-{rid}",
    }
    fields.update(kw)
    return service.upsert(Upsert(reservation_id=rid, version=version, **fields))
