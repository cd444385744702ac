"""Simulation only: a hand at the cabinet. These routes do not exist on real hardware."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from api.deps import RuntimeDep
from locker.domain.errors import Invalid, NotFound
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
    """Each door; ``led`` (``off``, ``blink``) where a light is wired (decision 31)."""
    found: list[dict[str, object]] = _cabinet(runtime).doors()
    lights = runtime.lights
    if lights is not None:
        for door in found:
            cid = str(door["id"])
            if lights.wired(cid):
                door["led"] = lights.state(cid)
    return found


@router.post("/doors/{door_id}/open", summary="Open the door by hand")
def open_door(door_id: str, runtime: RuntimeDep) -> dict[str, object]:
    _cabinet(runtime, door_id).set_door(door_id, is_open=True)
    return {"id": door_id, "open": True}


@router.post("/doors/{door_id}/close", summary="Shut the door by hand")
def close_door(door_id: str, runtime: RuntimeDep) -> dict[str, object]:
    _cabinet(runtime, door_id).set_door(door_id, is_open=False)
    return {"id": door_id, "open": False}


class BoardIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    answering: bool = Field(description="false: the board stops answering (power or cable cut)")


@router.post("/boards/{board}", summary="Make a simulated Kerong board silent, or answer again")
def set_board(board: int, body: BoardIn, runtime: RuntimeDep) -> dict[str, object]:
    """Kerong cabinets only (``--hardware kerong``): a silent board's doors are not
    supervised, ``/healthz`` answers 503 until it answers again."""
    from firmware_bridge.kerong_sim import KerongCabinet

    cabinet = runtime.sim
    if not isinstance(cabinet, KerongCabinet) or board not in cabinet.sim.boards:
        raise NotFound(f"no simulated Kerong board {board}")
    if body.answering:
        cabinet.sim.absent.discard(board)
    else:
        cabinet.sim.absent.add(board)
    return {"board": board, "answering": body.answering}


class ZoneIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    celsius: float | None = Field(default=None, ge=-55, le=125, description="the probe's range")
    fault: Literal["85", "crc", "missing", "stuck"] | None = None


@router.post("/zones/{zone}", summary="Set a zone's temperature or its probe's fault")
def set_zone(zone: str, body: ZoneIn, runtime: RuntimeDep) -> dict[str, object]:
    """Writes the zone's simulated ``w1_slave`` file, then samples the zone at once (as
    the sampler does every ``sample_s``). A temperature alone clears a fault."""
    probes, sampler = runtime.probes, runtime.sampler
    if probes is None or sampler is None or not probes.knows(zone):
        raise NotFound(f"no chilled zone {zone!r}")
    if body.celsius is None and "fault" not in body.model_fields_set:
        raise Invalid("give celsius, fault, or both")
    probes.set(zone, body.celsius, body.fault)
    sampler.sample_now(zone)
    return probes.state(zone)


@router.get("/zones", summary="The simulated probes")
def zones(runtime: RuntimeDep) -> list[dict[str, object]]:
    probes = runtime.probes
    if probes is None:
        return []
    return [probes.state(spec.id) for spec in runtime.service.rules.zones]
