"""The cold chain of chilled items: records, holds, dwell, and where chilled items may go.

Each sample of a zone brings the record of every chilled item inside up to
date (:func:`account`): the time since the last accounting counts as above
the item's ``max_c`` when the reading is above it or there was none (a sensor
fault), and so does any part of it longer than two sampling periods (the
locker was down: it cannot prove the cold was kept). Two readings in a row
above ``max_c`` plus the handling tolerance break the chain at once; so does
time above past ``max_minutes_above`` (decision 34). A broken chain holds the
item (decision 32) unless its zone says ``on_broken = "warn"``.

After a restart an item's record is *pending*: the downtime can only be
measured on a trusted clock, so until a sample on one has counted it, the
record waits and the item's code opens nothing. While the service runs, every
sample counts, trusted clock or not: the running clock still measures the time
between two samples, and a warm fridge must hold its baskets whatever NTP says.
A staff release forgives what was counted so far (``baseline``): the chain can
break again.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from locker.domain.errors import ColdPending, Conflict, Held
from locker.domain.model import ColdRecord, Reservation, State
from locker.domain.rules import Rules
from locker.domain.state import Txn
from locker.domain.zones import ZoneSpec, ZoneState, healthy, sampled

NO_HEALTHY = "no healthy chilled compartment"
_SLACK_S = 5.0  # a sample a little late is still a sample


def stale_s(rules: Rules) -> float:
    """A zone whose last sample is older than this has no recent reading."""
    return 3 * rules.cold.sample_s + _SLACK_S


def zone_problem(txn: Txn, rules: Rules, cid: str) -> str | None:
    """Why a chilled item may not go into ``cid`` now (None: it may, or it has no zone)."""
    spec = rules.zone_of(cid)
    if spec is None:
        return None
    return healthy(spec, txn.zone(spec.id), txn.now, stale_s(rules))


def keeps(rules: Rules, cid: str, max_c: float | None) -> bool:
    """``cid``'s zone is set to keep an item of limit ``max_c`` (its health aside)."""
    spec = rules.zone_of(cid)
    return spec is None or spec.limit_c <= (rules.cold.default_max_c if max_c is None else max_c)


def unfit(txn: Txn, rules: Rules, max_c: float) -> tuple[set[str], list[str]]:
    """Chilled compartments a chilled item of limit ``max_c`` may not get, and why."""
    skip: set[str] = set()
    why: list[str] = []
    for spec in rules.zones:
        problem = healthy(spec, txn.zone(spec.id), txn.now, stale_s(rules))
        if problem is None and spec.limit_c > max_c:
            problem = f"zone {spec.id} keeps {spec.limit_c:g} °C, the item needs {max_c:g} °C"
        if problem is not None:
            skip.update(spec.compartments)
            why.append(problem)
    return skip, why


def record_for(rules: Rules, max_c: float | None) -> ColdRecord:
    return ColdRecord(max_c=rules.cold.default_max_c if max_c is None else max_c)


def zone_sampled(
    txn: Txn, rules: Rules, spec: ZoneSpec, celsius: float | None, fault: str | None, trusted: bool
) -> None:
    """One sample of ``spec``'s probe: the zone's state, its reading, events, item records."""
    state = txn.zone(spec.id) or ZoneState(spec.id)
    new, reading, events = sampled(spec, state, txn.now, celsius, fault)
    txn.put_zone(new)
    txn.add_reading(reading)
    for event in events:
        txn.emit(event.type, **event.data)
    for cid in spec.compartments:
        res = txn.holder(cid)
        if res is None or res.state is not State.DEPOSITED or res.cold is None:
            continue
        if txn.cold_pending(res.id) and not trusted:
            continue  # the downtime cannot be measured yet: counted once the clock is
        account(txn, rules, spec, res, reading.celsius, sample=True)


