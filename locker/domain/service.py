"""The one entry point for every state change: HTTP, MQTT, door switches, the ticker.

Each public method is one operation run by :meth:`ServiceCore._run`
(:mod:`locker.domain.core`): serialised under one lock, on disk before it
answers, and only then pulsing the relays it asked for.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from datetime import UTC, datetime

from locker.domain import (
    coldchain,
    commands,
    credentials,
    deadlines,
    doors,
    lifecycle,
    unknown_doors,
)
from locker.domain.codes import parse_credential, qr_payload
from locker.domain.errors import Conflict, DomainError, LockedOut, NotFound, WrongCode
from locker.domain.model import (
    Compartment,
    Event,
    Kind,
    Opening,
    Purpose,
    Reservation,
    Size,
    State,
)
from locker.domain.rules import Cancel, ReservationMessage, Upsert
from locker.domain.service_group import GroupPickupService
from locker.domain.state import LockerState, Txn
from locker.privacy import erasure

STAFF_LOCKOUT = "staff:"  # the lockout record of staff PINs at a terminal: its own


class LockerService(GroupPickupService):
    """Every state change: HTTP, MQTT, door switches, the ticker (see :mod:`.core`)."""

    # -- reservations -------------------------------------------------------
    def upsert(self, req: Upsert) -> Reservation | None:
        return self._run(lambda txn: lifecycle.upsert(txn, self.rules, self._sealer, req))

    def cancel(self, reservation_id: str, version: int | None = None) -> Reservation:
        return self._run(lambda txn: lifecycle.cancel(txn, reservation_id, version))

    def reservation_messages(
        self, messages: Sequence[ReservationMessage]
    ) -> list[DomainError | None]:
        """Several messages from the server in one transaction: one commit, one disk
        sync (decision 21). Each keeps its own outcome, as if it had come alone: one
        that is refused is rolled back alone, its ``reservation.rejected`` kept."""
        outcomes: list[DomainError | None] = []

        def one(txn: Txn, message: ReservationMessage) -> None:
            if isinstance(message, Upsert):
                lifecycle.upsert(txn, self.rules, self._sealer, message)
            elif isinstance(message, Cancel):
                lifecycle.cancel(txn, message.reservation_id, message.version)
            else:
                txn.emit(
                    "reservation.rejected",
                    reservation_id=message.reservation_id,
                    reason=message.reason,
                )

        def work(txn: Txn) -> None:
            outcomes.clear()  # run again if what it read was lost
            for message in messages:
                point = txn.savepoint()
                try:
                    one(txn, message)
                except DomainError as exc:
                    txn.rollback_to(point)
                    outcomes.append(exc)
                    continue
                outcomes.append(txn.error)
                txn.error = None

        self._run(work)
        return outcomes

    # -- doors opened by a credential -----------------------------------------
    def deposit_by_courier(
        self, reservation_id: str | None = None, reference: str | None = None
    ) -> str:
        def work(txn: Txn) -> str:
            res = self._find(txn, reservation_id, reference)
            if res.kind is not Kind.DELIVERY:
                raise Conflict("a dropoff is deposited with its deposit code")
            if res.state is not State.ACCEPTED:
                raise Conflict(f"reservation {res.id} is {res.state}, not awaiting deposit")
            credentials.check_usable(txn, res, self.clock_trusted())
            res = coldchain.deposit_target(txn, self.rules, res)
            assert res.compartment is not None
            credentials.check_usable(txn, res, self.clock_trusted())
            doors.start_opening(txn, res.compartment, Purpose.DEPOSIT, res.id, by="courier")
            return res.compartment

        return self._run(work)

    def deposit_with_code(self, terminal: str, code: str | None, qr: str | None = None) -> str:
        return self._open_with_code(terminal, code, qr, (False,))[1]

    def pickup(self, terminal: str, code: str | None, qr: str | None = None) -> str:
        return self._open_with_code(terminal, code, qr, (True,))[1]

    def use_code(
        self, terminal: str, code: str | None, qr: str | None = None
    ) -> tuple[Purpose, str]:
        """The kiosk's one entry: a pickup code or a dropoff's deposit code, whichever it is.

        A code that is neither counts once toward the lockout."""
        return self._open_with_code(terminal, code, qr, (True, False))

    def _open_with_code(
        self, terminal: str, code: str | None, qr: str | None, kinds: tuple[bool, ...]
    ) -> tuple[Purpose, str]:
        with self._reporting_refusals():
            self._check_reachable()  # before the code is even looked at: nothing counted
            return self._open_with_code_unreported(terminal, code, qr, kinds)

    def _open_with_code_unreported(
        self, terminal: str, code: str | None, qr: str | None, kinds: tuple[bool, ...]
    ) -> tuple[Purpose, str]:
        locker_id, digits = parse_credential(code, qr)
        opened: list[Reservation] = []  # the reservation a pickup code (not a carer's) opened
        door: list[tuple[str, str, bool]] = []  # (compartment, reservation, a pickup) opened

        def work(txn: Txn) -> tuple[Purpose, str]:
            opened.clear()  # run again if what it read was lost
            door.clear()
            credentials.ensure_not_locked(txn, terminal)
            refusals = []
            for want_pickup in kinds:
                found = credentials.find_code(
                    txn, self.rules, self._sealer, self._store, locker_id, digits, want_pickup
                )
                if isinstance(found, tuple):
                    res, sealed = found
                    trusted = self.clock_trusted()
                    if want_pickup:  # a held item is refused whatever its deadline
                        res = coldchain.check_pickup(txn, self.rules, res, trusted)
                    else:
                        res = coldchain.deposit_target(txn, self.rules, res)
                    credentials.check_usable(txn, res, trusted)
                    res = credentials.consume(txn, res, want_pickup, sealed)
                    if want_pickup and res.collected_by == "pickup":
                        opened.append(res)
                    purpose = Purpose.PICKUP if want_pickup else Purpose.DEPOSIT
                    assert res.compartment is not None
                    doors.start_opening(
                        txn,
                        res.compartment,
                        purpose,
                        res.id,
                        terminal=terminal if want_pickup else None,
                        digest=sealed.digest if want_pickup else None,
                    )
                    door.append((res.compartment, res.id, want_pickup))
                    return purpose, res.compartment
                refusals.append(found)
            if any(r.reason == "used" for r in refusals):  # within its re-open window?
                again = doors.reopen(txn, terminal, self._sealer.digest(digits))
                if again is not None:
                    return Purpose.REOPEN, again
            for refusal in refusals:
                if refusal.reason != "unknown":
                    raise refusal  # a real code, used or expired: no lockout count
            near = locker_id is None and credentials.is_near_miss(txn, self._sealer, digits)
            credentials.count_wrong(txn, self.rules, terminal, refusals[0], near)
            return Purpose.PICKUP, ""

        answer = self._run(work)
        if door:  # a new person at this terminal: earlier openings are not theirs
            self._clear_opened(terminal)
        for cid, rid, pickup in door:
            self._note_opened(terminal, cid, rid, pickup)
        if opened:
            self._note_pickup(terminal, digits, opened[0])
        elif answer[1] and answer[0] is not Purpose.REOPEN:
            # a carer's code or a deposit: nothing else opens after it
            self._forget_pickup(terminal)
        return answer

    def courier_sign_in(self, terminal: str, pin_ok: Callable[[], bool]) -> None:
        """A courier PIN typed at ``terminal``: wrong ones count toward its lockout."""
        with self._reporting_refusals():
            self._pin_sign_in(terminal, pin_ok)

    def staff_sign_in(self, terminal: str, pin_ok: Callable[[], bool]) -> None:
        """A staff PIN typed at ``terminal``: wrong ones have their own counter and
        lockout (``staff:`` and the terminal), so staff still sign in at a kiosk locked
        out by wrong codes (decision 28)."""
        with self._reporting_refusals():
            self._pin_sign_in(STAFF_LOCKOUT + terminal, pin_ok)

    def _pin_sign_in(self, terminal: str, pin_ok: Callable[[], bool]) -> None:
        with self._lock:
            retry = self._state.terminals.get(terminal)
            wait = None if retry is None else retry.retry_after(self._clock.now().timestamp())
        if wait is not None:
            raise LockedOut(f"too many wrong codes: try again in {wait} s", wait)
        if pin_ok():  # slow on purpose (scrypt): checked outside the lock
            return

        def work(txn: Txn) -> None:
            credentials.ensure_not_locked(txn, terminal)
            credentials.count_wrong(txn, self.rules, terminal, WrongCode("wrong PIN", "pin"))

        self._run(work)

    def return_item(self, reservation_id: str) -> str:
        def work(txn: Txn) -> str:
            res = self._find(txn, reservation_id, None)
            if not (res.state in (State.EXPIRED, State.HELD) and res.holds_compartment):
                raise Conflict(f"reservation {res.id} is {res.state}: nothing to take back")
            assert res.compartment is not None
            if txn.opening(res.compartment) is not None:
                raise Conflict(f"door {res.compartment} is already opening")
            doors.start_opening(txn, res.compartment, Purpose.RETURN, res.id, by="staff")
            return res.compartment

        return self._run(work)

    def _find(self, txn: Txn, rid: str | None, reference: str | None) -> Reservation:
        if (rid is None) == (reference is None):
            raise Conflict("give exactly one of reservation_id or reference")
        res = txn.reservation(rid) if rid is not None else txn.by_reference(reference or "")
        if res is None:
            raise NotFound(f"no reservation {rid or reference!r}")
        return res

    # -- staff --------------------------------------------------------------
    def admin_open(self, cid: str, reason: str | None = None, source: str = "api") -> None:
        def work(txn: Txn) -> None:
            holder = txn.holder(cid)
            doors.start_opening(
                txn,
                cid,
                Purpose.ADMIN,
                None if holder is None else holder.id,
                by=source,
                note=reason,
            )

        self._run(work)

    def set_service(
        self, cid: str, in_service: bool, reason: str | None = None, source: str = "api"
    ) -> Compartment:
        def work(txn: Txn) -> Compartment:
            comp = txn.compartment(cid).with_(
                in_service=in_service, service_reason=None if in_service else reason
            )
            txn.put_compartment(comp)
            txn.emit(
                "command.done",
                compartment=cid,
                command="set_service",
                in_service=in_service,
                source=source,
            )
            return comp

        return self._run(work)

    def erase_personal_data(self, reservation_id: str) -> Reservation:
        """Blank the recipient and reference of a final reservation: ``reservation.erased``
        (:mod:`locker.privacy.erasure`; refused while an item is inside)."""
        return self._run(lambda txn: erasure.erase(txn, reservation_id))

    def lift_lockout(self, terminal: str) -> None:
        def work(txn: Txn) -> None:
            if terminal not in self._state.terminals:
                raise NotFound(f"no lockout recorded for terminal {terminal!r}")
            txn.put_terminal(terminal, None)
            txn.emit("command.done", command="lift_lockout", terminal=terminal, source="api")

        self._run(work)

    # -- the conciergerie server ---------------------------------------------
    def server_command(self, request_id: str, command: commands.Command) -> bool:
        """Run a server command once per ``request_id``; answer whether it ran now."""

        def work(txn: Txn) -> bool:
            ran = commands.execute(txn, request_id, command)
            if ran and isinstance(command, commands.SetClosure | commands.ClearClosure):
                deadlines.resettle_all(txn, self.rules)  # what now falls in closed hours
            return ran

        return self._run(work)

    def reject_message(self, reason: str, reservation_id: str | None = None) -> None:
        """A reservation message that could not be read: ``reservation.rejected``."""

        def work(txn: Txn) -> None:
            txn.emit("reservation.rejected", reservation_id=reservation_id, reason=reason)

        self._run(work)

    def command_failed(self, reason: str, request_id: str | None = None) -> None:
        """A command message that could not be read: ``command.failed``."""

        def work(txn: Txn) -> None:
            txn.emit("command.failed", request_id=request_id, reason=reason)

        self._run(work)

    # -- doors and time -----------------------------------------------------
    def door_changed(self, cid: str, is_open: bool) -> None:
        self._run(lambda txn: self._door_work(txn, cid, is_open))

    def reconcile_doors(self, unknown: Collection[str] = ()) -> None:
        """At start: read every switch. A door found open raises ``door.left_open``; an
        opening whose door was shut again completes; one whose door was never seen
        open is reported (``door.jammed``, interrupted) rather than pulsed again.

        A door in ``unknown`` (the hardware cannot read it: a lock board silent) is not
        taken as shut: its compartment goes out of service until :meth:`doors_answered`
        (:mod:`.unknown_doors`), and an opening there not seen open is interrupted."""

        def work(txn: Txn) -> None:
            for opening in txn.openings():
                cid = opening.compartment
                if opening.purpose is Purpose.COMMISSION:  # its run ended with the process
                    txn.end_opening(cid)
                elif not opening.door_seen_open and (
                    cid in unknown or not self._actuator.is_open(cid)
                ):
                    doors.jam(txn, opening, interrupted=True)  # never pulse for nobody
            for comp in txn.compartments():
                if comp.id in unknown:
                    unknown_doors.set_aside(txn, comp.id)
                else:
                    self._reconcile_door(txn, comp.id)

        self._run(work)

    def doors_answered(self, cids: Collection[str]) -> None:
        """Doors read for the first time since the start (their board answered at last):
        reconciled as at start, and back in service if they were out only for that."""

        def work(txn: Txn) -> None:
            for cid in cids:
                self._reconcile_door(txn, cid)

        self._run(work)

    def _reconcile_door(self, txn: Txn, cid: str) -> None:
        unknown_doors.restore(txn, cid)
        comp = txn.compartment(cid)
        is_open = self._actuator.is_open(cid)
        if is_open and not comp.door_open and txn.opening(cid) is None:
            txn.put_compartment(
                comp.with_(door_open=True, door_open_since=txn.now, left_open_reported=True)
            )
            txn.emit("door.left_open", compartment=cid, at_start=True)
        else:
            doors.door_changed(txn, self.rules, self._sealer, cid, is_open)

    def tick(self) -> None:
        """Time-driven work: re-pulses, jams, doors left open, expiry."""

        def work(txn: Txn) -> None:
            doors.supervise(txn, self.rules)
            self._commission_tick(txn)
            if self.clock_trusted():
                self._fair_time(txn)
                if txn.now >= self._expiry_horizon():
                    lifecycle.expire_due(txn, self.rules, txn.now)
            for key, terminal in self._state.terminals.items():
                if terminal.is_idle(self.rules.lockout, txn.now.timestamp()):
                    txn.put_terminal(key, None)
            for window in txn.windows():
                if txn.window(window.compartment) is None:  # its time is over
                    txn.end_window(window.compartment)

        self._run(work)

    def _expiry_horizon(self) -> datetime:
        """The earliest ``expires_at`` still to act on; scanned again only after changes."""
        if self._next_expiry is None:
            pending = [
                r.expires_at
                for r in self._state.reservations.values()
                if r.state in (State.ACCEPTED, State.DEPOSITED)
            ]
            self._next_expiry = min(pending, default=datetime.max.replace(tzinfo=UTC))
        return self._next_expiry

    # -- views --------------------------------------------------------------
    def reservation(self, rid: str) -> Reservation | None:
        return self._view(
            lambda state: state.reservations.get(rid) or self._store.find_reservation(rid)
        )

    def reservations(self) -> list[Reservation]:
        return self._view(
            lambda state: sorted(state.reservations.values(), key=lambda r: r.created_at)
        )

    def compartments(self) -> list[tuple[Compartment, Reservation | None, Opening | None]]:
        return self._view(
            lambda state: [
                (
                    comp,
                    state.reservations.get(state.holders.get(cid, "")),
                    state.openings.get(cid),
                )
                for cid, comp in state.compartments.items()
            ]
        )

    def compartments_by_id(self) -> dict[str, Compartment]:
        return self._view(lambda state: dict(state.compartments))

    def unlocked(self) -> set[str]:
        """The compartments whose door cycle is running: unlocked, or open for someone."""
        return self._view(lambda state: set(state.openings))

    def codes_of(self, res: Reservation) -> dict[str, str]:
        """The live codes of ``res`` in clear, for staff to re-display."""
        shown: dict[str, str] = {}
        named = (
            ("deposit_code", "qr_payload", res.deposit_code),
            ("pickup_code", "qr_payload", res.pickup_code),
            ("delegate_code", "delegate_qr_payload", res.delegate_code),
        )
        for name, qr_name, sealed in named:
            if sealed is not None and sealed in res.live_codes():
                code = self._sealer.unseal(sealed.sealed)
                shown[name] = code
                shown[qr_name] = qr_payload(self.rules.locker_id, code)
        return shown

    def free_counts(self) -> dict[str, int]:
        def count(state: LockerState) -> dict[str, int]:
            counts = {size.value: 0 for size in Size}
            for cid, comp in state.compartments.items():
                if comp.bookable and cid not in state.holders:
                    counts[comp.spec.size.value] += 1
            return counts

        return self._view(count)

    def lockouts(self) -> dict[str, int | None]:
        now = self._clock.now().timestamp()
        return self._view(
            lambda state: {key: t.retry_after(now) for key, t in state.terminals.items()}
        )

    def last_seq(self) -> int:
        return self._view(lambda state: state.last_seq)

    def events(self, after_seq: int, limit: int) -> list[Event]:
        return self._store.events(after_seq, limit)
