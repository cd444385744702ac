"""Commands from the conciergerie server: each runs once per ``request_id`` and is answered."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from locker.domain import doors
from locker.domain.errors import DomainError, Invalid, NotFound
from locker.domain.hours import CLOSURES, Closure, closures_from, closures_json
from locker.domain.model import Purpose, State
from locker.domain.ports import CommandOutcome
from locker.domain.state import Txn
from locker.privacy import erasure


@dataclass(frozen=True)
class Resync:
    """Answer one ``locker.snapshot`` of every reservation that is not final."""


@dataclass(frozen=True)
class OpenDoor:
    compartment: str
    reason: str | None = None


@dataclass(frozen=True)
class SetService:
    compartment: str
    in_service: bool
    reason: str | None = None


@dataclass(frozen=True)
class SetClosure:
    """An exceptional closure of the host site, on top of the config's hours."""

    start: datetime
    end: datetime
    reason: str = ""


@dataclass(frozen=True)
class ClearClosure:
    start: datetime


@dataclass(frozen=True)
class Erase:
    """Blank the personal data of one final reservation (:mod:`locker.privacy.erasure`)."""

    reservation_id: str


Command = Resync | OpenDoor | SetService | SetClosure | ClearClosure | Erase
NAMES = {
    Erase: "erase",
    Resync: "resync",
    OpenDoor: "open",
    SetService: "set_service",
    SetClosure: "set_closure",
    ClearClosure: "clear_closure",
}


def server_closures(txn: Txn) -> tuple[Closure, ...]:
    return closures_from(txn.meta(CLOSURES))


def _set_closure(txn: Txn, command: SetClosure | ClearClosure) -> None:
    kept = tuple(c for c in server_closures(txn) if c.start != command.start)
    if isinstance(command, SetClosure):
        if command.end <= command.start:
            raise Invalid("a closure's 'to' must come after its 'from'")
        kept = tuple(
            sorted(
                (*kept, Closure(command.start, command.end, command.reason)), key=lambda c: c.start
            )
        )
    elif len(kept) == len(server_closures(txn)):
        raise NotFound(f"no closure from {command.start.isoformat()}")
    txn.changes.meta[CLOSURES] = closures_json(kept)


def snapshot(txn: Txn, request_id: str | None) -> None:
    rows = [
        {
            "reservation_id": r.id,
            "state": r.state.value,
            "version": r.version,
            "compartment": r.compartment,
            "kind": r.kind.value,
            "expires_at": r.expires_at.isoformat(),
            **({"reason": r.held_reason} if r.state is State.HELD else {}),
        }
        for r in sorted(txn.live_reservations(), key=lambda r: r.created_at)
    ]
    txn.emit("locker.snapshot", request_id=request_id, reservations=rows)


def execute(txn: Txn, request_id: str, command: Command) -> bool:
    """Run ``command`` unless ``request_id`` was seen; answer whether it ran.

    A refusal is answered with ``command.failed`` and leaves nothing else behind.
    """
    seen = txn.changes.commands.get(request_id) or txn.store.command_outcome(request_id)
    if seen is not None:
        # Not run again; answered again, the same way, marked as a repeat.
        txn.emit(
            f"command.{seen.outcome}",
            request_id=request_id,
            command=seen.command,
            reason=seen.reason,
            repeat=True,
        )
        return False
    name = NAMES[type(command)]
    point = txn.savepoint()
    try:
        if isinstance(command, Resync):
            snapshot(txn, request_id)
        elif isinstance(command, SetClosure | ClearClosure):
            _set_closure(txn, command)
        elif isinstance(command, Erase):
            erasure.erase(txn, command.reservation_id)
        elif isinstance(command, OpenDoor):
            holder = txn.holder(command.compartment) if _exists(txn, command.compartment) else None
            doors.start_opening(
                txn,
                command.compartment,
                Purpose.ADMIN,
                None if holder is None else holder.id,
                by="server",
                note=command.reason,
            )
        else:
            comp = txn.compartment(command.compartment)
            txn.put_compartment(
                comp.with_(
                    in_service=command.in_service,
                    service_reason=None if command.in_service else command.reason,
                )
            )
    except DomainError as exc:
        txn.rollback_to(point)
        txn.changes.commands[request_id] = CommandOutcome(name, "failed", exc.message)
        txn.emit(
            "command.failed",
            compartment=getattr(command, "compartment", None),
            request_id=request_id,
            command=name,
            reason=exc.message,
        )
        return True
    txn.changes.commands[request_id] = CommandOutcome(name, "done")
    txn.emit(
        "command.done",
        compartment=getattr(command, "compartment", None),
        request_id=request_id,
        command=name,
    )
    return True


def _exists(txn: Txn, cid: str) -> bool:
    try:
        txn.compartment(cid)
    except DomainError:
        return False
    return True
