"""The reservation lifecycle of CONTRACT.md: upsert, cancel, expiry."""

from __future__ import annotations

from datetime import datetime

from locker.domain import coldchain, deadlines
from locker.domain.allocation import choose
from locker.domain.codes import new_code
from locker.domain.errors import Conflict, NotFound, Rejected
from locker.domain.model import Compartment, Kind, Reservation, SealedCode, Size, State
from locker.domain.ports import CodeSealer
from locker.domain.rules import Rules, Upsert
from locker.domain.state import Txn
from locker.privacy import identifiers

# Fields an upsert may not change once the item is in the compartment (decision 14).
_FROZEN_AFTER_DEPOSIT = ("kind", "size", "chilled", "accessible", "reference", "delegate")


def reject(txn: Txn, reservation_id: str, version: int | None, reason: str) -> None:
    txn.emit("reservation.rejected", reservation_id=reservation_id, reason=reason, version=version)
    txn.fail(Rejected(reason))


def free_compartments(txn: Txn) -> list[Compartment]:
    """Bookable (in service, not failed at commissioning), held by nobody, no door cycle
    running, and its door shut."""
    return [c for c in txn.compartments() if _is_free(txn, c)]


def _is_free(txn: Txn, comp: Compartment) -> bool:
    return (
        comp.bookable
        and not comp.door_open
        and txn.holder(comp.id) is None
        and txn.opening(comp.id) is None
        and txn.window(comp.id) is None
    )


def pick(
    txn: Txn,
    rules: Rules,
    size: Size,
    chilled: bool,
    accessible: bool,
    max_c: float | None = None,
    healthy_only: bool = True,
) -> Compartment | None:
    """What :func:`choose` picks among :func:`free_compartments`, through the mirror's
    index for the compartments this transaction has not touched. A chilled item (limit
    ``max_c``) gets a compartment of a healthy zone only, unless not ``healthy_only``."""
    touched = {cid for cid in txn.state.touched(txn.changes) if cid in txn.state.compartments}
    skip: set[str] = set()
    if chilled and healthy_only:
        skip = coldchain.unfit(txn, rules, rules.cold.default_max_c if max_c is None else max_c)[0]
    candidates = [c for c in (txn.compartment(cid) for cid in touched - skip) if _is_free(txn, c)]
    indexed = txn.state.free.choose(size, chilled, accessible, touched | skip)
    if indexed is not None:
        candidates.append(txn.compartment(indexed))
    return choose(candidates, size, chilled, accessible)


def upsert(txn: Txn, rules: Rules, sealer: CodeSealer, req: Upsert) -> Reservation | None:
    """Apply a ``reservation.upsert``; answer the reservation as it now stands."""
    if req.version < 1:
        reject(txn, req.reservation_id, req.version, "version must be an integer >= 1")
        return None
    why = identifiers.personal_data(req.recipient)
    if why is not None:  # a phone number or an e-mail names a person (CONTRACT v1.1)
        reject(txn, req.reservation_id, req.version, why + identifiers.REASON)
        return None
    existing = txn.reservation(req.reservation_id)
    if existing is not None and req.version <= existing.version:
        return existing  # duplicate or stale: changes nothing, not an error
    if existing is None or existing.state is State.CANCELLED or not _item_ever_in(existing):
        # New, or booked again by a newer version after a cancel or an expiry
        # with nothing inside (decision 17: the greater version wins).
        return _create(txn, rules, sealer, req)
    if existing.state is State.ACCEPTED:
        return _update_accepted(txn, rules, sealer, existing, req)
    if existing.holds_compartment:
        return _update_deposited(txn, rules, existing, req)
    reject(txn, req.reservation_id, req.version, f"reservation is already {existing.state}")
    return None


def _item_ever_in(res: Reservation) -> bool:
    return res.state is not State.EXPIRED or res.deposited_at is not None


def _reference_taken(txn: Txn, req: Upsert) -> bool:
    if not req.reference:
        return False
    other = txn.by_reference(req.reference)
    return other is not None and other.id != req.reservation_id


def _deposit_code(txn: Txn, sealer: CodeSealer) -> tuple[str, SealedCode]:
    code, digest = new_code(sealer.digest, txn.live_digests())
    return code, SealedCode(digest, sealer.seal(code))