def account(
    txn: Txn,
    rules: Rules,
    spec: ZoneSpec,
    res: Reservation,
    celsius: float | None,
    sample: bool,
) -> Reservation:
    """Bring ``res``'s record up to ``txn.now`` with ``celsius`` as the reading that stands
    for the time since the last one (None: no trustworthy reading). Only a new ``sample``
    counts toward the readings in a row above the tolerance (a pickup reuses the last)."""
    rec = res.cold
    assert rec is not None and res.deposited_at is not None
    since = rec.until or res.deposited_at
    span = max((txn.now - since).total_seconds(), 0.0)
    covered = min(span, 2 * rules.cold.sample_s + _SLACK_S)
    above_s = span - covered  # the locker was down, or the probe silent
    if celsius is None or celsius > rec.max_c:
        above_s += covered
    spikes, spike_at = rec.spikes, rec.spike_at
    if not sample or celsius is None:
        pass
    elif celsius <= rec.max_c + rules.cold.tolerance_c:
        spikes, spike_at = 0, None
    elif spike_at is None or (txn.now - spike_at).total_seconds() >= rules.cold.sample_s / 2:
        # NOTE: a second reading within the same period is not "in a row"
        spikes, spike_at = spikes + 1, txn.now
    peak = rec.peak_c if celsius is None or (rec.peak_c or -1e9) >= celsius else celsius
    rec = rec.with_(
        minutes_above=rec.minutes_above + above_s / 60,
        spikes=spikes,
        spike_at=spike_at,
        peak_c=peak,
        until=txn.now,
    )
    txn.settle_cold(res.id)
    res = res.with_(cold=rec, updated_at=txn.now)
    over = rec.minutes_above - rec.baseline > spec.max_minutes_above
    if rec.broken_at is None and (spikes >= 2 or over):
        res = _break(txn, spec, res)
    txn.put(res)
    return res


def _break(txn: Txn, spec: ZoneSpec, res: Reservation) -> Reservation:
    rec = res.cold
    assert rec is not None
    txn.emit(
        "cold_chain.broken",
        reservation_id=res.id,
        compartment=res.compartment,
        minutes_above=round(rec.minutes_above, 1),
        max_celsius=rec.peak_c,
    )
    res = res.with_(cold=rec.with_(broken_at=txn.now))
    if spec.on_broken == "warn":
        return res
    txn.emit(
        "reservation.held",
        reservation_id=res.id,
        compartment=res.compartment,
        reason="cold_chain",
    )
    return res.with_(state=State.HELD, held_reason="cold_chain")


def check_pickup(
    txn: Txn, rules: Rules, res: Reservation, trusted: bool, fail: bool = True
) -> Reservation:
    """Before a chilled item's door opens: its record brought up to date, or a refusal.
    A chain that breaks now is committed and refused (``fail``), or answered held."""
    if res.state is State.HELD:
        raise held_error(res)
    if res.cold is None or res.compartment is None or res.state is not State.DEPOSITED:
        return res
    spec = rules.zone_of(res.compartment)
    if spec is None:
        return res
    if txn.cold_pending(res.id) and not trusted:
        raise ColdPending("the locker restarted: waiting for a trusted clock to check the cold")
    state = txn.zone(spec.id)
    fresh = (
        state is not None
        and state.fault is None
        and state.read_at is not None
        and (txn.now - state.read_at).total_seconds() <= stale_s(rules)
    )
    celsius = state.celsius if fresh and state is not None else None
    res = account(txn, rules, spec, res, celsius, sample=False)
    if res.state is State.HELD and fail:
        txn.fail(held_error(res))  # the hold is committed, the code refused
    return res


def held_error(res: Reservation) -> Held:
    reason = res.held_reason or "cold_chain"
    return Held(f"reservation {res.id} is held ({reason}): staff will call", reason)


def deposit_target(txn: Txn, rules: Rules, res: Reservation) -> Reservation:
    """A chilled item goes into a healthy zone: its own compartment, or another one that
    fits (the reservation moves), or nowhere (refused with the reason)."""
    if not res.chilled or res.compartment is None:
        return res
    problem = zone_problem(txn, rules, res.compartment)
    if problem is None:
        return res
    from locker.domain.lifecycle import pick  # lifecycle imports this module

    max_c = res.cold.max_c if res.cold is not None else rules.cold.default_max_c
    other = pick(txn, rules, res.size, True, res.accessible, max_c)
    if other is None:
        raise Conflict(f"{NO_HEALTHY}: {problem}")
    moved = res.with_(compartment=other.id, updated_at=txn.now)
    txn.put(moved)
    txn.emit(
        "reservation.accepted",
        reservation_id=moved.id,
        compartment=other.id,
        version=moved.version,
    )
    return moved


def dwell_deadline(
    rules: Rules, res: Reservation, requested: datetime
) -> tuple[datetime, datetime | None]:
    """The effective deadline of a deposited chilled item and its dwell limit."""
    if res.cold is None or res.deposited_at is None:
        return requested, res.dwell_until
    limit = res.dwell_until or res.deposited_at + timedelta(hours=rules.cold.chilled_max_dwell_h)
    return min(requested, limit), limit
