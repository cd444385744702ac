"""Settings the domain works by, and the inputs it accepts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from locker.domain.hours import Hours, TimeRules
from locker.domain.lockout import LockoutPolicy
from locker.domain.model import Kind, Size
from locker.domain.zones import ColdRules, ZoneSpec


@dataclass(frozen=True, slots=True)
class Rules:
    locker_id: str
    lockout: LockoutPolicy = field(default_factory=LockoutPolicy)
    open_timeout_s: float = 10.0  # door not seen open this long after a pulse: pulse again
    max_pulses: int = 2  # pulses before a door is declared jammed
    left_open_s: float = 120.0  # door open this long: door.left_open
    zones: tuple[ZoneSpec, ...] = ()
    cold: ColdRules = field(default_factory=ColdRules)
    hours: Hours = field(default_factory=Hours)
    time: TimeRules = field(default_factory=TimeRules)

    def zone_of(self, cid: str) -> ZoneSpec | None:
        """The chilled zone ``cid`` belongs to, if any."""
        for zone in self.zones:
            if cid in zone.compartments:
                return zone
        return None

    def zone(self, zone_id: str) -> ZoneSpec | None:
        return next((z for z in self.zones if z.id == zone_id), None)


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
    max_c: float | None = None  # chilled only: the item's limit (default: the config's)
    delegate: bool = False  # a carer may collect: a second code at deposit


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
