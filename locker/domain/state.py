"""The service's in-memory mirror of the database, and the transaction overlay on it.

A :class:`Txn` collects every change of one operation on top of the mirror.
The service applies ``txn.changes`` to the mirror and queues them for the next
group commit (:mod:`locker.domain.journal`); it answers only once they are on
disk. A failed write makes the service read the mirror back from the database.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from locker.domain.allocation import FreeIndex
from locker.domain.errors import DomainError, NotFound
from locker.domain.lockout import TerminalState
from locker.domain.model import Compartment, Event, Opening, ReopenWindow, Reservation, State
from locker.domain.ports import Changes, Snapshot, Store
from locker.domain.zones import Reading, ZoneState


class LockerState:
    def __init__(self, snapshot: Snapshot) -> None:
        self.compartments = dict(snapshot.compartments)
        self.reservations: dict[str, Reservation] = {}
        self.openings = dict(snapshot.openings)
        self.terminals = dict(snapshot.terminals)
        self.last_seq = snapshot.last_seq
        self.meta = dict(snapshot.meta)
        self.zones = dict(snapshot.zones)
        # NOTE: chilled items whose record was last brought up to date before this
        # start: their codes wait for a trusted clock (decision 34). Never persisted.
        self.cold_pending = {
            r.id
            for r in snapshot.reservations.values()
            if r.cold is not None and r.state is State.DEPOSITED
        }
        self.windows: dict[str, ReopenWindow] = {}  # re-open windows: never persisted
        self.holders: dict[str, str] = {}  # compartment id -> reservation id
        self.codes: dict[str, str] = {}  # live code digest -> reservation id
        self.references: dict[str, str] = {}  # parcel reference -> reservation id
        self.recipients: dict[str, set[str]] = {}  # recipient -> live reservation ids
        for res in snapshot.reservations.values():
            self._put(res)
        self.free = FreeIndex()
        for cid in self.compartments:
            self._index(cid)

    def is_free(self, cid: str) -> bool:
        """In service and not failed at commissioning, held by nobody, no door cycle nor
        re-open window running, and its door shut."""
        comp = self.compartments[cid]
        return (
            comp.bookable
            and not comp.door_open
            and cid not in self.holders
            and cid not in self.openings
            and cid not in self.windows
        )

    def _index(self, cid: str) -> None:
        if cid in self.compartments:
            self.free.set_free(self.compartments[cid].spec, self.is_free(cid))

    def _drop(self, old: Reservation) -> None:
        if old.compartment and self.holders.get(old.compartment) == old.id:
            del self.holders[old.compartment]
        for code in old.codes():
            if code is not None and self.codes.get(code.digest) == old.id:
                del self.codes[code.digest]
        if old.reference and self.references.get(old.reference) == old.id:
            del self.references[old.reference]
        if old.recipient:
            self.recipients.get(old.recipient, set()).discard(old.id)
        self.reservations.pop(old.id, None)

    def _put(self, res: Reservation) -> None:
        old = self.reservations.get(res.id)
        if old is not None:
            self._drop(old)
        if not res.holds_compartment:
            return
        self.reservations[res.id] = res
        if res.compartment:
            self.holders[res.compartment] = res.id
        for code in res.live_codes():
            self.codes[code.digest] = res.id
        if res.reference:
            self.references[res.reference] = res.id
        if res.recipient:
            self.recipients.setdefault(res.recipient, set()).add(res.id)

    def touched(self, changes: Changes) -> set[str]:
        """The compartments whose freedom ``changes`` may alter."""
        ids = set(changes.compartments) | set(changes.openings) | set(changes.windows)
        for res in changes.reservations.values():
            old = self.reservations.get(res.id)
            for comp in (res.compartment, None if old is None else old.compartment):
                if comp:
                    ids.add(comp)
        return ids

    def apply(self, changes: Changes) -> None:
        touched = self.touched(changes)
        for res in changes.reservations.values():
            self._put(res)
        self.compartments.update(changes.compartments)
        for cid, opening in changes.openings.items():
            if opening is None:
                self.openings.pop(cid, None)
            else:
                self.openings[cid] = opening
        for key, terminal in changes.terminals.items():
            if terminal is None:
                self.terminals.pop(key, None)
            else:
                self.terminals[key] = terminal
        if changes.events:
            self.last_seq = changes.events[-1].seq
        self.meta.update(changes.meta)
        self.zones.update(changes.zones)
        self.cold_pending -= changes.cold_settled
        for cid, window in changes.windows.items():
            if window is None:
                self.windows.pop(cid, None)
            else:
                self.windows[cid] = window
        for cid in touched:
            self._index(cid)


class Txn:
    """One operation's view: the mirror plus what the operation has changed so far."""

    def __init__(self, state: LockerState, store: Store, now: datetime) -> None:
        self.state = state
        self.store = store
        self.now = now
        self.changes = Changes()
        self.unlocks: list[str] = []  # relay pulses to send once committed
        self.error: DomainError | None = None  # raised to the caller after the commit
        # compartments back in service in this operation -> out of service since then
        self.back_in_service: dict[str, datetime] = {}

    def meta(self, key: str) -> str | None:
        return self.changes.meta.get(key, self.state.meta.get(key))

    # -- reservations -------------------------------------------------------
    def reservation(self, rid: str) -> Reservation | None:
        if rid in self.changes.reservations:
            return self.changes.reservations[rid]
        if rid in self.state.reservations:
            return self.state.reservations[rid]
        return self.store.find_reservation(rid)

    def put(self, res: Reservation) -> None:
        self.changes.reservations[res.id] = res

    def live_reservations(self) -> list[Reservation]:
        merged = dict(self.state.reservations)
        merged.update(self.changes.reservations)
        return [r for r in merged.values() if r.holds_compartment]

    def by_digest(self, digest: str) -> Reservation | None:
        for res in self.changes.reservations.values():
            if any(c.digest == digest for c in res.live_codes()):
                return res
        rid = self.state.codes.get(digest)
        if rid is None:
            return None
        found = self.reservation(rid)
        if found is None or not any(c.digest == digest for c in found.live_codes()):
            return None
        return found

    def live_digests(self) -> set[str]:
        taken = set(self.state.codes)
        for res in self.changes.reservations.values():
            taken.update(c.digest for c in res.live_codes())
        return taken

    def by_reference(self, reference: str) -> Reservation | None:
        for res in self.changes.reservations.values():
            if res.reference == reference and res.holds_compartment:
                return res
        rid = self.state.references.get(reference)
        return None if rid is None else self.reservation(rid)

    def by_recipient(self, recipient: str) -> list[Reservation]:
        """Live reservations for ``recipient``, as this transaction sees them."""
        ids = set(self.state.recipients.get(recipient, ()))
        ids |= {r.id for r in self.changes.reservations.values() if r.recipient == recipient}
        found = [self.reservation(rid) for rid in sorted(ids)]
        return [
            r for r in found if r is not None and r.holds_compartment and r.recipient == recipient
        ]

    # -- compartments -------------------------------------------------------
    def compartment(self, cid: str) -> Compartment:
        comp = self.changes.compartments.get(cid) or self.state.compartments.get(cid)
        if comp is None:
            raise NotFound(f"no compartment {cid!r}")
        return comp

    def put_compartment(self, comp: Compartment) -> None:
        """Keep ``comp``; note since when it is out of service, and when it comes back
        (the time is given back to the item inside: :mod:`locker.domain.deadlines`)."""
        old = self.changes.compartments.get(comp.id) or self.state.compartments.get(comp.id)
        if old is not None and old.in_service != comp.in_service:
            self.end_window(comp.id)  # a staff action there ends its re-open window
        if not comp.in_service and comp.out_since is None:
            comp = comp.with_(out_since=self.now)
        elif comp.in_service and comp.out_since is not None:
            self.back_in_service.setdefault(comp.id, comp.out_since)
            comp = comp.with_(out_since=None)
        self.changes.compartments[comp.id] = comp

    def compartments(self) -> list[Compartment]:
        return [self.compartment(cid) for cid in self.state.compartments]

    def holder(self, cid: str) -> Reservation | None:
        for res in self.changes.reservations.values():
            if res.compartment == cid and res.holds_compartment:
                return res
        rid = self.state.holders.get(cid)
        if rid is None or rid in self.changes.reservations:
            return None
        return self.state.reservations.get(rid)

    # -- openings -----------------------------------------------------------
    def opening(self, cid: str) -> Opening | None:
        if cid in self.changes.openings:
            return self.changes.openings[cid]
        return self.state.openings.get(cid)

    def openings(self) -> list[Opening]:
        merged: dict[str, Opening | None] = dict(self.state.openings)
        merged.update(self.changes.openings)
        return [o for o in merged.values() if o is not None]

    def put_opening(self, opening: Opening) -> None:
        self.changes.openings[opening.compartment] = opening

    def end_opening(self, cid: str) -> None:
        self.changes.openings[cid] = None

    # -- re-open windows (decision 33) -------------------------------------------
    def window(self, cid: str) -> ReopenWindow | None:
        """The re-open window running on ``cid`` (one past its time is over)."""
        if cid in self.changes.windows:
            found = self.changes.windows[cid]
        else:
            found = self.state.windows.get(cid)
        return found if found is not None and self.now < found.until else None

    def start_window(self, window: ReopenWindow) -> None:
        self.changes.windows[window.compartment] = window

    def end_window(self, cid: str) -> None:
        if cid in self.state.windows or self.changes.windows.get(cid) is not None:
            self.changes.windows[cid] = None

    def windows(self) -> list[ReopenWindow]:
        merged: dict[str, ReopenWindow | None] = dict(self.state.windows)
        merged.update(self.changes.windows)
        return [w for w in merged.values() if w is not None]

    # -- chilled zones --------------------------------------------------------
    def zone(self, zone_id: str) -> ZoneState | None:
        return self.changes.zones.get(zone_id) or self.state.zones.get(zone_id)

    def put_zone(self, zone: ZoneState) -> None:
        self.changes.zones[zone.zone] = zone

    def add_reading(self, reading: Reading) -> None:
        self.changes.readings.append(reading)

    def cold_pending(self, rid: str) -> bool:
        return rid in self.state.cold_pending and rid not in self.changes.cold_settled

    def settle_cold(self, rid: str) -> None:
        self.changes.cold_settled.add(rid)

    # -- terminals ----------------------------------------------------------
    def terminal(self, key: str) -> TerminalState:
        if key in self.changes.terminals:
            return self.changes.terminals[key] or TerminalState()
        return self.state.terminals.get(key, TerminalState())

    def put_terminal(self, key: str, terminal: TerminalState | None) -> None:
        self.changes.terminals[key] = terminal

    # -- events -------------------------------------------------------------
    def emit(
        self,
        type_: str,
        *,
        reservation_id: str | None = None,
        compartment: str | None = None,
        secrets: dict[str, str] | None = None,
        **data: object,
    ) -> Event:
        seq = self.state.last_seq + len(self.changes.events) + 1
        event = Event(
            seq=seq,
            event_id=str(uuid.uuid4()),
            type=type_,
            at=self.now,
            reservation_id=reservation_id,
            compartment=compartment,
            data={k: v for k, v in data.items() if v is not None},
            secrets=secrets or {},
        )
        self.changes.events.append(event)
        return event

    def savepoint(self) -> tuple[Changes, int]:
        c = self.changes
        copy = Changes(
            reservations=dict(c.reservations),
            compartments=dict(c.compartments),
            openings=dict(c.openings),
            terminals=dict(c.terminals),
            events=list(c.events),
            meta=dict(c.meta),
            commands=dict(c.commands),
            zones=dict(c.zones),
            readings=list(c.readings),
            cold_settled=set(c.cold_settled),
            windows=dict(c.windows),
        )
        return copy, len(self.unlocks)

    def rollback_to(self, point: tuple[Changes, int]) -> None:
        self.changes = point[0]
        del self.unlocks[point[1] :]

    def fail(self, error: DomainError) -> None:
        """Commit what was recorded (a lockout, say), then raise ``error``."""
        self.error = error
