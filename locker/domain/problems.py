"""A problem at the box: the person who just opened a compartment says what was wrong
(contract v1.1 ``parcel.problem``, decisions 31 and 32).

``empty`` or ``wrong_item``: the reservation is held and the compartment goes out of
service until staff have looked; a door shut after such a report collects nothing.
``damaged``: the person keeps the item (collected, the problem recorded) or leaves it
(held, for staff to take back). ``door`` (it would not open): the compartment goes out
of service. ``other``: recorded.
"""

from __future__ import annotations

from locker.domain.model import Reservation, State
from locker.domain.state import Txn

PROBLEMS = ("empty", "damaged", "wrong_item", "door", "other")
WINDOW_S = 600.0  # a report is taken for a compartment opened here this recently
_HELD_AS = {"empty": "reported_empty", "wrong_item": "wrong_item", "damaged": "damaged"}
_OUT_OF_SERVICE = {
    "empty": "reported empty",
    "wrong_item": "reported holding another item",
    "door": "reported not opening",
}


def report(txn: Txn, res: Reservation, cid: str, problem: str, keep: bool, pickup: bool) -> str:
    """Record ``problem`` of ``res`` in ``cid`` (opened for a ``pickup``, or a deposit);
    answer what follows: ``held`` (staff will look: the item is not handed over),
    ``kept`` (damaged, kept) or ``recorded``."""
    txn.emit("parcel.problem", reservation_id=res.id, compartment=cid, problem=problem)
    holder = txn.holder(cid)
    if holder is not None and holder.id != res.id:
        return "recorded"  # the compartment is someone else's now: staff look, nothing shuts
    if problem in _OUT_OF_SERVICE:
        comp = txn.compartment(cid)
        txn.put_compartment(comp.with_(in_service=False, service_reason=_OUT_OF_SERVICE[problem]))
    if problem == "damaged" and keep:
        return "kept"
    if problem not in _HELD_AS or not pickup or res.state is not State.DEPOSITED:
        # a deposit (nothing of theirs inside), or already collected: only deposited ->
        # held is in the contract; staff look at the compartment
        return "held" if res.state is State.HELD else "recorded"
    reason = _HELD_AS[problem]
    txn.put(res.with_(state=State.HELD, held_reason=reason, updated_at=txn.now))
    txn.emit("reservation.held", reservation_id=res.id, compartment=cid, reason=reason)
    return "held"


def reported_reasons() -> set[str]:
    """The reasons a problem report gives a compartment it takes out of service."""
    return set(_OUT_OF_SERVICE.values())
