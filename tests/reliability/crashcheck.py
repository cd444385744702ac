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

    # every state change has exactly one event
    for rid, (_, _, state, _, deposited_at, _) in res.items():
        if deposited_at and state != "expired":
            assert count("parcel.deposited", rid) == 1, f"{rid}: deposit events"
        if state == "collected":
            assert count("parcel.collected", rid) == 1, f"{rid}: collect events"
        if state == "returned":
            assert count("parcel.returned", rid) == 1, f"{rid}: return events"
    for rid, n in by_type.get("parcel.collected", Counter()).items():
        assert res[rid][2] == "collected" and n == 1

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
