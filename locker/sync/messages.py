"""The contract's payloads as pydantic models: parsed in, validated out, and the
source of the JSON schemas in ``api/asyncapi.yaml``."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    TypeAdapter,
    ValidationError,
)

from locker.domain.model import Kind, Size, State
from locker.domain.rules import Upsert
from locker.sync.events_v11 import (
    ColdChainBroken,
    CompartmentAudited,
    HeldReason,
    LockerCommissioned,
    ParcelProblem,
    ReservationDeadline,
    ReservationErased,
    ReservationHeld,
    ReservationReleased,
    ReservationReminder,
    SensorFaultEvent,
    SensorOk,
    TemperatureAlarm,
    TemperatureOk,
)
from locker.sync.fields import Code, EventBase, Id, IsoTime, Msg, Timestamp, Version

QrPayload = Annotated[str, Field(pattern=r"^LKR1:[^:]+:[0-9]{8}$")]


# -- server -> locker: reservations ------------------------------------------
class UpsertFields(Msg):
    """The fields of an upsert: the MQTT message's, and the REST body's (no ``type``)."""

    reservation_id: Id
    version: Version = Field(description="grows with every change on the server")
    kind: Kind
    size: Size
    chilled: StrictBool = False
    accessible: StrictBool = False
    recipient: str | None = Field(default=None, max_length=200)
    reference: str | None = Field(default=None, max_length=200)
    expires_at: IsoTime
    max_c: float | None = Field(
        default=None, ge=-30, le=20, description="v1.1, chilled only: the item's limit in °C"
    )
    delegate: StrictBool = Field(
        default=False, description="v1.1: a carer may collect, with a second code"
    )

    def to_domain(self) -> Upsert:
        return Upsert(
            reservation_id=self.reservation_id,
            version=self.version,
            kind=self.kind,
            size=self.size,
            expires_at=self.expires_at,
            chilled=self.chilled,
            accessible=self.accessible,
            recipient=self.recipient,
            reference=self.reference,
            max_c=self.max_c,
            delegate=self.delegate,
        )


class ReservationUpsert(UpsertFields):
    type: Literal["reservation.upsert"]


class ReservationCancel(Msg):
    type: Literal["reservation.cancel"]
    reservation_id: Id
    version: Version


ReservationMessage = Annotated[ReservationUpsert | ReservationCancel, Field(discriminator="type")]


# -- server -> locker: commands ----------------------------------------------
class ResyncCommand(Msg):
    type: Literal["resync"]
    request_id: Id


class OpenCommand(Msg):
    type: Literal["open"]
    request_id: Id
    compartment: Id
    reason: str | None = Field(default=None, max_length=200)


class SetServiceCommand(Msg):
    type: Literal["set_service"]
    request_id: Id
    compartment: Id
    in_service: StrictBool
    reason: str | None = Field(default=None, max_length=200)


class SetClosureCommand(Msg):
    """v1.1: an exceptional closure of the host site (``from`` is a Python keyword)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    type: Literal["set_closure"]
    request_id: Id
    start: IsoTime = Field(alias="from")
    to: IsoTime
    reason: str = Field(default="", max_length=200)


class ClearClosureCommand(Msg):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    type: Literal["clear_closure"]
    request_id: Id
    start: IsoTime = Field(alias="from")


class EraseCommand(Msg):
    """v1.1: remove the personal data the locker holds of one final reservation."""

    type: Literal["erase"]
    request_id: Id
    reservation_id: Id


AnyCommand = (
    ResyncCommand
    | OpenCommand
    | SetServiceCommand
    | SetClosureCommand
    | ClearClosureCommand
    | EraseCommand
)
CommandMessage = Annotated[AnyCommand, Field(discriminator="type")]


# -- locker -> server: events ------------------------------------------------
class ReservationAccepted(EventBase):
    type: Literal["reservation.accepted"]
    reservation_id: Id
    compartment: Id
    version: Version
    deposit_code: Code | None = Field(default=None, description="dropoff only")


class ReservationRejected(EventBase):
    type: Literal["reservation.rejected"]
    reservation_id: Id | None = None
    reason: str
    version: StrictInt | None = None


class ReservationCancelled(EventBase):
    type: Literal["reservation.cancelled"]
    reservation_id: Id
    compartment: Id | None = None
    version: Version | None = None


class ReservationExpired(EventBase):
    type: Literal["reservation.expired"]
    reservation_id: Id
    compartment: Id | None = None
    version: Version | None = None


class ParcelDeposited(EventBase):
    type: Literal["parcel.deposited"]
    reservation_id: Id
    compartment: Id
    pickup_code: Code
    qr_payload: QrPayload
    delegate_code: Code | None = Field(default=None, description="v1.1: the carer's code")
    delegate_qr_payload: QrPayload | None = None


