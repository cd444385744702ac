"""Erasure of a reservation's personal data (issue 19; CONTRACT v1.1, ``erase``).

What the locker holds of a person is a reservation's ``recipient`` and ``reference``
(opaque ids, :mod:`.identifiers`); the events never copy them. Erasing blanks both and
emits ``reservation.erased``; with them goes what the row says of the person (whether
a carer collected, whether a lower compartment was needed). It is refused while the
reservation is not final: an item inside must first be handed over or returned (GDPR
art. 17(3)), a booking still waiting for its item must be cancelled. Runs inside a
domain transaction.
"""

from __future__ import annotations

from locker.domain.errors import Conflict, NotFound
from locker.domain.model import Reservation
from locker.domain.state import Txn


def erase(txn: Txn, reservation_id: str) -> Reservation:
    """Blank ``recipient`` and ``reference`` of a final reservation; answer it."""
    res = txn.reservation(reservation_id)
    if res is None:
        raise NotFound(f"no reservation {reservation_id!r}")
    if res.holds_compartment:
        if res.deposited_at is not None:
            raise Conflict(
                f"an item is in compartment {res.compartment}: hand it over or take it back "
                "first (GDPR art. 17(3)); its personal data are erased then"
            )
        raise Conflict(f"reservation {reservation_id} is {res.state}: cancel it first")
    if res.recipient is None and res.reference is None:
        return res  # nothing left to erase: said once already
    # with them what the row says of the person: a carer collected, a wheelchair user
    erased = res.with_(recipient=None, reference=None, collected_by=None, accessible=False)
    txn.put(erased)
    txn.emit("reservation.erased", reservation_id=res.id)
    return erased
