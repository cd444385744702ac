"""Staff at the box: the audit of the cabinet and the alarms staff should look at.

An audit opens the compartments one after the other (``door.opened`` with reason
``audit``); for each, staff say what they found, ``empty`` or ``occupied``, and the
answer is a ``compartment.audited`` event with what the locker expected. A mismatch
is kept (in the meta data, across restarts) and listed among the alarms until a later
audit of that compartment agrees with the locker, and it acts: an item nobody booked
takes its compartment out of service; an item missing is held (``reported_empty``, its
codes open nothing) and its compartment goes out of service, until staff release or
take back.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from locker.domain import doors
from locker.domain.errors import Invalid
from locker.domain.model import Purpose, State
from locker.domain.state import LockerState, Txn
from locker.domain.zones import ZoneState

MISMATCHES = "audit_mismatches"  # meta: compartment -> {at, found, expected}
ITEM_FOUND = "audit: an item nobody booked"
FOUND = ("empty", "occupied")
_INSIDE = (State.DEPOSITED, State.HELD, State.EXPIRED)


@dataclass(frozen=True, slots=True)
class Alarm:
    """Something staff should look at: what, where, since when."""

    at: datetime | None  # None: not known (out of service since before this release)
    kind: str  # out_of_service, left_open, held, audit, commission, temperature, sensor
    compartment: str | None
    detail: str
    zone: str | None = None


def expected(txn: Txn, cid: str) -> str:
    """What the locker believes is in ``cid``: an item deposited and not taken out."""
    holder = txn.holder(cid)
    inside = holder is not None and holder.state in _INSIDE and holder.deposited_at is not None
    return "occupied" if inside else "empty"


def open_for_audit(txn: Txn, cid: str) -> None:
    """Open ``cid`` for the audit (an out-of-service one too: staff are there)."""
    holder = txn.holder(cid)
    doors.start_opening(txn, cid, Purpose.AUDIT, None if holder is None else holder.id, by="staff")


def record(txn: Txn, cid: str, found: str) -> tuple[str, bool]:
    """Staff's answer for ``cid``: the event, and the mismatch kept or cleared. Answers
    what the locker expected and whether it differs."""
    if found not in FOUND:
        raise Invalid(f"found is {' or '.join(FOUND)}, not {found!r}")
    txn.compartment(cid)  # NotFound for a compartment not in the layout
    want = expected(txn, cid)
    holder = txn.holder(cid)
    txn.emit(
        "compartment.audited",
        compartment=cid,
        reservation_id=None if holder is None else holder.id,
        found=found,
        expected=want,
    )
    if found == "occupied" and want == "empty":  # something nobody booked: nothing goes in
        comp = txn.compartment(cid)
        txn.put_compartment(comp.with_(in_service=False, service_reason=ITEM_FOUND))
    elif found == "empty" and holder is not None and holder.state is State.DEPOSITED:
        # the item is not there: its codes must not open an empty door (decision 32)
        txn.put(holder.with_(state=State.HELD, held_reason="reported_empty", updated_at=txn.now))
        txn.emit(
            "reservation.held", reservation_id=holder.id, compartment=cid, reason="reported_empty"
        )
        comp = txn.compartment(cid)
        txn.put_compartment(comp.with_(in_service=False, service_reason="reported empty"))
    kept = json.loads(txn.meta(MISMATCHES) or "{}")
    if found != want:
        kept[cid] = {"at": txn.now.isoformat(), "found": found, "expected": want}
    else:
        kept.pop(cid, None)
    txn.changes.meta[MISMATCHES] = json.dumps(kept, sort_keys=True)
    return want, found != want


def alarms(state: LockerState, zone_of: dict[str, str]) -> list[Alarm]:
    """The open alarms and problems, newest first. ``zone_of``: compartment -> zone."""
    out: list[Alarm] = []
    for comp in state.compartments.values():
        if not comp.in_service:
            out.append(Alarm(comp.out_since, "out_of_service", comp.id, comp.service_reason or ""))
        elif not comp.bookable:  # failed its commissioning: not booked until it passes
            at = comp.commissioned_at
            out.append(Alarm(at, "commission", comp.id, comp.commission or ""))
        if comp.door_open and comp.left_open_reported and comp.door_open_since is not None:
            out.append(Alarm(comp.door_open_since, "left_open", comp.id, "door left open"))
    for res in state.reservations.values():
        if res.state is State.HELD:
            out.append(Alarm(res.updated_at, "held", res.compartment, res.held_reason or ""))
    for cid, miss in json.loads(state.meta.get(MISMATCHES) or "{}").items():
        detail = f"found {miss['found']}, expected {miss['expected']}"
        out.append(Alarm(datetime.fromisoformat(miss["at"]), "audit", cid, detail))
    for zone in state.zones.values():
        out.extend(_zone_alarms(zone, [c for c, z in zone_of.items() if z == zone.zone]))
    return sorted(out, key=lambda a: 0.0 if a.at is None else a.at.timestamp(), reverse=True)


def _zone_alarms(zone: ZoneState, compartments: list[str]) -> list[Alarm]:
    where = compartments[0] if len(compartments) == 1 else None
    found = []
    if zone.alarm_since is not None:
        detail = f"above its limit ({zone.celsius} °C)"
        found.append(Alarm(zone.alarm_since, "temperature", where, detail, zone.zone))
    if zone.fault_since is not None and zone.fault is not None:
        found.append(Alarm(zone.fault_since, "sensor", where, zone.fault, zone.zone))
    return found
