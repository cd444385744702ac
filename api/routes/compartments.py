"""Compartments: their state, and staff actions on them."""

from __future__ import annotations

from fastapi import APIRouter

from api.auth import STAFF, Operator, Reader
from api.deps import ServiceDep
from api.schemas import CompartmentOut, Opened, OpenIn, ServiceIn
from locker.domain.errors import Invalid
from locker.domain.model import Compartment, Opening, Reservation, State

router = APIRouter(prefix="/compartments", tags=["compartments"])


def _status(comp: Compartment, res: Reservation | None) -> str:
    if not comp.in_service:
        return "out_of_service"
    if res is None:
        return "free" if comp.bookable else "commission_failed"
    if res.state is State.ACCEPTED:
        return "reserved"
    if res.state is State.EXPIRED:
        return "expired_item"
    if res.state is State.HELD:
        return "held"
    return "occupied"


def _out(comp: Compartment, res: Reservation | None, opening: Opening | None) -> CompartmentOut:
    spec = comp.spec
    return CompartmentOut(
        id=comp.id,
        size=spec.size,
        chilled=spec.chilled,
        accessible=spec.accessible,
        column=spec.column,
        row=spec.row,
        in_service=comp.in_service,
        service_reason=comp.service_reason,
        door_open=comp.door_open,
        status=_status(comp, res),
        reservation_id=None if res is None else res.id,
        opening=None if opening is None else opening.purpose.value,
        since=comp.out_since if not comp.in_service else None if res is None else res.deposited_at,
        commission=comp.commission,
    )


@router.get("", response_model=list[CompartmentOut])
def list_compartments(_who: Reader, service: ServiceDep) -> list[CompartmentOut]:
    return [_out(*row) for row in service.compartments()]


@router.post(
    "/{compartment_id}/open",
    response_model=Opened,
    response_model_exclude_none=True,
    summary="Staff opening",
)
def open_compartment(
    compartment_id: str, who: Operator, service: ServiceDep, body: OpenIn | None = None
) -> Opened:
    """Staff at the box give a reason (decision 28): ``stuck``, ``check``, or their own."""
    reason = None if body is None else body.reason
    if who.role == STAFF and not (reason and reason.strip()):
        raise Invalid("staff give a reason to open a compartment")
    service.admin_open(compartment_id, reason, source="staff" if who.role == STAFF else "api")
    return Opened(compartment=compartment_id)


@router.put("/{compartment_id}/service", response_model=CompartmentOut)
def set_service(
    compartment_id: str, body: ServiceIn, who: Operator, service: ServiceDep
) -> CompartmentOut:
    source = "staff" if who.role == STAFF else "api"
    service.set_service(compartment_id, body.in_service, body.reason, source=source)
    for row in service.compartments():
        if row[0].id == compartment_id:
            return _out(*row)
    raise AssertionError("compartment vanished")  # pragma: no cover
