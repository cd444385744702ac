"""Settings the domain works by, and the inputs it accepts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from locker.domain.lockout import LockoutPolicy
from locker.domain.model import Kind, Size


@dataclass(frozen=True, slots=True)
class Rules:
    locker_id: str
    lockout: LockoutPolicy = field(default_factory=LockoutPolicy)
    open_timeout_s: float = 10.0  # door not seen open this long after a pulse: pulse again
    max_pulses: int = 2  # pulses before a door is declared jammed
    left_open_s: float = 120.0  # door open this long: door.left_open


@dataclass(frozen=True, slots=True)
class Upsert:
    """A ``reservation.upsert`` of the contract, already type-checked by an adapter."""

    reservation_id: str
    version: int
    kind: Kind
    size: Size
    expires_at: datetime
    chilled: bool = False
    accessible: bool = False
    recipient: str | None = None
    reference: str | None = None


@dataclass(frozen=True, slots=True)
class Cancel:
    """A ``reservation.cancel`` of the contract."""

    reservation_id: str
    version: int | None


@dataclass(frozen=True, slots=True)
class Unreadable:
    """A reservation message that could not be read: answered ``reservation.rejected``."""

    reason: str
    reservation_id: str | None = None


ReservationMessage = Upsert | Cancel | Unreadable