def _accepted_event(txn: Txn, res: Reservation, code: str | None) -> None:
    txn.emit(
        "reservation.accepted",
        reservation_id=res.id,
        compartment=res.compartment,
        version=res.version,
        secrets=None if code is None else {"deposit_code": code},
    )


def _create(txn: Txn, rules: Rules, sealer: CodeSealer, req: Upsert) -> Reservation | None:
    if req.expires_at <= txn.now:
        reject(txn, req.reservation_id, req.version, "too late: expires_at is in the past")
        return None
    if _reference_taken(txn, req):
        reject(txn, req.reservation_id, req.version, "reference is used by another reservation")
        return None
    if req.delegate and req.kind is Kind.DROPOFF:
        reject(txn, req.reservation_id, req.version, "delegate is for deliveries only")
        return None
    comp = pick(txn, rules, req.size, req.chilled, req.accessible, req.max_c)
    if comp is None:
        reject(txn, req.reservation_id, req.version, _no_fit(txn, rules, req))
        return None
    code, sealed = _deposit_code(txn, sealer) if req.kind is Kind.DROPOFF else (None, None)
    res = Reservation(
        id=req.reservation_id,
        version=req.version,
        kind=req.kind,
        size=req.size,
        chilled=req.chilled,
        accessible=req.accessible,
        recipient=req.recipient,
        reference=req.reference,
        expires_at=req.expires_at,
        due_at=req.expires_at,
        state=State.ACCEPTED,
        compartment=comp.id,
        created_at=txn.now,
        updated_at=txn.now,
        deposit_code=sealed,
        cold=coldchain.record_for(rules, req.max_c) if req.chilled else None,
        delegate=req.delegate,
    )
    txn.put(res)
    _accepted_event(txn, res, code)
    return res


def _no_fit(txn: Txn, rules: Rules, req: Upsert) -> str:
    if req.chilled and pick(txn, rules, req.size, True, req.accessible, healthy_only=False):
        max_c = rules.cold.default_max_c if req.max_c is None else req.max_c
        why = coldchain.unfit(txn, rules, max_c)[1]
        return f"{coldchain.NO_HEALTHY}: " + "; ".join(why)
    wants = [f"size {req.size}"] + ["chilled"] * req.chilled + ["accessible"] * req.accessible
    return "no compartment fits: none free with " + ", ".join(wants)


def _update_accepted(
    txn: Txn, rules: Rules, sealer: CodeSealer, res: Reservation, req: Upsert
) -> Reservation | None:
    current = txn.compartment(res.compartment) if res.compartment else None
    if txn.opening(res.compartment or "") is not None:
        reject(txn, res.id, req.version, "a door cycle is in progress for this reservation")
        return None
    if _reference_taken(txn, req):
        reject(txn, res.id, req.version, "reference is used by another reservation")
        return None
    keeps = not req.chilled or current is None or coldchain.keeps(rules, current.id, req.max_c)
    if current is not None and current.in_service and _fits(current, req) and keeps:
        comp: Compartment | None = current
    else:
        comp = pick(txn, rules, req.size, req.chilled, req.accessible, req.max_c)
    if comp is None:
        reject(txn, res.id, req.version, _no_fit(txn, rules, req))
        return None
    code: str | None = None
    sealed = res.deposit_code
    if req.kind is Kind.DROPOFF and sealed is None:
        code, sealed = _deposit_code(txn, sealer)
    elif req.kind is Kind.DROPOFF and sealed is not None:
        code = sealer.unseal(sealed.sealed)
    elif req.kind is Kind.DELIVERY:
        sealed = None
    updated = res.with_(
        version=req.version,
        kind=req.kind,
        size=req.size,
        chilled=req.chilled,
        accessible=req.accessible,
        recipient=req.recipient,
        reference=req.reference,
        expires_at=req.expires_at,
        due_at=req.expires_at,
        compartment=comp.id,
        deposit_code=sealed,
        updated_at=txn.now,
        cold=coldchain.record_for(rules, req.max_c) if req.chilled else None,
        delegate=req.delegate,
    )
    txn.put(updated)
    _accepted_event(txn, updated, code)
    return updated


