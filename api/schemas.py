"""Request and response bodies."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from locker.domain.model import Kind, Reservation, Size, State
from locker.sync.messages import UpsertFields


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ReservationIn(UpsertFields):
    """The contract's ``reservation.upsert`` fields, without ``type``."""


class ReservationOut(BaseModel):
    reservation_id: str
    version: int
    kind: Kind
    size: Size
    chilled: bool
    accessible: bool
    recipient: str | None
    reference: str | None
    expires_at: datetime
    state: State
    compartment: str | None
    created_at: datetime
    updated_at: datetime
    deposited_at: datetime | None
    deposit_code: str | None = Field(default=None, description="admin only, while live")
    pickup_code: str | None = Field(default=None, description="admin only, while live")
    qr_payload: str | None = Field(default=None, description="admin only, while live")
    delegate: bool = False
    delegate_code: str | None = Field(default=None, description="admin only, while live")
    delegate_qr_payload: str | None = Field(default=None, description="admin only, while live")
    held_reason: str | None = None
    cold: ColdOut | None = Field(default=None, description="chilled items")
    dwell_until: datetime | None = Field(default=None, description="chilled, once deposited")

    @classmethod
    def of(cls, res: Reservation, codes: dict[str, str] | None = None) -> ReservationOut:
        return cls(
            reservation_id=res.id,
            version=res.version,
            kind=res.kind,
            size=res.size,
            chilled=res.chilled,
            accessible=res.accessible,
            recipient=res.recipient,
            reference=res.reference,
            expires_at=res.expires_at,
            state=res.state,
            compartment=res.compartment if res.holds_compartment else None,
            created_at=res.created_at,
            updated_at=res.updated_at,
            deposited_at=res.deposited_at,
            held_reason=res.held_reason,
            cold=None
            if res.cold is None
            else ColdOut(
                max_c=res.cold.max_c,
                minutes_above=round(res.cold.minutes_above, 1),
                max_celsius=res.cold.peak_c,
                broken=res.cold.broken_at is not None,
            ),
            dwell_until=res.dwell_until,
            delegate=res.delegate,
            **(codes or {}),
        )


class DepositIn(_In):
    reservation_id: str | None = Field(default=None, max_length=128)
    reference: str | None = Field(default=None, max_length=200)
    deposit_code: str | None = Field(default=None, max_length=64)
    qr_payload: str | None = Field(default=None, max_length=128)


class PickupIn(_In):
    code: str | None = Field(default=None, max_length=64, examples=["48213977"])
    qr_payload: str | None = Field(default=None, max_length=128, examples=["LKR1:demo:48213977"])


class OthersIn(PickupIn):
    scanner: bool = Field(
        default=False,
        description="kiosk only: the pickup came through the box's serial scanner (no code)",
    )


class Opened(BaseModel):
    compartment: str
    warning: str | None = Field(
        default=None, description="cold_chain: the item's cold chain broke (on_broken = warn)"
    )
    message_fr: str | None = None
    others: int | None = Field(
        default=None, description="other items waiting for the same person: /pickups/others"
    )


class Skipped(BaseModel):
    compartment: str
    reason: str = Field(description="held, cold_pending, expired or unavailable")


class OthersOut(BaseModel):
    opened: list[str] = Field(description="compartments unlocked, in the pulse queue's order")
    skipped: list[Skipped]


class ColdOut(BaseModel):
    """A chilled item's cold-chain record (decision 34)."""

    max_c: float
    minutes_above: float
    max_celsius: float | None
    broken: bool


class ServiceIn(_In):
    in_service: StrictBool
    reason: str | None = Field(default=None, max_length=200)


class OpenIn(_In):
    reason: str | None = Field(default=None, max_length=200)


class CompartmentOut(BaseModel):
    id: str
    size: Size
    chilled: bool
    accessible: bool
    column: int
    row: int
    in_service: bool
    service_reason: str | None
    door_open: bool
    status: str = Field(
        description="free, reserved, occupied, held, expired_item, out_of_service or "
        "commission_failed (its last commissioning failed: not booked until it passes)"
    )
    reservation_id: str | None
    opening: str | None = Field(description="what a door cycle under way is for")
    since: datetime | None = Field(
        default=None, description="occupied: since the deposit; out of service: since then"
    )
    commission: str | None = Field(
        default=None,
        description="the last commissioning's outcome (ok, no_door, other_door, not_shut; "
        "null: never tested); one that failed is not booked until it passes",
    )
