"""Door cycles: the pulse, the reed switch's answer, and the alarms when it does not come."""

from __future__ import annotations

import hmac
from dataclasses import replace
from datetime import timedelta

from locker.domain import deadlines
from locker.domain.codes import new_code, qr_payload
from locker.domain.errors import Unavailable
from locker.domain.model import Opening, Purpose, ReopenWindow, SealedCode, State
from locker.domain.ports import CodeSealer
from locker.domain.rules import Rules
from locker.domain.state import Txn

_RETURNABLE = (State.EXPIRED, State.HELD)
_REPORTED = ("reported_empty", "wrong_item", "damaged")  # held by the person at the door
# door.jammed says what the opening was for, in the contract's words
_JAM_REASONS = {Purpose.REOPEN: Purpose.PICKUP, Purpose.AUDIT: Purpose.ADMIN}
# staff at the door: these open an out-of-service compartment too (a held item's is)
_STAFF_PURPOSES = (Purpose.ADMIN, Purpose.AUDIT, Purpose.RETURN, Purpose.COMMISSION)


def start_opening(
    txn: Txn,
    cid: str,
    purpose: Purpose,
    reservation_id: str | None = None,
    by: str = "code",
    note: str | None = None,
    terminal: str | None = None,
    digest: str | None = None,
) -> Opening:
    """Record an opening with its ``door.opened`` event and queue the relay pulse.
    ``terminal`` and ``digest``: a pickup's, for its re-open window."""
    comp = txn.compartment(cid)
    current = txn.opening(cid)
    if purpose is not Purpose.REOPEN:
        txn.end_window(cid)  # any other opening ends the window (decision 33)
    if purpose is Purpose.ADMIN and current is not None:
        # NOTE: staff freeing a stuck door: pulse again, keep what the cycle was for.
        opening = current.with_(pulsed_at=txn.now, attempts=1)
    else:
        if current is not None:
            raise Unavailable(f"door {cid} is already opening")
        if not comp.in_service and purpose not in _STAFF_PURPOSES:
            raise Unavailable(f"compartment {cid} is out of service")
        opening = Opening(
            compartment=cid,
            purpose=purpose,
            reservation_id=reservation_id,
            pulsed_at=txn.now,
            door_seen_open=comp.door_open,
            terminal=terminal,
            digest=digest,
        )
    txn.put_opening(opening)
    txn.emit(
        "door.opened",
        reservation_id=reservation_id,
        compartment=cid,
        reason=purpose.value,
        by=by,
        note=note,
    )
    txn.unlocks.append(cid)
    return opening


def door_changed(txn: Txn, rules: Rules, sealer: CodeSealer, cid: str, is_open: bool) -> None:
    """The debounced reed switch of ``cid`` now reads ``is_open``."""
    comp = txn.compartment(cid)
    if comp.door_open == is_open:
        return
    opening = txn.opening(cid)
    if is_open:
        txn.put_compartment(
            comp.with_(door_open=True, door_open_since=txn.now, left_open_reported=False)
        )
        if opening is None:
            # NOTE: nothing is handed out of, or booked into, a forced compartment
            # until staff have looked at it.
            comp = txn.compartment(cid)
            txn.end_window(cid)
            txn.put_compartment(comp.with_(in_service=False, service_reason="door forced open"))
            holder = txn.holder(cid)
            txn.emit(
                "door.forced_open",
                compartment=cid,
                reservation_id=None if holder is None else holder.id,
            )
        elif not opening.door_seen_open:
            txn.put_opening(opening.with_(door_seen_open=True))
        return
    txn.put_compartment(comp.with_(door_open=False, door_open_since=None, left_open_reported=False))
    if opening is not None and opening.door_seen_open:
        txn.end_opening(cid)
        _complete(txn, rules, sealer, opening)


