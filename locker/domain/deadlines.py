"""Fair deadlines and reminders: the resident's time around the host site's hours.

The deadline the locker keeps for an item (``Reservation.expires_at``) is the one
the server asked for, plus the time given back to the item (the locker was down,
or its compartment out of service: ``credit_s``), moved out of the site's closed
hours to the next opening plus ``grace_after_opening_h``, and capped by a chilled
item's dwell limit, which nothing moves (decision 26). Every move is a
``reservation.deadline`` event (decision 35). A move made by the locker itself
(a closure, downtime) never brings a deadline earlier.

A reminder (``reservation.reminder``) is sent once per deposited item,
``reminder_h`` before its deadline, moved earlier out of the quiet hours.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from datetime import datetime, time, timedelta, tzinfo

from locker.domain import coldchain
from locker.domain.hours import CLOSURES, Hours, TimeRules, closures_from, in_ranges
from locker.domain.model import Kind, Reservation, State
from locker.domain.rules import Rules
from locker.domain.state import Txn

DOWN_SINCE = "down_since"  # meta: the clock's high-water mark found at start
# NOTE: the high-water mark is written at least every 10 minutes while the service
# runs, so a gap shorter than this is a restart, not an outage.
DOWNTIME_MIN = timedelta(minutes=15)
_OUT_OF_SERVICE_MAX = timedelta(days=90)  # longer: a clock that jumped, not a repair

_cache_lock = threading.Lock()
_cache: dict[str, tuple[Hours, Hours]] = {}  # closures' text -> (config's hours, merged)


def schedule(rules: Rules, closures: str | None) -> Hours:
    """The config's hours with the server's closures (kept in the meta data)."""
    key = closures or ""
    with _cache_lock:
        hit = _cache.get(key)
        if hit is not None and hit[0] is rules.hours:
            return hit[1]
    base = rules.hours
    merged = base.with_closures(base.closures + closures_from(key)) if key else base
    with _cache_lock:
        if len(_cache) > 16:
            _cache.clear()
        _cache[key] = (base, merged)
    return merged


def waits_for_resident(res: Reservation) -> bool:
    """Its next step is a code typed at the box: a pickup, or a resident's drop-off."""
    return res.state is State.DEPOSITED or (
        res.state is State.ACCEPTED and res.kind is Kind.DROPOFF
    )


def settle(
    txn: Txn,
    rules: Rules,
    res: Reservation,
    *,
    keep: bool = True,
    cause: str | None = None,
    after: datetime | None = None,
) -> Reservation:
    """``res`` with the deadline the locker keeps: the server's (``due_at``) plus the time
    given back (``credit_s``), out of closed hours, capped by the dwell limit.

    ``keep``: a move by the locker, never earlier than the deadline it has (dwell
    aside); else the server asked for ``due_at`` anew, and it is taken as it is or
    adjusted. ``cause``: the reason of a later deadline (default: ``hours`` if closed
    hours moved it, else ``downtime`` if time was given back). ``after``: leave ``res``
    as it is unless the new deadline is later than this. A change is a
    ``reservation.deadline`` event (decision 35)."""
    asked = res.due_at or res.expires_at
    target = asked + timedelta(seconds=res.credit_s)
    reason = "downtime" if res.credit_s > 0 else None
    hours = schedule(rules, txn.meta(CLOSURES))
    if waits_for_resident(res):
        fair = hours.fair_deadline(target)
        if fair > target:
            target, reason = fair, "hours"
    if keep and target < res.expires_at:
        target = res.expires_at
    deadline, limit = coldchain.dwell_deadline(rules, res, target)
    previous = res.expires_at if keep else asked
    if after is not None and deadline <= after:
        return res
    if deadline != previous:
        deadline = deadline.astimezone(hours.tz)  # told in the site's time
        txn.emit(
            "reservation.deadline",
            reservation_id=res.id,
            expires_at=deadline.isoformat(),
            previous=previous.isoformat(),
            reason="dwell" if deadline < previous else cause or reason or "hours",
        )
    return res.with_(expires_at=deadline, dwell_until=limit)


def give_back(txn: Txn, rules: Rules, res: Reservation, lost: timedelta) -> Reservation:
    """``lost`` (downtime, out of service) given back to the item inside."""
    credited = res.with_(credit_s=res.credit_s + lost.total_seconds(), updated_at=txn.now)
    return settle(txn, rules, credited, cause="downtime")


def resettle_all(txn: Txn, rules: Rules) -> None:
    """The schedule changed (a closure set or cleared): move what now falls in closed
    hours; nothing moves earlier."""
    for res in txn.live_reservations():
        if waits_for_resident(res):
            moved = settle(txn, rules, res)
            if moved.expires_at != res.expires_at:
                txn.put(moved.with_(updated_at=txn.now))


