"""Reservations: booked by staff (or the conciergerie over MQTT), listed, cancelled, returned."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Response

from api import qr
from api.auth import STAFF, Admin, AdminOrCourier, Operator, Principal, Returner
from api.deps import ServiceDep
from api.schemas import Opened, ReservationIn, ReservationOut
from locker.domain.errors import NotFound
from locker.domain.model import Kind, Reservation, State
from locker.domain.service import LockerService

router = APIRouter(prefix="/reservations", tags=["reservations"])


def _get(service: LockerService, rid: str) -> Reservation:
    res = service.reservation(rid)
    if res is None:
        raise NotFound(f"no reservation {rid!r}")
    return res


def _out(service: LockerService, res: Reservation, who: Principal) -> ReservationOut:
    """Admin reads everything; a courier the parcel's reference, never who it is for."""
    if who.role == "admin":
        return ReservationOut.of(res, service.codes_of(res))
    return ReservationOut.of(res, None).model_copy(update={"recipient": None})


@router.post("", response_model=ReservationOut, summary="Create or update a reservation")
def upsert(body: ReservationIn, who: Admin, service: ServiceDep) -> ReservationOut:
    """The contract's upsert: a version not greater than the one held changes nothing."""
    res = service.upsert(body.to_domain())
    assert res is not None  # a refusal raises
    return _out(service, res, who)


@router.get("", response_model=list[ReservationOut], summary="Reservations that hold a compartment")
def list_reservations(
    who: AdminOrCourier, service: ServiceDep, state: State | None = None
) -> list[ReservationOut]:
    return [
        _out(service, r, who) for r in service.reservations() if state is None or r.state is state
    ]


@router.get("/{reservation_id}", response_model=ReservationOut)
def get_reservation(
    reservation_id: str, who: AdminOrCourier, service: ServiceDep
) -> ReservationOut:
    return _out(service, _get(service, reservation_id), who)


@router.delete("/{reservation_id}", response_model=ReservationOut, summary="Cancel")
def cancel(reservation_id: str, who: Admin, service: ServiceDep) -> ReservationOut:
    """Applies at once. A deposited item's reservation turns expired: the item stays until
    taken back with ``POST /reservations/{id}/return``."""
    return _out(service, service.cancel(reservation_id), who)


@router.post(
    "/{reservation_id}/return",
    response_model=Opened,
    response_model_exclude_none=True,
    summary="Take back an item",
)
def take_back(reservation_id: str, _who: Returner, service: ServiceDep) -> Opened:
    """Opens the compartment of an expired or held item; ``parcel.returned`` when the door
    closes."""
    return Opened(compartment=service.return_item(reservation_id))


def _payload(service: LockerService, reservation_id: str, who: Principal, carer: bool) -> str:
    res = _get(service, reservation_id)
    codes = service.codes_of(res)
    name = "delegate_qr_payload" if carer else "qr_payload"
    if name not in codes:
        raise NotFound(f"reservation {reservation_id} has no live {'carer ' * carer}code")
    # Decision 6: a courier may show only a dropoff's pickup code, which a
    # provider collects; a delivery's code goes to the resident only (and a
    # carer's code to the carer: admin only).
    provider_pickup = res.kind is Kind.DROPOFF and res.state is State.DEPOSITED
    if who.role != "admin" and not provider_pickup:
        raise HTTPException(403, "couriers may not see this reservation's code")
    return codes[name]


Which = Annotated[
    Literal["pickup", "delegate"],
    Query(description="delegate: the carer's code (contract v1.1), admin only"),
]


@router.get("/{reservation_id}/qr.svg", response_class=Response, summary="QR code, SVG")
def qr_svg(
    reservation_id: str, who: AdminOrCourier, service: ServiceDep, code: Which = "pickup"
) -> Response:
    body = qr.svg(_payload(service, reservation_id, who, code == "delegate"))
    return Response(body, media_type="image/svg+xml", headers={"Cache-Control": "no-store"})


@router.get("/{reservation_id}/qr.png", response_class=Response, summary="QR code, PNG")
def qr_png(
    reservation_id: str, who: AdminOrCourier, service: ServiceDep, code: Which = "pickup"
) -> Response:
    body = qr.png(_payload(service, reservation_id, who, code == "delegate"))
    return Response(body, media_type="image/png", headers={"Cache-Control": "no-store"})


@router.post("/{reservation_id}/release", response_model=ReservationOut, summary="Release")
def release(reservation_id: str, who: Operator, service: ServiceDep) -> ReservationOut:
    """Staff checked a held item and hand it over after all: back to deposited, its codes
    valid again (``reservation.released``, decision 32). Staff get no personal data."""
    out = _out(service, service.release(reservation_id), who)
    if who.role == STAFF:
        return out.model_copy(update={"recipient": None, "reference": None})
    return out
