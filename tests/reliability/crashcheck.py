"""What must hold in a locker database after any crash, read straight from the file."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Acked:
    """Changes the API answered with success: each must survive any crash."""

    upserts: dict[str, int] = field(default_factory=dict)  # reservation id -> version
    deposits: set[str] = field(default_factory=set)  # door opened for a deposit
    pickups: set[str] = field(default_factory=set)  # door opened for a pickup
    cancels: set[str] = field(default_factory=set)


def check(db: Path, acked: Acked) -> dict[str, int]:
    """Assert every invariant; answer a few counts for the report."""
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        rows = conn.execute(
            "SELECT id, version, state, compartment, deposited_at, pickup_used FROM reservation"
        ).fetchall()
        res = {r[0]: r for r in rows}
        events = conn.execute(
            "SELECT seq, event_id, type, reservation_id, data FROM event ORDER BY seq"
        ).fetchall()
    finally:
        conn.close()

    # seq gap-free from 1, event ids unique
    seqs = [e[0] for e in events]
    assert seqs == list(range(1, len(seqs) + 1)), "seq has a gap"
    assert len({e[1] for e in events}) == len(events), "an event_id is used twice"

    # no compartment holds two reservations
    holding = [
        r[3] for r in rows if r[2] in ("accepted", "deposited") or (r[2] == "expired" and r[4])
    ]
    assert len(holding) == len(set(holding)), "a compartment holds two reservations"

    by_type: dict[str, Counter[str]] = {}
    for _, _, type_, rid, data in events:
        key = type_
        if type_ in ("door.opened", "door.jammed"):
            key = f"{type_}:{json.loads(data).get('reason')}"
        by_type.setdefault(key, Counter())[rid] += 1

    def count(kind: str, rid: str) -> int:
        return by_type.get(kind, Counter())[rid]

    # no pickup code opened a door twice (a jam gives the code back: the door never opened)
    for rid, n in by_type.get("door.opened:pickup", Counter()).items():
        assert n <= 1 + count("door.jammed:pickup", rid), f"{rid}: code opened a door twice"

    # every state change has exactly one event. A reservation made by an upsert has one
    # reservation.accepted per accepted version (exactly one at version 1: the REST and the
    # MQTT bookings alike; a redelivered message is a duplicate and adds none); a staff or
    # server cancel before deposit is one reservation.cancelled (a cancel that overtook
    # its upsert leaves a row without a compartment: cancelled, never accepted).
    for rid, (_, version, state, comp, deposited_at, _) in res.items():
        accepted = count("reservation.accepted", rid)
        cancelled = count("reservation.cancelled", rid)
        expired = count("reservation.expired", rid)
        if comp is not None:
            assert 1 <= accepted <= version, f"{rid}: {accepted} accepted events at v{version}"
        else:
            assert accepted == 0 and state == "cancelled", f"{rid}: no compartment, {state}"
        if state == "cancelled":
            assert 1 <= cancelled <= version, f"{rid}: {cancelled} cancelled events"
        elif version == 1:
            assert cancelled == 0, f"{rid}: cancelled event but {state}"
        if version == 1:
            ended = 1 if state in ("expired", "returned") else 0
            assert expired == ended, f"{rid}: {expired} expiry events, {state}"
        if deposited_at and state != "expired":
            assert count("parcel.deposited", rid) == 1, f"{rid}: deposit events"
        if state == "collected":
            assert count("parcel.collected", rid) == 1, f"{rid}: collect events"
        if state == "returned":
            assert count("parcel.returned", rid) == 1, f"{rid}: return events"

    # and the reverse: no event of a change without that change in the reservation's row
    # (at version 1, the cancel and expiry counts above are exact both ways already)
    reach = {
        "parcel.deposited": ("deposited", "collected", "expired", "returned"),
        "parcel.collected": ("collected",),
        "parcel.returned": ("returned",),
    }
    for type_ in (*reach, "reservation.accepted", "reservation.cancelled", "reservation.expired"):
        for rid, n in by_type.get(type_, Counter()).items():
            assert rid in res, f"{type_} for {rid}, which has no reservation row"
            _, _, state, _, deposited_at, _ = res[rid]
            if type_ in reach:
                assert state in reach[type_], f"{type_} for {rid}, which is {state}"
                assert n == 1 and deposited_at, f"{type_} x{n} for {rid} ({state})"

    # and in order: booked, then deposited, then collected or returned
    first: dict[tuple[str, str], int] = {}
    for seq, _, type_, rid, _ in events:
        first.setdefault((type_, rid), seq)
    for (type_, rid), seq in first.items():
        before = {
            "parcel.deposited": "door.opened",
            "parcel.collected": "parcel.deposited",
            "parcel.returned": "reservation.expired",
        }.get(type_)
        if before is not None:
            assert first.get((before, rid), seq) < seq, f"{rid}: {type_} before {before}"
        if type_ == "parcel.deposited":
            assert first[("reservation.accepted", rid)] < seq, f"{rid}: deposited before booked"

    # every acknowledged change is there
    for rid, version in acked.upserts.items():
        assert rid in res and res[rid][1] >= version, f"acknowledged booking {rid} lost"
    for rid in acked.deposits:
        assert count("door.opened:deposit", rid) >= 1, f"acknowledged deposit {rid} lost"
    for rid in acked.pickups:
        assert count("door.opened:pickup", rid) >= 1, f"acknowledged pickup {rid} lost"
        spent = res[rid][5] or res[rid][2] in ("collected", "expired")
        assert spent or count("door.jammed:pickup", rid), f"{rid}: code not spent"
    for rid in acked.cancels:
        assert res[rid][2] in ("cancelled", "expired", "returned"), f"cancel {rid} lost"
    return {"events": len(events), "reservations": len(rows)}
