"""Crash consistency: the real service, driven through its API and MQTT with a random mix
of bookings, deposits, pickups and door moves, is SIGKILLed at random moments and
restarted each time. After each kill the database file must hold every invariant
(crashcheck.py); at the end the outbox drains to a subscriber that, after removing
duplicates by event_id, has exactly the events in the database, in order."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.broker import Broker
from tests.helpers import wait_for
from tests.mqtt_peer import Server
from tests.procs import ServiceProcess
from tests.reliability.crashcheck import Acked, check
from tests.reliability.scale import sized

KILLS = int(os.environ.get("LOCKER_CRASH_KILLS", sized(200)))
FAST = {
    "LOCKER_DOORS__PULSE_MS": "30",
    "LOCKER_DOORS__DEBOUNCE_MS": "15",
    "LOCKER_DOORS__OPEN_TIMEOUT_S": "5",
}
EXPIRES = "2031-01-01T00:00:00+00:00"


class Driver:
    """Random operations against the running service until told to stop."""

    def __init__(self, svc: ServiceProcess, server: Server, rng: random.Random) -> None:
        self.svc, self.server, self.rng = svc, server, rng
        self.acked = Acked()
        self.mqtt_sent: set[str] = set()
        self.counter = 0
        self.ops = 0

    def run(self, stop: threading.Event) -> None:
        clients = {r: self.svc.client(f"demo-{r}") for r in ("admin", "courier", "kiosk")}
        hand = self.svc.client()
        try:
            while not stop.is_set():
                self.ops += 1
                try:
                    self.step(clients, hand)
                except (httpx.HTTPError, KeyError, ValueError):
                    return  # the service died under us: that is the point
        finally:
            for c in (*clients.values(), hand):
                c.close()

    def step(self, c: dict[str, httpx.Client], hand: httpx.Client) -> None:
        roll = self.rng.random()
        if roll < 0.25:
            self.counter += 1
            rid = f"P{os.getpid()}-{self.counter}"
            body = {
                "reservation_id": rid,
                "version": 1,
                "kind": "delivery",
                "size": self.rng.choice("SM"),
                "expires_at": EXPIRES,
            }
            r = c["admin"].post("/api/v1/reservations", json=body)
            if r.status_code == 200:
                self.acked.upserts[rid] = 1
        elif roll < 0.35:
            self.counter += 1
            rid = f"Q{os.getpid()}-{self.counter}"
            self.server.send(
                "reservations",
                {
                    "type": "reservation.upsert",
                    "reservation_id": rid,
                    "version": 1,
                    "kind": "delivery",
                    "size": "S",
                    "expires_at": EXPIRES,
                },
            )
            self.mqtt_sent.add(rid)
        elif roll < 0.6:
            accepted = c["admin"].get("/api/v1/reservations?state=accepted").json()
            if accepted:
                rid = self.rng.choice(accepted)["reservation_id"]
                r = c["courier"].post("/api/v1/deposits", json={"reservation_id": rid})
                if r.status_code == 200:
                    self.acked.deposits.add(rid)
                    self.cycle(hand, r.json()["compartment"])
        elif roll < 0.85:
            deposited = c["admin"].get("/api/v1/reservations?state=deposited").json()
            live = [d for d in deposited if d["pickup_code"]]
            if live:
                pick = self.rng.choice(live)
                r = c["kiosk"].post("/api/v1/pickups", json={"code": pick["pickup_code"]})
                if r.status_code == 200:
                    self.acked.pickups.add(pick["reservation_id"])
                    self.cycle(hand, r.json()["compartment"])
        elif roll < 0.92:
            accepted = c["admin"].get("/api/v1/reservations?state=accepted").json()
            if accepted:
                rid = self.rng.choice(accepted)["reservation_id"]
                if c["admin"].delete(f"/api/v1/reservations/{rid}").status_code == 200:
                    self.acked.cancels.add(rid)
        else:  # staff put back what jams and interrupted cycles took out of service
            for comp in c["admin"].get("/api/v1/compartments").json():
                if not comp["in_service"] and not comp["door_open"]:
                    c["admin"].put(
                        f"/api/v1/compartments/{comp['id']}/service", json={"in_service": True}
                    )

    def cycle(self, hand: httpx.Client, cid: str) -> None:
        hand.post(f"/api/v1/sim/doors/{cid}/open")
        time.sleep(self.rng.uniform(0.03, 0.08))
        hand.post(f"/api/v1/sim/doors/{cid}/close")
        time.sleep(0.03)


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    b = Broker(tmp_path / "broker").start()
    yield b
    b.stop()


@pytest.mark.timeout(sized(1200))  # 200 kills take about 4 minutes on 2 cores
def test_crash_consistency(tmp_path: Path, broker: Broker) -> None:
    rng = random.Random(int(os.environ.get("LOCKER_CRASH_SEED", "20261123")))
    server = Server(broker.port)
    svc = ServiceProcess(tmp_path, extra_env=FAST, mqtt_port=broker.port)
    db = tmp_path / "locker.db"
    driver = Driver(svc, server, rng)
    started = time.monotonic()
    try:
        for _ in range(KILLS):
            svc.start()
            stop = threading.Event()
            worker = threading.Thread(target=driver.run, args=(stop,))
            worker.start()
            time.sleep(rng.uniform(0.02, 0.6))
            svc.stop(signal.SIGKILL)  # at a random moment of whatever it was doing
            stop.set()
            worker.join(timeout=30)
            counts = check(db, driver.acked)
        svc.start()
        # what the broker acknowledged is applied in the end
        wait_for(lambda: all(_known(db, rid) for rid in driver.mqtt_sent), timeout=60)
        wait_for(lambda: _backlog(db) == 0, timeout=120, what="outbox drained")
        svc.stop()
        counts = check(db, driver.acked)
        in_db = _event_ids(db)
        wait_for(lambda: len(server.unique()) >= len(in_db), timeout=60, what="all received")
        received = [e["event_id"] for e in server.unique()]
        assert received == in_db  # exactly the database's events, in seq order
    finally:
        svc.stop(signal.SIGKILL)
        server.close()
    report = {
        "kills": KILLS,
        "operations": driver.ops,
        "acknowledged": {
            "bookings": len(driver.acked.upserts),
            "deposits": len(driver.acked.deposits),
            "pickups": len(driver.acked.pickups),
            "cancels": len(driver.acked.cancels),
            "mqtt_bookings": len(driver.mqtt_sent),
        },
        "events": counts["events"],
        "received_by_subscriber": len(server.unique()),
        "duplicates_removed": len(server.events) - len(server.unique()),
        "lost": 0,
        "seconds": round(time.monotonic() - started, 1),
    }
    print("CRASH REPORT " + json.dumps(report))


def _known(db: Path, rid: str) -> bool:
    conn = sqlite3.connect(db)
    try:
        row = conn.execute("SELECT 1 FROM reservation WHERE id = ?", (rid,)).fetchone()
        rejected = conn.execute(
            "SELECT 1 FROM event WHERE type = 'reservation.rejected' AND reservation_id = ?",
            (rid,),
        ).fetchone()
        return row is not None or rejected is not None
    finally:
        conn.close()


def _backlog(db: Path) -> int:
    conn = sqlite3.connect(db)
    try:
        return int(conn.execute("SELECT count(*) FROM event WHERE sent_at IS NULL").fetchone()[0])
    finally:
        conn.close()


def _event_ids(db: Path) -> list[str]:
    conn = sqlite3.connect(db)
    try:
        return [r[0] for r in conn.execute("SELECT event_id FROM event ORDER BY seq")]
    finally:
        conn.close()
