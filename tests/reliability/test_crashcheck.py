"""crashcheck.py itself: it passes a real database, and catches each broken rule in it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.conftest import Harness
from tests.helpers import book
from tests.reliability.crashcheck import Acked, check


def _lifecycle(h: Harness) -> Acked:
    """One reservation of each end: collected, cancelled, still deposited, accepted."""
    acked = Acked()
    for rid in ("COL", "CAN", "DEP", "ACC"):
        book(h.service, h.clock.now(), rid)
        acked.upserts[rid] = 1
    for rid in ("COL", "DEP"):
        cid = h.service.deposit_by_courier(rid)
        acked.deposits.add(rid)
        h.cycle_door(cid)
    res = h.service.reservation("COL")
    assert res is not None
    cid = h.service.pickup("kiosk@test", h.service.codes_of(res)["pickup_code"])
    acked.pickups.add("COL")
    h.cycle_door(cid)
    h.service.cancel("CAN")
    acked.cancels.add("CAN")
    return acked


def _tamper(db: Path, sql: str, *args: object) -> None:
    conn = sqlite3.connect(db)
    try:
        assert conn.execute(sql, args).rowcount == 1
        conn.commit()
    finally:
        conn.close()


def test_a_real_database_passes(harness: Harness, tmp_path: Path) -> None:
    counts = check(tmp_path / "locker.db", _lifecycle(harness))
    assert counts["reservations"] == 4


RETYPE = "UPDATE event SET type = ? WHERE type = ? AND reservation_id = ?"
RESTATE = "UPDATE reservation SET state = ? WHERE id = ?"
ADD = (  # a copy of an event, of the type given, at the next seq
    "INSERT INTO event (seq, event_id, type, at, reservation_id, data, secret_fields)"
    " SELECT (SELECT max(seq) + 1 FROM event), event_id || '-again', ?, at,"
    " reservation_id, data, secret_fields FROM event WHERE type = ? AND reservation_id = ?"
)


@pytest.mark.parametrize(
    ("sql", "args", "message"),
    [
        # a booking without its reservation.accepted
        (RETYPE, ("door.left_open", "reservation.accepted", "ACC"), "accepted events"),
        # a cancel without its reservation.cancelled
        (RETYPE, ("door.left_open", "reservation.cancelled", "CAN"), "cancelled events"),
        # a reservation.cancelled of a reservation that is not cancelled
        (ADD, ("reservation.cancelled", "reservation.accepted", "ACC"), "ACC: cancelled event"),
        # a second reservation.cancelled, as the next event
        (ADD, ("reservation.cancelled", "reservation.cancelled", "CAN"), "CAN: 2 cancelled events"),
        # a second parcel.collected
        (ADD, ("parcel.collected", "parcel.collected", "COL"), "collect events"),
        # parcel.collected, the row still deposited
        (RESTATE, ("deposited", "COL"), "parcel.collected for COL, which is deposited"),
        # parcel.deposited, the row still accepted
        (RESTATE, ("accepted", "DEP"), "parcel.deposited for DEP, which is accepted"),
        # an event of a change with no reservation row at all
        ("DELETE FROM reservation WHERE id = ?", ("DEP",), "DEP, which has no reservation row"),
        # collected before deposited
        (RETYPE, ("parcel.collected", "parcel.deposited", "DEP"), "collect|deposit"),
    ],
)
def test_each_broken_rule_is_caught(
    harness: Harness, tmp_path: Path, sql: str, args: tuple[str, ...], message: str
) -> None:
    acked = _lifecycle(harness)
    harness.engine.dispose()
    _tamper(tmp_path / "locker.db", sql, *args)
    with pytest.raises(AssertionError, match=message):
        check(tmp_path / "locker.db", acked)
