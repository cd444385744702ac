"""Process-crash consistency: the real service, driven through its API and MQTT with a
random mix of bookings, deposits, pickups and door moves, is SIGKILLed at random moments
and restarted each time; one kill in ten lands during start-up, before ``/healthz``
answers (while it opens the database, reconciles the doors, starts its outbox). After
each kill the database file must hold every invariant (crashcheck.py). After each
restart, before anything else, pickup codes already spent are typed again: each is
refused and opens no door, unless a jam gave it back; codes the service showed before
the kill and nobody used still open their door. At the end the outbox drains to a
subscriber that, after removing duplicates by event_id, has exactly the events in the
database, in order. No request may be answered with a 5xx, and no error but the
kill's own (the connection dropping) may end a run.

NOTE: SIGKILL ends the process, not the machine. What the service had written but not
yet fsynced stays in the OS page cache and reaches the disk all the same, so this
proves consistency across *process* crashes (a segfault, the OOM killer, the
watchdog's SIGKILL), not across power cuts: those are test_power_cut.py's, on a
filesystem that loses what was not synced."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import threading
import time
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.broker import Broker
from tests.helpers import wait_for
from tests.mqtt_peer import Server
from tests.procs import ServiceProcess
from tests.reliability.crashcheck import Acked, check
from tests.reliability.scale import sized

KILLS = int(os.environ.get("LOCKER_CRASH_KILLS", sized(200)))
STARTUP_EVERY = 10  # every tenth kill lands during start-up
REPLAYS_PER_RESTART = 3  # spent codes typed again after each restart (all of them at the end)
KEPT_PER_RESTART = 1  # codes shown before the kill, used after it
FAST = {
    "LOCKER_DOORS__PULSE_MS": "30",
    "LOCKER_DOORS__DEBOUNCE_MS": "15",
    "LOCKER_DOORS__OPEN_TIMEOUT_S": "5",
}
EXPIRES = "2031-01-01T00:00:00+00:00"
LIFESPAN = b"Waiting for application startup."  # uvicorn's, as the lifespan begins
STARTED = b"Application startup complete."  # uvicorn's, before it binds the socket
STARTUP_TRIES = 3  # a start-up kill that came too late counts as a plain one; try again


class Driver:
    """Random operations against the running service until told to stop."""

    def __init__(self, svc: ServiceProcess, server: Server, rng: random.Random, db: Path) -> None:
        self.svc, self.server, self.rng, self.db = svc, server, rng, db
        self.acked = Acked()
        self.mqtt_sent: set[str] = set()
        self.counter = 0
        self.ops = 0
        self.killing = threading.Event()  # set just before the SIGKILL
        self.http_5xx: list[str] = []
        self.failures: list[str] = []  # anything but the kill that ended a run
        self.runs_ended_by_kill = 0
        self.codes: dict[str, str] = {}  # pickup codes the service showed (so on disk)
        self.tried: set[str] = set()  # reservations whose code was sent (answered or not)
        self.replayed = 0  # spent codes typed again, each refused
        self.given_back = 0  # spent codes a jam gave back, found live again
        self.kept_opened = 0  # codes shown before a kill that opened their door after it
        self.replay_s = 0.0  # time spent on the above

    def client(self, token: str | None = None) -> httpx.Client:
        client = self.svc.client(token)
        client.event_hooks = {"response": [self._seen]}
        return client

    def _seen(self, response: httpx.Response) -> None:
        if response.status_code >= 500:
            req = response.request
            self.http_5xx.append(f"{req.method} {req.url.path} -> {response.status_code}")

    def run(self, stop: threading.Event) -> None:
        clients = {r: self.client(f"demo-{r}") for r in ("admin", "courier", "kiosk")}
        hand = self.client()
        try:
            while not stop.is_set():
                self.ops += 1
                self.step(clients, hand)
        except httpx.TransportError as exc:
            if self.killing.is_set():
                self.runs_ended_by_kill += 1  # the service died under us: that is the point
            else:
                self.failures.append(f"connection failed, service alive: {exc!r}")
        except Exception:  # handed to the test's thread, which fails on it
            self.failures.append(traceback.format_exc())
        finally:
            for c in (*clients.values(), hand):
                c.close()

    def acknowledged(self) -> dict[str, int]:
        """How many changes of each kind were answered with success (for the report)."""
        acked = self.acked
        return {
            "bookings": len(acked.upserts),
            "deposits": len(acked.deposits),
            "pickups": len(acked.pickups),
            "cancels": len(acked.cancels),
            "mqtt_bookings": len(self.mqtt_sent),
        }

    def start(self) -> None:
        """The random load, on a thread of its own, until :meth:`stopped`."""
        self._stop = threading.Event()
        self.killing.clear()
        self._worker = threading.Thread(target=self.run, args=(self._stop,))
        self._worker.start()

    def stopped(self) -> None:
        """After the kill: the load ended, by the kill alone, with no 5xx answered."""
        self._stop.set()
        self._worker.join(timeout=30)
        assert not self._worker.is_alive(), "the driver hung"
        assert not self.failures, self.failures
        assert not self.http_5xx, self.http_5xx

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
            accepted = _ok(c["admin"].get("/api/v1/reservations?state=accepted"))
            if accepted:
                rid = self.rng.choice(accepted)["reservation_id"]
                r = c["courier"].post("/api/v1/deposits", json={"reservation_id": rid})
                if r.status_code == 200:
                    self.acked.deposits.add(rid)
                    self.cycle(hand, r.json()["compartment"])
        elif roll < 0.85:
            deposited = _ok(c["admin"].get("/api/v1/reservations?state=deposited"))
            live = [d for d in deposited if d["pickup_code"]]
            for d in live:
                self.codes[d["reservation_id"]] = d["pickup_code"]
            if live:
                pick = self.rng.choice(live)
                self.tried.add(pick["reservation_id"])
                r = c["kiosk"].post("/api/v1/pickups", json={"code": pick["pickup_code"]})
                if r.status_code == 200:
                    self.acked.pickups.add(pick["reservation_id"])
                    self.cycle(hand, r.json()["compartment"])
        elif roll < 0.92:
            accepted = _ok(c["admin"].get("/api/v1/reservations?state=accepted"))
            if accepted:
                rid = self.rng.choice(accepted)["reservation_id"]
                if c["admin"].delete(f"/api/v1/reservations/{rid}").status_code == 200:
                    self.acked.cancels.add(rid)
        else:  # staff put back what jams and interrupted cycles took out of service
            for comp in _ok(c["admin"].get("/api/v1/compartments")):
                if not comp["in_service"] and not comp["door_open"]:
                    c["admin"].put(
                        f"/api/v1/compartments/{comp['id']}/service", json={"in_service": True}
                    )

    def cycle(self, hand: httpx.Client, cid: str) -> None:
        hand.post(f"/api/v1/sim/doors/{cid}/open")
        time.sleep(self.rng.uniform(0.03, 0.08))
        hand.post(f"/api/v1/sim/doors/{cid}/close")
        time.sleep(0.03)

    def replay(self, every: bool = False) -> None:
        """Just after a restart, nothing else running: spent codes are refused (410) and
        pulse no relay; a code given back by a jam, and one shown before the kill that
        nobody used, is still listed, unchanged; the latter opens its door."""
        admin, kiosk, hand = self.client("demo-admin"), self.client("demo-kiosk"), self.client()
        began = time.monotonic()
        try:
            opened, jammed = _pickup_openings(self.db)
            spent = sorted(r for r in self.codes if opened.get(r, 0) > jammed.get(r, 0))
            back = [r for r in self.acked.pickups if opened.get(r, 0) <= jammed.get(r, 0)]
            listed = {
                d["reservation_id"]: d
                for d in _ok(admin.get("/api/v1/reservations?state=deposited"))
            }
            for rid in back:  # its door never opened: the resident's code works again
                shown = listed.get(rid, {}).get("pickup_code")
                assert shown == self.codes[rid], f"{rid}: code not given back"
            self.given_back = len(back)
            sample = (
                spent if every else self.rng.sample(spent, min(REPLAYS_PER_RESTART, len(spent)))
            )
            pulses, seq = _pulses(hand), _last_seq(self.db)
            for rid in sample:
                r = kiosk.post("/api/v1/pickups", json={"code": self.codes[rid]})
                assert r.status_code == 410 and r.json()["reason"] == "used", (
                    f"spent code of {rid} answered {r.status_code} {r.text}"
                )
                self.replayed += 1
            assert _pulses(hand) == pulses, "a spent code pulsed a relay"
            assert _door_openings_after(self.db, seq) == 0, "a spent code opened a door"

            kept = sorted(r for r in self.codes if r not in self.tried)
            for rid in kept:
                shown = listed.get(rid, {}).get("pickup_code")
                assert shown == self.codes[rid], f"{rid}: code lost or changed"
            comps = {c["id"]: c for c in _ok(admin.get("/api/v1/compartments"))}
            usable = [r for r in kept if comps[listed[r]["compartment"]]["in_service"]]
            n = len(usable) if every else min(KEPT_PER_RESTART, len(usable))
            for rid in self.rng.sample(usable, n):
                cid = listed[rid]["compartment"]
                self.tried.add(rid)
                r = kiosk.post("/api/v1/pickups", json={"code": self.codes[rid]})
                assert r.status_code == 200 and r.json()["compartment"] == cid, r.text
                self.acked.pickups.add(rid)
                pulsed = pulses[cid]
                wait_for(lambda: _pulses(hand)[cid] > pulsed, timeout=30, what=f"relay of {cid}")  # noqa: B023
                self.cycle(hand, cid)
                self.kept_opened += 1
            assert not self.http_5xx, self.http_5xx
        finally:
            self.replay_s += time.monotonic() - began
            for c in (admin, kiosk, hand):
                c.close()


def _ok(r: httpx.Response) -> Any:
    assert r.status_code == 200, f"{r.request.method} {r.request.url.path}: {r.status_code}"
    return r.json()


def _pulses(hand: httpx.Client) -> dict[str, int]:
    return {d["id"]: d["relay_pulses"] for d in _ok(hand.get("/api/v1/sim/doors"))}


def kill_during_startup(svc: ServiceProcess, rng: random.Random, startup_s: float) -> bool:
    """Start the service and SIGKILL it during its start: half the time at a random point
    of the whole start (imports, database opened and migrated, mirror loaded), half the
    time in its lifespan (doors read and reconciled, ticker and outbox started). Answer
    whether the kill landed before the lifespan had finished, so before ``/healthz``
    could answer: uvicorn logs that line (stderr, unbuffered) before it binds."""
    offset = svc.log_path.stat().st_size if svc.log_path.exists() else 0

    def logged(line: bytes) -> bool:
        with svc.log_path.open("rb") as log:
            log.seek(offset)
            return line in log.read()

    svc.start(wait=False)
    if rng.random() < 0.5:
        # NOTE: the lifespan takes tens of ms: kill as soon as it is seen to begin. When
        # this poll wakes too late, the kill lands just after it (a plain kill).
        wait_for(lambda: logged(LIFESPAN), timeout=60, interval=0.001, what="lifespan")
    else:
        time.sleep(rng.uniform(0, startup_s))
    assert svc.proc is not None and svc.proc.poll() is None, "the service died in start-up"
    svc.stop(signal.SIGKILL)
    return not logged(STARTED)


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
    driver = Driver(svc, server, rng, db)
    started = time.monotonic()
    startup_s, kills, startup_kills, startup_hits = 1.0, 0, 0, 0
    try:
        for i in range(KILLS):
            if i % STARTUP_EVERY == STARTUP_EVERY - 1:
                startup_kills += 1
                for _ in range(STARTUP_TRIES):
                    kills += 1
                    hit = kill_during_startup(svc, rng, startup_s)
                    counts = check(db, driver.acked)
                    if hit:
                        startup_hits += 1
                        break
                continue
            kills += 1
            t0 = time.monotonic()
            svc.start()
            startup_s = time.monotonic() - t0
            driver.replay()
            driver.start()
            time.sleep(rng.uniform(0.02, 0.6))
            driver.killing.set()
            svc.stop(signal.SIGKILL)  # at a random moment of whatever it was doing
            driver.stopped()
            counts = check(db, driver.acked)
        assert startup_hits >= startup_kills // 2, f"{startup_hits}/{startup_kills} in start-up"
        svc.start()
        driver.replay(every=True)  # every spent code once more, every kept one used
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
        "kills": kills,
        "kills_during_startup": startup_hits,
        "startup_kills_aimed": startup_kills,
        "operations": driver.ops,
        "runs_ended_by_the_kill": driver.runs_ended_by_kill,
        "http_5xx": len(driver.http_5xx),
        "acknowledged": driver.acknowledged(),
        "spent_codes_replayed_and_refused": driver.replayed,
        "codes_given_back_by_a_jam": driver.given_back,
        "codes_kept_across_a_kill_opened": driver.kept_opened,
        "replay_seconds": round(driver.replay_s, 1),
        "events": counts["events"],
        "received_by_subscriber": len(server.unique()),
        "duplicates_removed": len(server.events) - len(server.unique()),
        "lost": 0,
        "seconds": round(time.monotonic() - started, 1),
    }
    print("CRASH REPORT " + json.dumps(report))


def _query(db: Path, sql: str, *args: object) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def _pickup_openings(db: Path) -> tuple[dict[str, int], dict[str, int]]:
    """Per reservation: its pickup openings, and those of them that jammed."""
    opened: dict[str, int] = {}
    jammed: dict[str, int] = {}
    sql = (
        "SELECT type, reservation_id, data FROM event WHERE type IN ('door.opened', 'door.jammed')"
    )
    for type_, rid, data in _query(db, sql):
        if rid is not None and json.loads(data).get("reason") == "pickup":
            into = opened if type_ == "door.opened" else jammed
            into[rid] = into.get(rid, 0) + 1
    return opened, jammed


def _last_seq(db: Path) -> int:
    return int(_query(db, "SELECT coalesce(max(seq), 0) FROM event")[0][0])


def _door_openings_after(db: Path, seq: int) -> int:
    sql = "SELECT count(*) FROM event WHERE seq > ? AND type = 'door.opened'"
    return int(_query(db, sql, seq)[0][0])


def _known(db: Path, rid: str) -> bool:
    row = _query(db, "SELECT 1 FROM reservation WHERE id = ?", rid)
    sql = "SELECT 1 FROM event WHERE type = 'reservation.rejected' AND reservation_id = ?"
    return bool(row or _query(db, sql, rid))


def _backlog(db: Path) -> int:
    return int(_query(db, "SELECT count(*) FROM event WHERE sent_at IS NULL")[0][0])


def _event_ids(db: Path) -> list[str]:
    return [r[0] for r in _query(db, "SELECT event_id FROM event ORDER BY seq")]
