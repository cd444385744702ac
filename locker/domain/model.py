"""Value objects of the domain: compartments, reservations, door openings."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum


class Size(StrEnum):
    S = "S"
    M = "M"
    L = "L"

    @property
    def rank(self) -> int:
        return _RANKS[self.value]


_RANKS = {"S": 0, "M": 1, "L": 2}


class Kind(StrEnum):
    DELIVERY = "delivery"  # a courier deposits, a resident collects
    DROPOFF = "dropoff"  # a resident deposits, a provider collects


class State(StrEnum):
    ACCEPTED = "accepted"
    DEPOSITED = "deposited"
    COLLECTED = "collected"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    RETURNED = "returned"
    HELD = "held"  # inside, not to be handed over (a broken cold chain: decision 32)


class Purpose(StrEnum):
    """Why the controller pulsed a relay."""

    DEPOSIT = "deposit"
    PICKUP = "pickup"
    RETURN = "return"
    ADMIN = "admin"
    REOPEN = "reopen"  # the same code within the re-open window (decision 33)
    AUDIT = "audit"  # staff check what is inside
    COMMISSION = "commission"  # a door tested at installation (:mod:`.commissioning`)


@dataclass(frozen=True, slots=True)
class CompartmentSpec:
    """What the configuration says of one door; never changes at run time."""

    id: str
    size: Size
    chilled: bool = False
    accessible: bool = False
    column: int = 0
    row: int = 0


@dataclass(frozen=True, slots=True)
class Compartment:
    spec: CompartmentSpec
    in_service: bool = True
    service_reason: str | None = None
    door_open: bool = False
    door_open_since: datetime | None = None
    left_open_reported: bool = False
    out_since: datetime | None = None  # out of service since (time given back to the item)
    commission: str | None = None  # the last commissioning's outcome; None: never tested
    commissioned_at: datetime | None = None

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def bookable(self) -> bool:
        """In service, and not failed at its last commissioning (never tested is fine)."""
        return self.in_service and self.commission in (None, "ok")

    def with_(self, **changes: object) -> Compartment:
        return replace(self, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class SealedCode:
    """A one-time code as it is kept: a keyed digest to find it, a ciphertext to show it.

    Neither reveals the code without the locker's secret key.
    """

    digest: str
    sealed: str
    used: bool = False


@dataclass(frozen=True, slots=True)
class ColdRecord:
    """A chilled item's cold chain, from its deposit to its pickup (decision 34)."""

    max_c: float  # the item's limit
    minutes_above: float = 0.0  # above max_c, or without a trustworthy reading
    peak_c: float | None = None  # the warmest reading while it was inside
    spikes: int = 0  # readings in a row above max_c + the handling tolerance
    spike_at: datetime | None = None  # the last of them
    until: datetime | None = None  # accounted up to this time (a trusted clock)
    broken_at: datetime | None = None
    baseline: float = 0.0  # minutes above forgiven by a staff release (decision 32)

    def with_(self, **changes: object) -> ColdRecord:
        return replace(self, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class Reservation:
    id: str
    version: int
    kind: Kind
    size: Size
    expires_at: datetime
    state: State
    compartment: str | None
    created_at: datetime
    updated_at: datetime
    chilled: bool = False
    accessible: bool = False
    recipient: str | None = None
    reference: str | None = None
    deposit_code: SealedCode | None = None
    pickup_code: SealedCode | None = None
    deposited_at: datetime | None = None
    closed_at: datetime | None = None  # collected, cancelled, returned or freed
    held_reason: str | None = None  # why a held item must not be handed over
    cold: ColdRecord | None = None  # chilled items: the item's limit and its record
    dwell_until: datetime | None = None  # chilled items: out of the box by then at the latest
    delegate: bool = False  # a carer may collect: a second code at deposit (contract v1.1)
    delegate_code: SealedCode | None = None
    collected_by: str | None = None  # "pickup" or "delegate": the code that opened it
    due_at: datetime | None = None  # the server's deadline (expires_at: the locker's)
    credit_s: float = 0.0  # downtime and out-of-service time given back (seconds)
    reminded_at: datetime | None = None  # its reminder was sent (once: contract v1.1)

    @property
    def holds_compartment(self) -> bool:
        """True while the compartment is taken: booked, or an item is inside."""
        if self.state in (State.ACCEPTED, State.DEPOSITED, State.HELD):
            return True
        return self.state is State.EXPIRED and self.deposited_at is not None

    @property
    def is_final(self) -> bool:
        return not self.holds_compartment

    def live_codes(self) -> list[SealedCode]:
        """Codes that can still open a door right now (state permitting)."""
        if self.state is State.ACCEPTED and self.kind is Kind.DROPOFF:
            code = self.deposit_code
        elif self.state in (State.DEPOSITED, State.HELD):
            # NOTE: a held item's codes stay known, to show the held screen rather
            # than count a right code as a wrong one (decision 32).
            return [c for c in (self.pickup_code, self.delegate_code) if c and not c.used]
        else:
            code = None
        return [code] if code is not None and not code.used else []

    def codes(self) -> tuple[SealedCode | None, ...]:
        """Every code it was ever given, live or spent."""
        return (self.deposit_code, self.pickup_code, self.delegate_code)

    def with_(self, **changes: object) -> Reservation:
        return replace(self, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class Opening:
    """A relay pulse the controller sent and whose door cycle is not over yet."""

    compartment: str
    purpose: Purpose
    reservation_id: str | None
    pulsed_at: datetime
    attempts: int = 1
    door_seen_open: bool = False
    # NOTE: in memory only (not in the database): a pickup's terminal and code, for
    # its re-open window, which does not survive a restart (decision 33).
    terminal: str | None = None
    digest: str | None = None

    def with_(self, **changes: object) -> Opening:
        return replace(self, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class ReopenWindow:
    """After a pickup door shut: the same code at the same terminal opens it once more,
    until ``until`` (``hours.reopen_s``). Kept in memory only (decision 33)."""

    compartment: str
    reservation_id: str
    digest: str
    terminal: str
    until: datetime


@dataclass(frozen=True, slots=True)
class Event:
    """One entry of the event log / outbox, in the contract's vocabulary.

    ``secrets`` holds code fields (``pickup_code``, ``deposit_code``,
    ``qr_payload``): the store keeps them sealed and they are masked once the
    conciergerie server has acknowledged the event.
    """

    seq: int
    event_id: str
    type: str
    at: datetime
    reservation_id: str | None = None
    compartment: str | None = None
    data: dict[str, object] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)

    def to_contract(self, locker_id: str, *, reveal: bool = False) -> dict[str, object]:
        body: dict[str, object] = {
            "event_id": self.event_id,
            "seq": self.seq,
            "type": self.type,
            "at": self.at.isoformat(),
            "locker_id": locker_id,
        }
        if self.reservation_id is not None:
            body["reservation_id"] = self.reservation_id
        if self.compartment is not None:
            body["compartment"] = self.compartment
        body.update(self.data)
        for key, value in self.secrets.items():
            body[key] = value if reveal else "********"
        return body
