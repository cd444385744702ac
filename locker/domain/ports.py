"""What the domain needs from the outside world, as structural protocols."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from locker.domain.lockout import TerminalState
from locker.domain.model import Compartment, Event, Opening, ReopenWindow, Reservation
from locker.domain.zones import Reading, ZoneState


class Clock(Protocol):
    def now(self) -> datetime:
        """Current time, timezone-aware."""
        ...

    def trusted(self) -> bool:
        """True when the wall clock is synchronised (safe to expire reservations)."""
        ...


class DoorActuator(Protocol):
    def unlock(self, compartment_id: str) -> None:
        """Queue one relay pulse; returns at once."""
        ...

    def is_open(self, compartment_id: str) -> bool:
        """The door switch as it reads now."""
        ...


class CodeSealer(Protocol):
    """Keyed operations on one-time codes; the key never lives in the database."""

    def digest(self, code: str) -> str: ...

    def seal(self, plaintext: str) -> str: ...

    def unseal(self, sealed: str) -> str: ...


@dataclass(frozen=True)
class CommandOutcome:
    """How a server command was answered, kept to answer a repeat the same way."""

    command: str
    outcome: str  # "done" or "failed"
    reason: str | None = None


@dataclass
class Changes:
    """Everything one state change writes, committed in one transaction."""

    reservations: dict[str, Reservation] = field(default_factory=dict)
    compartments: dict[str, Compartment] = field(default_factory=dict)
    openings: dict[str, Opening | None] = field(default_factory=dict)  # None: closed
    terminals: dict[str, TerminalState | None] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    meta: dict[str, str] = field(default_factory=dict)
    commands: dict[str, CommandOutcome] = field(default_factory=dict)  # by request id
    zones: dict[str, ZoneState] = field(default_factory=dict)
    readings: list[Reading] = field(default_factory=list)
    cold_settled: set[str] = field(default_factory=set)  # records brought up to date
    # re-open windows started (or ended: None), by compartment; in memory only, never
    # written: a change of windows alone is no change to commit (see :meth:`empty`)
    windows: dict[str, ReopenWindow | None] = field(default_factory=dict)

    def empty(self) -> bool:
        return not (
            self.zones
            or self.readings
            or self.cold_settled
            or self.reservations
            or self.compartments
            or self.openings
            or self.terminals
            or self.events
            or self.meta
            or self.commands
        )


@dataclass
class Snapshot:
    """What the store hands the service at start."""

    compartments: dict[str, Compartment]
    reservations: dict[str, Reservation]  # the ones that still hold a compartment
    openings: dict[str, Opening]
    terminals: dict[str, TerminalState]
    last_seq: int
    meta: dict[str, str]
    zones: dict[str, ZoneState] = field(default_factory=dict)


class Store(Protocol):
    def load(self, specs: Iterable[Compartment]) -> Snapshot: ...

    def commit_all(self, batch: Sequence[Changes]) -> None:
        """Write every ``Changes`` of ``batch``, in order, durably and atomically (one
        transaction), or raise and write nothing."""
        ...

    def find_reservation(self, reservation_id: str) -> Reservation | None:
        """Any reservation ever kept, final ones included."""
        ...

    def find_by_digest(self, digest: str) -> Reservation | None:
        """The reservation whose pickup or deposit code has this digest, live or not."""
        ...

    def command_outcome(self, request_id: str) -> CommandOutcome | None:
        """How the command with this ``request_id`` was answered, if it ran already."""
        ...

    def events(self, after_seq: int, limit: int) -> list[Event]:
        """Logged events in ``seq`` order; code fields stay sealed or masked."""
        ...