def _complete(txn: Txn, rules: Rules, sealer: CodeSealer, opening: Opening) -> None:
    """The door closed after the opening: finish what the opening was for."""
    if opening.reservation_id is None:
        return
    res = txn.reservation(opening.reservation_id)
    if res is None:
        return
    cid = opening.compartment
    if opening.purpose is Purpose.DEPOSIT and res.state is State.ACCEPTED:
        taken = txn.live_digests()
        code, digest = new_code(sealer.digest, taken)
        secrets = {"pickup_code": code, "qr_payload": qr_payload(rules.locker_id, code)}
        delegate = None
        if res.delegate:  # a carer's code beside the resident's (contract v1.1)
            carer, carer_digest = new_code(sealer.digest, taken | {digest})
            delegate = SealedCode(carer_digest, sealer.seal(carer))
            secrets |= {
                "delegate_code": carer,
                "delegate_qr_payload": qr_payload(rules.locker_id, carer),
            }
        deposit = res.deposit_code
        res = res.with_(
            delegate_code=delegate,
            state=State.DEPOSITED,
            deposited_at=txn.now,
            updated_at=txn.now,
            deposit_code=None if deposit is None else SealedCode(deposit.digest, "", True),
            pickup_code=SealedCode(digest, sealer.seal(code)),
        )
        if res.cold is not None:  # the cold-chain record starts at the deposit
            res = res.with_(cold=res.cold.with_(until=txn.now))
        txn.emit(
            "parcel.deposited",
            reservation_id=res.id,
            compartment=cid,
            secrets=secrets,
        )
        txn.put(deadlines.settle(txn, rules, res))  # then its deadline, if it moves
    elif (
        opening.purpose is Purpose.PICKUP
        and res.holds_compartment
        and res.held_reason not in _REPORTED  # a problem reported while it was open
        and res.deposited_at
    ):
        txn.put(res.with_(state=State.COLLECTED, closed_at=txn.now, updated_at=txn.now))
        by = res.collected_by or "pickup"
        txn.emit("parcel.collected", reservation_id=res.id, compartment=cid, by=by)
        if opening.terminal and opening.digest and rules.time.reopen_s > 0:
            until = txn.now + timedelta(seconds=rules.time.reopen_s)
            txn.start_window(ReopenWindow(cid, res.id, opening.digest, opening.terminal, until))
    elif opening.purpose is Purpose.RETURN and res.state in _RETURNABLE and res.deposited_at:
        txn.put(res.with_(state=State.RETURNED, closed_at=txn.now, updated_at=txn.now))
        txn.emit("parcel.returned", reservation_id=res.id, compartment=cid)


def reopen(txn: Txn, terminal: str, digest: str) -> str | None:
    """A spent pickup code typed again at the terminal that used it, within the door's
    re-open window: the same door opens once more (``door.opened``, reason ``reopen``)
    and the window ends. Answers the compartment, or None (no window for it)."""
    for window in txn.windows():
        if window.terminal != terminal or not hmac.compare_digest(window.digest, digest):
            continue
        cid = window.compartment
        if txn.window(cid) is None:
            return None  # its time is over
        txn.end_window(cid)
        if not txn.compartment(cid).in_service or txn.opening(cid) is not None:
            return None
        start_opening(txn, cid, Purpose.REOPEN, window.reservation_id, by="code")
        return cid
    return None


def jam(txn: Txn, opening: Opening, interrupted: bool = False) -> None:
    """The door never opened: report it, take the compartment out of service, and give
    the credential back (it opened nothing), so it works once staff have fixed the door.

    ``interrupted``: the controller restarted before the door was seen open; nobody
    is pulsed for at start, but the state of the compartment needs a look.
    """
    cid = opening.compartment
    txn.end_opening(cid)
    comp = txn.compartment(cid)
    reason = "interrupted door cycle" if interrupted else "door jammed"
    txn.put_compartment(comp.with_(in_service=False, service_reason=reason))
    res = txn.reservation(opening.reservation_id) if opening.reservation_id else None
    if res is not None:
        if opening.purpose is Purpose.PICKUP and res.state is State.DEPOSITED and res.pickup_code:
            delegate = res.delegate_code  # both codes back: the pickup never happened
            txn.put(
                res.with_(
                    pickup_code=replace(res.pickup_code, used=False),
                    delegate_code=None if delegate is None else replace(delegate, used=False),
                    collected_by=None,
                )
            )
        elif (
            opening.purpose is Purpose.DEPOSIT and res.state is State.ACCEPTED and res.deposit_code
        ):
            txn.put(res.with_(deposit_code=replace(res.deposit_code, used=False)))
    txn.emit(
        "door.jammed",
        reservation_id=opening.reservation_id,
        compartment=cid,
        reason=_JAM_REASONS.get(opening.purpose, opening.purpose).value,
        pulses=opening.attempts,
        interrupted=interrupted or None,
    )


def supervise(txn: Txn, rules: Rules) -> None:
    """Pulse again, or raise ``door.jammed`` / ``door.left_open``, as time has passed."""
    for opening in txn.openings():
        if opening.door_seen_open or opening.purpose is Purpose.COMMISSION:
            continue  # a commissioning step times out on its own (:mod:`.commissioning`)
        waited = (txn.now - opening.pulsed_at).total_seconds()
        if waited < rules.open_timeout_s:
            continue
        cid = opening.compartment
        if opening.attempts < rules.max_pulses:
            txn.put_opening(opening.with_(attempts=opening.attempts + 1, pulsed_at=txn.now))
            txn.unlocks.append(cid)
            continue
        jam(txn, opening)
    for comp in txn.compartments():
        if not comp.door_open or comp.left_open_reported or comp.door_open_since is None:
            continue
        if (txn.now - comp.door_open_since).total_seconds() >= rules.left_open_s:
            txn.put_compartment(comp.with_(left_open_reported=True))
            holder = txn.holder(comp.id)
            txn.emit(
                "door.left_open",
                compartment=comp.id,
                reservation_id=None if holder is None else holder.id,
            )
