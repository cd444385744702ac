"""Simulation only: a hand at the cabinet. These routes do not exist on real hardware."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import RuntimeDep
from locker.domain.errors import NotFound
from locker.runtime import Runtime

router = APIRouter(prefix="/sim", tags=["simulation"])


def _cabinet(runtime: Runtime, door_id: str | None = None):  # type: ignore[no-untyped-def]
    sim = runtime.sim
    assert sim is not None  # the router is only mounted in simulation
    if door_id is not None and not sim.knows(door_id):
        raise NotFound(f"no door {door_id!r}")
    return sim


@router.get("/doors", summary="Door state and relay pulse count, read from the mock pins")
def doors(runtime: RuntimeDep) -> list[dict[str, object]]:
    return _cabinet(runtime).doors()  # type: ignore[no-any-return]


@router.post("/doors/{door_id}/open", summary="Open the door by hand")
def open_door(door_id: str, runtime: RuntimeDep) -> dict[str, object]:
    _cabinet(runtime, door_id).set_door(door_id, is_open=True)
    return {"id": door_id, "open": True}


@router.post("/doors/{door_id}/close", summary="Shut the door by hand")
def close_door(door_id: str, runtime: RuntimeDep) -> dict[str, object]:
    _cabinet(runtime, door_id).set_door(door_id, is_open=False)
    return {"id": door_id, "open": False}