def give_back_downtime(txn: Txn, rules: Rules, mark: str | None) -> None:
    """On the first trusted clock after a start: the time the locker was down, from the
    clock's last ``mark`` before the start, given back to the items deposited before it.
    A compartment out of service across the outage counts its time out of service
    from the start on, so the outage is not given back twice."""
    if not mark:
        return
    txn.changes.meta[DOWN_SINCE] = ""
    since = datetime.fromisoformat(mark)
    lost = txn.now - since
    for comp in txn.compartments():
        if not comp.in_service:
            if comp.out_since is None or comp.out_since > txn.now:  # set on a wrong clock
                comp = comp.with_(out_since=txn.now)
            elif lost >= DOWNTIME_MIN and comp.out_since <= since:
                comp = comp.with_(out_since=comp.out_since + lost)
            txn.put_compartment(comp)
    if lost < DOWNTIME_MIN:
        return
    for res in txn.live_reservations():
        if res.state is State.DEPOSITED and res.deposited_at and res.deposited_at <= since:
            txn.put(give_back(txn, rules, res, lost))


def give_back_service(
    txn: Txn, rules: Rules, trusted: bool, down_since: datetime | None = None
) -> None:
    """Compartments back in service in this operation: the time they were out of it,
    given back to the item inside (on a trusted clock only). On an untrusted clock a
    compartment taken out of service is not timed (its time would be wrong). While an
    outage since ``down_since`` is still to be given back (a start), only the time out
    of service before it counts here: the outage is given back as downtime."""
    if not trusted:
        for cid, comp in list(txn.changes.compartments.items()):
            if not comp.in_service and comp.out_since == txn.now:
                txn.changes.compartments[cid] = comp.with_(out_since=None)
    for cid, since in txn.back_in_service.items():
        lost = txn.now - since if down_since is None else down_since - since
        res = txn.holder(cid)
        if not trusted or res is None or res.state is not State.DEPOSITED:
            continue
        if timedelta(0) < lost <= _OUT_OF_SERVICE_MAX:
            txn.put(give_back(txn, rules, res, lost))
    txn.back_in_service.clear()


# -- reminders ------------------------------------------------------------------
def _local_at(day: datetime, minutes: int, tz: tzinfo) -> datetime:
    at = datetime.combine(day.date(), time()) + timedelta(minutes=minutes)
    return at.replace(tzinfo=tz)


def quiet_period(
    at: datetime, quiet: tuple[int, int], tz: tzinfo
) -> tuple[datetime, datetime] | None:
    """The quiet period holding ``at``: when it began and when it ends (None: ``at`` is
    not quiet). Quiet hours may cross midnight (``21:00-08:00``)."""
    local = at.astimezone(tz)
    minutes = local.hour * 60 + local.minute
    start, end = quiet
    if not in_ranges(minutes, start, end):
        return None
    first = local if start <= end or minutes >= start else local - timedelta(days=1)
    last = first if start <= end else first + timedelta(days=1)
    return _local_at(first, start, tz), _local_at(last, end, tz)


def reminder_at(res: Reservation, time_rules: TimeRules, tz: tzinfo) -> datetime | None:
    """When ``res``'s reminder is due: ``reminder_h`` before its deadline, moved to the
    minute before the quiet hours if it falls in them (to the end of those hours for an
    item deposited during them). None: no reminder (sent already, reminders off, or due
    before the item was deposited: the deposit's own notice was sent less than
    ``reminder_h`` before the deadline)."""
    if (
        time_rules.reminder_h <= 0
        or res.state is not State.DEPOSITED
        or res.reminded_at is not None
        or res.deposited_at is None
    ):
        return None
    at = res.expires_at - timedelta(hours=time_rules.reminder_h)
    if time_rules.quiet is not None:
        night = quiet_period(at, time_rules.quiet, tz)
        if night is not None:
            at = night[0] - timedelta(minutes=1)
            if at < res.deposited_at <= night[1] < res.expires_at:
                at = night[1]  # deposited that night: in the morning
    return None if at < res.deposited_at else at


def send_reminders(txn: Txn, rules: Rules, reservations: Iterable[Reservation]) -> datetime | None:
    """Send the reminders that are due (never in the quiet hours, never after the
    deadline); answer when to look again (None: no reminder pending)."""
    tz, quiet = rules.hours.tz, rules.time.quiet
    now = txn.now
    night = None if quiet is None else quiet_period(now, quiet, tz)
    if night is not None:
        return night[1]  # nothing is sent at night: look again in the morning
    nxt: datetime | None = None
    for res in reservations:
        at = reminder_at(res, rules.time, tz)
        if at is None or now >= res.expires_at:
            continue
        if at > now:
            nxt = at if nxt is None else min(nxt, at)
            continue
        txn.put(res.with_(reminded_at=now))
        txn.emit(
            "reservation.reminder",
            reservation_id=res.id,
            compartment=res.compartment,
            expires_at=res.expires_at.isoformat(),
        )
    return nxt