class ParcelCollected(EventBase):
    type: Literal["parcel.collected"]
    reservation_id: Id
    compartment: Id
    by: Literal["pickup", "delegate"] | None = Field(
        default=None, description="v1.1: the code that opened it"
    )


class ParcelReturned(EventBase):
    type: Literal["parcel.returned"]
    reservation_id: Id
    compartment: Id


class DoorOpened(EventBase):
    type: Literal["door.opened"]
    compartment: Id
    reservation_id: Id | None = None
    reason: Literal["deposit", "pickup", "return", "admin", "reopen", "audit", "commission"]
    by: str = Field(description="code, courier, staff, api or server")
    note: str | None = None


class DoorLeftOpen(EventBase):
    type: Literal["door.left_open"]
    compartment: Id
    reservation_id: Id | None = None
    at_start: bool | None = Field(default=None, description="found open when the locker started")


class DoorForcedOpen(EventBase):
    type: Literal["door.forced_open"]
    compartment: Id
    reservation_id: Id | None = None


class DoorJammed(EventBase):
    type: Literal["door.jammed"]
    compartment: Id
    reservation_id: Id | None = None
    reason: Literal["deposit", "pickup", "return", "admin"]
    pulses: StrictInt
    interrupted: bool | None = Field(
        default=None, description="the controller restarted before the door was seen open"
    )


class CodeLockout(EventBase):
    type: Literal["code.lockout"]
    terminal: str = Field(description="API credential and client address")
    level: StrictInt
    retry_after_s: StrictInt


class SnapshotEntry(Msg):
    reservation_id: Id
    state: State
    version: Version
    compartment: Id | None
    kind: Kind
    expires_at: Timestamp
    reason: HeldReason | None = Field(default=None, description="held reservations only")


class LockerSnapshot(EventBase):
    type: Literal["locker.snapshot"]
    request_id: Id | None = None
    reservations: list[SnapshotEntry]


class CommandDone(EventBase):
    type: Literal["command.done"]
    request_id: Id | None = None
    command: str
    compartment: Id | None = None
    in_service: bool | None = None
    terminal: str | None = None
    source: str | None = Field(default=None, description="'api' for staff actions over REST")
    repeat: bool | None = Field(
        default=None, description="a repeated request_id: not run again, answered again"
    )


class CommandFailed(EventBase):
    type: Literal["command.failed"]
    request_id: Id | None = None
    command: str | None = None
    compartment: Id | None = None
    reason: str
    repeat: bool | None = Field(
        default=None, description="a repeated request_id: not run again, answered again"
    )


EventMessage = Annotated[
    ReservationAccepted
    | ReservationRejected
    | ReservationCancelled
    | ReservationExpired
    | ParcelDeposited
    | ParcelCollected
    | ParcelReturned
    | DoorOpened
    | DoorLeftOpen
    | DoorForcedOpen
    | DoorJammed
    | CodeLockout
    | LockerSnapshot
    | CommandDone
    | CommandFailed
    | ReservationDeadline
    | ReservationReminder
    | ReservationHeld
    | ReservationReleased
    | TemperatureAlarm
    | TemperatureOk
    | SensorFaultEvent
    | SensorOk
    | ColdChainBroken
    | ParcelProblem
    | CompartmentAudited
    | LockerCommissioned
    | ReservationErased,
    Field(discriminator="type"),
]


# -- locker -> server: status (retained) -------------------------------------
class FreeCounts(Msg):
    S: StrictInt
    M: StrictInt
    L: StrictInt


class Status(Msg):
    online: bool
    locker_id: Id
    software: str | None = None
    free: FreeCounts | None = None
    out_of_service: list[Id] | None = None
    at: Timestamp | None = None
    contract: Literal["1.1"] | None = None
    temperatures: dict[str, float | None] | None = Field(
        default=None, description="v1.1: each chilled zone's temperature, null while faulty"
    )
    open: bool | None = Field(default=None, description="v1.1: the host site is open now")
    closed_until: Timestamp | None = Field(
        default=None, description="v1.1: while closed, when the site opens again"
    )


ID = TypeAdapter[str](Id)
RESERVATIONS = TypeAdapter[ReservationUpsert | ReservationCancel](ReservationMessage)
COMMANDS = TypeAdapter[AnyCommand](CommandMessage)
EVENTS: TypeAdapter[object] = TypeAdapter(EventMessage)


def event_json(body: dict[str, object]) -> bytes:
    """Validate an outgoing event against its model and serialise it."""
    model = EVENTS.validate_python(body)
    return EVENTS.dump_json(model, exclude_none=True)


def check_event(body: dict[str, object]) -> None:
    """Raise ValueError if ``body`` would not be a valid, publishable event."""
    try:
        event_json(body)
    except (ValidationError, UnicodeEncodeError) as exc:
        raise ValueError(f"event {body.get('type')} breaks the contract: {exc}") from exc


def status_json(status: Status) -> bytes:
    return status.model_dump_json(exclude_none=True).encode()
