"""Checking codes typed or scanned at a terminal, and the lockout that guards them."""

from __future__ import annotations

import hmac
from dataclasses import replace

from locker.domain.codes import typo_variants
from locker.domain.errors import Conflict, LockedOut, Unavailable, WrongCode
from locker.domain.lockout import register_wrong
from locker.domain.model import Kind, Reservation, SealedCode, State
from locker.domain.ports import CodeSealer, Store
from locker.domain.rules import Rules
from locker.domain.state import Txn


def ensure_not_locked(txn: Txn, terminal: str) -> None:
    retry = txn.terminal(terminal).retry_after(txn.now.timestamp())
    if retry is not None:
        raise LockedOut(f"too many wrong codes: try again in {retry} s", retry)


def is_near_miss(txn: Txn, sealer: CodeSealer, code: str) -> bool:
    """True when ``code`` is one slip away from a live code of this locker."""
    return any(txn.by_digest(sealer.digest(v)) is not None for v in typo_variants(code))


def count_wrong(
    txn: Txn, rules: Rules, terminal: str, error: WrongCode, near_miss: bool = False
) -> None:
    """Record one wrong code for ``terminal``; the caller's error is raised after the commit."""
    state, locked = register_wrong(
        rules.lockout, txn.terminal(terminal), txn.now.timestamp(), near_miss
    )
    txn.put_terminal(terminal, state)
    if not locked:
        txn.fail(error)
        return
    retry = state.retry_after(txn.now.timestamp()) or 0
    txn.emit("code.lockout", terminal=terminal, level=state.level, retry_after_s=retry)
    txn.fail(LockedOut(f"too many wrong codes: try again in {retry} s", retry))


def find_code(
    txn: Txn,
    rules: Rules,
    sealer: CodeSealer,
    store: Store,
    locker_id: str | None,
    code: str,
    want_pickup: bool,
) -> tuple[Reservation, SealedCode] | WrongCode:
    """The live reservation and code that ``code`` opens, or why it opens nothing."""
    if locker_id is not None and locker_id != rules.locker_id:
        return WrongCode("this code is not for this locker")
    digest = sealer.digest(code)
    res = txn.by_digest(digest)
    if res is not None:
        sealed = _matching(res, digest, want_pickup)
        if sealed is not None and not sealed.used:
            return res, sealed
        return WrongCode("unknown code")  # a live code, but of the other kind
    dead = store.find_by_digest(digest)
    if dead is None:
        return WrongCode("unknown code")
    if _matching(dead, digest, want_pickup) is None:
        return WrongCode("unknown code")
    if dead.state is State.EXPIRED:
        return WrongCode("code expired", reason="expired")
    if dead.state is State.CANCELLED:
        return WrongCode("reservation cancelled", reason="cancelled")
    return WrongCode("code already used", reason="used")


def _matching(res: Reservation, digest: str, want_pickup: bool) -> SealedCode | None:
    """The code of ``res`` whose digest is ``digest``, of the kind asked for: a pickup code
    or the carer's (delegate) code, or a dropoff's deposit code."""
    kinds = (res.pickup_code, res.delegate_code) if want_pickup else (res.deposit_code,)
    for sealed in kinds:
        if sealed is not None and hmac.compare_digest(sealed.digest, digest):
            return sealed
    return None


def check_usable(txn: Txn, res: Reservation, clock_trusted: bool) -> None:
    """A found code still cannot open when its time is up or its door is unavailable."""
    if clock_trusted and res.expires_at <= txn.now:
        raise WrongCode("code expired", reason="expired")
    cid = res.compartment
    if cid is None:  # pragma: no cover - a live reservation always has one
        raise Conflict("reservation has no compartment")
    comp = txn.compartment(cid)
    if not comp.in_service:
        raise Unavailable(f"compartment {cid} is out of service")
    if txn.opening(cid) is not None:
        raise Unavailable(f"door {cid} is already opening")


def consume(
    txn: Txn, res: Reservation, want_pickup: bool, sealed: SealedCode | None = None
) -> Reservation:
    """Mark the code used: it never opens a door again. A pickup spends the pickup code
    and the carer's code together, whichever of them ``sealed`` is."""
    if want_pickup:
        assert res.pickup_code is not None
        by = "delegate" if sealed is not None and sealed == res.delegate_code else "pickup"
        delegate = res.delegate_code
        updated = res.with_(
            pickup_code=replace(res.pickup_code, used=True),
            delegate_code=None if delegate is None else replace(delegate, used=True),
            collected_by=by,
            updated_at=txn.now,
        )
    else:
        assert res.deposit_code is not None and res.kind is Kind.DROPOFF
        updated = res.with_(deposit_code=replace(res.deposit_code, used=True), updated_at=txn.now)
    txn.put(updated)
    return updated
