"""Several parcels for one person: after a pickup, the other items waiting for the same
recipient open too, one after the other through the pulse queue (issue 15, decision 31).

Only the pickup code itself, at the terminal where it was just used and within
``WINDOW_S``, opens the others: never a carer's code (a carer may collect one
item, not the household's). Held items and items that cannot open now are
skipped and named.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from locker.domain import coldchain, credentials, doors
from locker.domain.errors import ColdPending, DomainError, Held, WrongCode
from locker.domain.model import Kind, Purpose, Reservation, State
from locker.domain.rules import Rules
from locker.domain.state import Txn

WINDOW_S = 120.0


@dataclass(frozen=True, slots=True)
class RecentPickup:
    """A pickup code that just opened a door at a terminal."""

    digest: str
    reservation_id: str
    recipient: str | None
    at: datetime


def waiting(txn: Txn, first: RecentPickup) -> list[Reservation]:
    """The other items inside for the same recipient, in compartment order."""
    if not first.recipient:
        return []
    return sorted(
        (
            r
            for r in txn.by_recipient(first.recipient)
            if r.id != first.reservation_id
            and r.kind is Kind.DELIVERY
            and r.state in (State.DEPOSITED, State.HELD)
        ),
        key=lambda r: r.compartment or "",
    )


def open_others(
    txn: Txn, rules: Rules, first: RecentPickup, trusted: bool
) -> tuple[list[tuple[str, str]], list[dict[str, str]]]:
    """Open every other item of ``first``'s recipient that may open now: the compartments
    opened with their reservations, and the ones skipped with why (``held``,
    ``cold_pending``, ``expired``, ``unavailable``)."""
    opened: list[tuple[str, str]] = []
    skipped: list[dict[str, str]] = []
    for res in waiting(txn, first):
        cid = res.compartment or ""
        point = txn.savepoint()
        try:
            res = coldchain.check_pickup(txn, rules, res, trusted, fail=False)
            if res.state is State.HELD:
                raise coldchain.held_error(res)
            credentials.check_usable(txn, res, trusted)
        except (Held, ColdPending, WrongCode, DomainError) as exc:
            if not isinstance(exc, Held):
                txn.rollback_to(point)  # a hold that happened now stays committed
            reason = exc.reason if isinstance(exc, WrongCode) else exc.code
            skipped.append({"compartment": cid, "reason": reason})
            continue
        res = credentials.consume(txn, res, True, res.pickup_code)
        doors.start_opening(txn, cid, Purpose.PICKUP, res.id, by="group")
        opened.append((cid, res.id))
    return opened, skipped
