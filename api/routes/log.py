"""The event log and the lockouts, for staff."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, status

from api.auth import STAFF, Admin, Operator
from api.deps import ServiceDep

router = APIRouter(tags=["log"])


@router.get("/events", summary="The event log, in seq order")
def events(
    _who: Admin,
    service: ServiceDep,
    after_seq: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> list[dict[str, Any]]:
    """Events in the contract's shape; code fields are masked (staff read codes from the
    reservation while they are live). Page with the last ``seq`` you got."""
    locker_id = service.rules.locker_id
    return [e.to_contract(locker_id) for e in service.events(after_seq, limit)]


@router.get("/lockouts", summary="Terminals with a lockout record")
def lockouts(_who: Admin, service: ServiceDep) -> dict[str, int | None]:
    """Terminal -> seconds left to wait (null: not locked now, but remembered)."""
    return service.lockouts()


@router.delete("/lockouts/{terminal}", status_code=204, summary="Lift a lockout")
def lift(terminal: str, who: Operator, service: ServiceDep) -> None:
    """Admin lifts any; staff only the lockout of the kiosk they signed in at."""
    if who.role == STAFF and terminal != who.home:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "staff lift the lockout of their kiosk only")
    service.lift_lockout(terminal)
