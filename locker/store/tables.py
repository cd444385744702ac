"""The database tables. Times are ISO 8601 strings with their UTC offset."""

from __future__ import annotations

from sqlmodel import Field, SQLModel


class Meta(SQLModel, table=True):
    key: str = Field(primary_key=True)
    value: str


class CompartmentRow(SQLModel, table=True):
    __tablename__ = "compartment"
    id: str = Field(primary_key=True)
    in_service: bool = True
    service_reason: str | None = None
    door_open: bool = False
    door_open_since: str | None = None
    left_open_reported: bool = False
    out_since: str | None = None
    commission: str | None = None
    commissioned_at: str | None = None


class ReservationRow(SQLModel, table=True):
    __tablename__ = "reservation"
    id: str = Field(primary_key=True)
    version: int
    kind: str
    size: str
    chilled: bool = False
    accessible: bool = False
    recipient: str | None = None
    reference: str | None = Field(default=None, index=True)
    expires_at: str
    state: str = Field(index=True)
    compartment: str | None = None
    created_at: str
    updated_at: str
    deposit_digest: str | None = Field(default=None, index=True)
    deposit_sealed: str | None = None
    deposit_used: bool = False
    pickup_digest: str | None = Field(default=None, index=True)
    pickup_sealed: str | None = None
    pickup_used: bool = False
    deposited_at: str | None = None
    closed_at: str | None = None
    held_reason: str | None = None
    cold: str | None = None  # JSON: the chilled item's cold-chain record
    dwell_until: str | None = None
    delegate: bool = False
    delegate_digest: str | None = Field(default=None, index=True)
    delegate_sealed: str | None = None
    delegate_used: bool = False
    collected_by: str | None = None
    due_at: str | None = None  # the server's deadline (expires_at: the locker's)
    credit_s: float = 0.0  # seconds of downtime or out of service given back
    reminded_at: str | None = None


class OpeningRow(SQLModel, table=True):
    __tablename__ = "opening"
    compartment: str = Field(primary_key=True)
    purpose: str
    reservation_id: str | None = None
    pulsed_at: str
    attempts: int = 1
    door_seen_open: bool = False


class EventRow(SQLModel, table=True):
    """The event log and MQTT outbox: ``sent_at`` is set once the broker acknowledged."""

    __tablename__ = "event"
    seq: int = Field(primary_key=True)
    event_id: str = Field(unique=True)
    type: str
    at: str
    reservation_id: str | None = Field(default=None, index=True)
    compartment: str | None = None
    data: str = "{}"  # JSON object of the public fields
    secret_fields: str = ""  # comma-separated names of the code fields
    sealed_secrets: str | None = None  # those fields, sealed with the locker key; None once sent
    sent_at: str | None = None


class TerminalRow(SQLModel, table=True):
    """Lockout state of one terminal, so that lockouts survive a restart."""

    __tablename__ = "terminal"
    key: str = Field(primary_key=True)
    state: str  # JSON


class CommandRow(SQLModel, table=True):
    """Server commands already executed, so a repeated ``request_id`` is not run twice."""

    __tablename__ = "command"
    request_id: str = Field(primary_key=True)
    at: str
    command: str | None = None  # None in rows from schema 2
    outcome: str | None = None
    reason: str | None = None


class ZoneRow(SQLModel, table=True):
    """A chilled zone as its last samples left it (alarms, faults, stuck detection)."""

    __tablename__ = "zone"
    id: str = Field(primary_key=True)
    state: str  # JSON


class TemperatureRow(SQLModel, table=True):
    """One sample of a zone, or, past a week, a 5-minute bucket of them (decision 29).

    ``at`` is UTC ISO 8601 so that text order is time order."""

    __tablename__ = "temperature"
    id: int | None = Field(default=None, primary_key=True)
    zone: str
    at: str
    celsius: float | None = None  # None: the probe gave no trustworthy reading
    fault: str | None = None
    min_c: float | None = None  # buckets only
    max_c: float | None = None
    samples: int = 1
    bucket_s: int = 0  # 0: one sample; else the length of the slot it merges