def _fits(comp: Compartment, req: Upsert) -> bool:
    spec = comp.spec
    return (
        spec.size.rank >= req.size.rank
        and (spec.chilled or not req.chilled)
        and (spec.accessible or not req.accessible)
    )


def _update_deposited(txn: Txn, rules: Rules, res: Reservation, req: Upsert) -> Reservation | None:
    for name in _FROZEN_AFTER_DEPOSIT:
        if getattr(req, name) != getattr(res, name):
            reject(txn, res.id, req.version, f"{name} cannot change once deposited")
            return None
    if res.cold is not None and coldchain.record_for(rules, req.max_c).max_c != res.cold.max_c:
        reject(txn, res.id, req.version, "max_c cannot change once deposited")
        return None
    updated = res.with_(version=req.version, recipient=req.recipient, updated_at=txn.now)
    if req.expires_at != (res.due_at or res.expires_at):  # a new deadline from the server
        updated = deadlines.settle(txn, rules, updated.with_(due_at=req.expires_at), keep=False)
    txn.put(updated)
    return updated


def cancel(txn: Txn, reservation_id: str, version: int | None) -> Reservation:
    """Cancel a reservation. ``version`` None is a staff cancel that applies at once."""
    res = txn.reservation(reservation_id)
    if res is None:
        if version is None:
            raise NotFound(f"no reservation {reservation_id!r}")
        return _tombstone(txn, reservation_id, version)
    if version is not None and version <= res.version:
        return res  # duplicate or stale
    new_version = res.version if version is None else version
    opening = txn.opening(res.compartment or "") if res.compartment else None
    busy = opening is not None and opening.reservation_id == res.id
    if res.state is State.ACCEPTED and not busy:
        updated = res.with_(
            state=State.CANCELLED, version=new_version, closed_at=txn.now, updated_at=txn.now
        )
        txn.put(updated)
        txn.emit(
            "reservation.cancelled",
            reservation_id=res.id,
            compartment=res.compartment,
            version=new_version,
        )
        return updated
    if res.state in (State.ACCEPTED, State.DEPOSITED):
        # NOTE: an item is (or may be, with a deposit door open) inside: it stays
        # until returned (decision 13).
        updated = res.with_(
            state=State.EXPIRED,
            version=new_version,
            deposited_at=res.deposited_at or txn.now,
            updated_at=txn.now,
        )
        txn.put(updated)
        txn.emit(
            "reservation.expired",
            reservation_id=res.id,
            compartment=res.compartment,
            version=new_version,
        )
        return updated
    if version is None:
        raise Conflict(f"reservation {reservation_id} is already {res.state}")
    updated = res.with_(version=new_version, updated_at=txn.now)
    txn.put(updated)
    return updated


def _tombstone(txn: Txn, reservation_id: str, version: int) -> Reservation:
    """A cancel that overtook its upsert: remember the version so the upsert is stale."""
    res = Reservation(
        id=reservation_id,
        version=version,
        kind=Kind.DELIVERY,
        size=Size.S,
        expires_at=txn.now,
        state=State.CANCELLED,
        compartment=None,
        created_at=txn.now,
        updated_at=txn.now,
        closed_at=txn.now,
    )
    txn.put(res)
    txn.emit("reservation.cancelled", reservation_id=reservation_id, version=version)
    return res


def expire_due(txn: Txn, rules: Rules, now: datetime) -> None:
    """Expire what is past ``expires_at``, leaving alone what has a door cycle running;
    a deadline that falls in closed hours (a schedule changed since it was set) moves
    instead."""
    busy = {o.reservation_id for o in txn.openings()}
    for res in txn.live_reservations():
        if res.expires_at > now or res.id in busy or res.state in (State.EXPIRED, State.HELD):
            continue  # a held item stays held whatever its deadline (decision 26)
        moved = deadlines.settle(txn, rules, res, after=now)
        if moved.expires_at > now:
            txn.put(moved.with_(updated_at=txn.now))
            continue
        closed = None if res.deposited_at else txn.now  # nothing inside: freed
        txn.put(res.with_(state=State.EXPIRED, updated_at=txn.now, closed_at=closed))
        txn.emit("reservation.expired", reservation_id=res.id, compartment=res.compartment)
