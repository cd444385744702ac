"""Reservation ingest, outbox drain and resync through a real Mosquitto on loopback."""

from __future__ import annotations

import json
import shutil
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from tests.bench.layout import service_core, settings, write_layout
from tests.bench.seed import bookings
from tests.broker import Broker
from tests.mqtt_peer import Server
from tests.procs import ServiceProcess

BASE = "conciergerie/lockers/bench"


def _poll(what: str, check: object, timeout: float, every: float = 0.01) -> float:
    """Poll ``check()`` until true; the monotonic time it first was."""
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(every)
    return time.monotonic()


def _count(db: Path, sql: str) -> int:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10) as conn:
        return int(conn.execute(sql).fetchone()[0])


def _health(url: str) -> dict[str, object]:
    try:
        body: dict[str, object] = httpx.get(f"{url}/healthz", timeout=5).json()["mqtt"]
        return body
    except (httpx.HTTPError, ValueError, KeyError):
        return {}


def _service(workdir: Path, layout: Path, broker: Broker, pin: bool) -> ServiceProcess:
    return ServiceProcess(
        workdir,
        config=layout,
        mqtt_port=broker.port,
        prefix=service_core(pin),
        extra_env={"LOCKER_MQTT__KEEPALIVE_S": "30"},
    )


def ingest(workdir: Path, count: int, pin: bool) -> float:
    """``count`` upserts published at once -> all committed; messages per second."""
    workdir.mkdir(parents=True, exist_ok=True)
    layout = write_layout(workdir, generated=count, wired=False)
    broker = Broker(workdir / "broker", save_each=False).start()
    service = _service(workdir, layout, broker, pin)
    publisher = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-publisher")
    try:
        service.start(timeout=120)
        _poll("the locker online", lambda: _health(service.url).get("connected"), 60, 0.05)
        publisher.max_queued_messages_set(0)
        publisher.connect("127.0.0.1", broker.port)
        publisher.loop_start()
        expires = (datetime.now(UTC) + timedelta(days=30)).isoformat()
        payloads = [
            json.dumps(
                {
                    "type": "reservation.upsert",
                    "reservation_id": f"I-{i}",
                    "version": 1,
                    "kind": "delivery",
                    "size": "M",
                    "reference": f"REF-I-{i}",
                    "expires_at": expires,
                }
            ).encode()
            for i in range(count)
        ]
        db = workdir / "locker.db"
        start = time.monotonic()
        for payload in payloads:
            publisher.publish(f"{BASE}/reservations", payload, qos=1)
        sql = "SELECT count(*) FROM reservation WHERE state = 'accepted'"
        end = _poll("every upsert committed", lambda: _count(db, sql) >= count, 600, 0.02)
        return count / (end - start)
    finally:
        publisher.loop_stop()
        publisher.disconnect()
        service.stop()
        broker.stop()


def seed_outbox(workdir: Path, count: int) -> Path:
    """A database with ``count`` live reservations whose events were never sent."""
    workdir.mkdir(parents=True, exist_ok=True)
    layout = write_layout(workdir, generated=count, wired=False)
    bookings(settings(workdir, layout), count)
    return layout


def drain_and_resync(
    seeded: Path, workdir: Path, layout: Path, count: int, pin: bool, resyncs: int
) -> tuple[float, list[float], int]:
    """The broker comes back: events/s until the outbox is empty, then ``resyncs``
    snapshots of the ``count`` live reservations (seconds each, and the payload size)."""
    workdir.mkdir(parents=True, exist_ok=True)
    for name in ("locker.db", "locker.key"):
        shutil.copy(seeded / name, workdir / name)
    broker = Broker(workdir / "broker", save_each=False).start()
    server = Server(broker.port, locker_id="bench")
    service = _service(workdir, layout, broker, pin)
    try:
        service.start(timeout=120)
        start = _poll("the locker online", lambda: _health(service.url).get("connected"), 60)
        end = _poll("an empty outbox", lambda: _health(service.url).get("backlog") == 0, 600)
        rate = count / (end - start)
        got = _poll("every event", lambda: len(server.unique()) >= count, 120, 0.05)
        assert got and len(server.unique()) >= count
        times: list[float] = []
        size = 0
        for n in range(resyncs):
            before = len(server.raw_events)
            began = time.monotonic()
            server.send("commands", {"type": "resync", "request_id": f"bench-{n}"})
            server.wait_event("locker.snapshot", timeout=120, request_id=f"bench-{n}")
            times.append(time.monotonic() - began)
            size = max(len(raw) for raw in server.raw_events[before:])
        return rate, times, size
    finally:
        server.close()
        service.stop()
        broker.stop()
