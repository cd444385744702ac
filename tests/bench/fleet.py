"""A fleet of lockers on one Mosquitto (issue 20, docs/fleet.md).

``count`` lockers, each with its own user and password under the shipped conf and ACL
(TLS, ``use_username_as_clientid``), publish their events as the real outbox does (QoS
1, 100 in flight); the conciergerie side is two consumers on one MQTT 5 shared
subscription (``$share/conciergerie/…``), each event handed to one of them. Measured:
events per second through the broker, each event's delay from its locker's publish to
a consumer, and every (locker, seq) received; then the broker is restarted, and each
locker comes back with the real client's back-off (:mod:`locker.sync.backoff`): how
long until all are back, and how spread their returns are.

A locker is a paho client on its own network thread, as in the real service; the
events are the size of real ones (``parcel.deposited`` with its codes, 352 bytes of
JSON).
"""

from __future__ import annotations

import contextlib
import json
import random
import ssl
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from locker.config import MqttConfig
from locker.sync import backoff
from tests.helpers import ROOT
from tests.reliability.shipped_broker import LOCKERS, shipped_broker

SERVERS = ("conciergerie", "conciergerie-2")
SHARED = f"$share/conciergerie/{LOCKERS}/+/events"
INFLIGHT = 100  # as the outbox's window (mqtt.inflight)
# What one locker sends in a day, as used for docs/fleet.md: a busy village box of 24
# compartments, 30 parcels a day, each booked, deposited and collected.
PER_PARCEL = (
    "reservation.accepted",
    "door.opened",
    "parcel.deposited",
    "door.opened",
    "parcel.collected",
    "reservation.reminder",
)
PARCELS_A_DAY = 30
STATUS_A_DAY = 4  # status changes (online, free counts) a day, retained


def _event(locker: str, seq: int) -> bytes:
    """A ``parcel.deposited`` of the size the outbox sends, stamped with its send time."""
    body = {
        "event_id": f"{locker}-{seq:08d}-7f3c2a1e-77b0-4c55-9b1e",
        "seq": seq,
        "type": "parcel.deposited",
        "at": "2026-12-06T18:42:07.512345+00:00",
        "locker_id": locker,
        "reservation_id": f"R-2026-12-06-{seq:06d}",
        "compartment": "B2",
        "pickup_code": "48213907",
        "qr_payload": f"LKR1:{locker}:48213907",
        "expires_at": "2026-12-09T18:00:00+01:00",
        "sent": time.time(),
    }
    return json.dumps(body).encode()


def _tls(client: mqtt.Client, ca: Path) -> None:
    client.tls_set(ca_certs=str(ca), cert_reqs=ssl.CERT_REQUIRED)


class Locker:
    """One locker's MQTT client, with the real back-off after a lost connection."""

    def __init__(
        self, user: str, password: str, port: int, ca: Path, rng: random.Random, jitter_s: float
    ) -> None:
        self.user, self.rng = user, rng
        # the shipped back-off: 1 s, then 60 s at most; 10 s of jitter unless told
        self.config = MqttConfig(reconnect_jitter_s=jitter_s)
        self.back: list[float] = []  # when each connection came up (time.time())
        self.up = threading.Event()
        c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=user, protocol=mqtt.MQTTv5)
        c.username_pw_set(user, password)
        _tls(c, ca)
        c.max_inflight_messages_set(INFLIGHT)
        c.max_queued_messages_set(0)
        c.on_connect = self._on_connect
        c.on_disconnect = self._on_disconnect
        self._arm(c)
        self.client = c
        c.connect_async("127.0.0.1", port, keepalive=30)

    def _arm(self, client: mqtt.Client) -> None:
        cfg = self.config
        backoff.arm(
            client, cfg.reconnect_min_s, cfg.reconnect_max_s, cfg.reconnect_jitter_s, self.rng
        )

    def _on_connect(self, _c: mqtt.Client, _u: object, _f: object, why: object, *_: object) -> None:
        if not getattr(why, "is_failure", False):
            self.back.append(time.time())
            self.up.set()

    def _on_disconnect(self, client: mqtt.Client, *_: object) -> None:
        if self.up.is_set():
            self.up.clear()
            self._arm(client)  # as MqttSync does

    def publish(self, seqs: range) -> None:
        topic = f"{LOCKERS}/{self.user}/events"
        for seq in seqs:
            self.client.publish(topic, _event(self.user, seq), qos=1)


@dataclass
class Consumers:
    """The server's instances on the shared subscription; what each received."""

    got: dict[tuple[str, int], float] = field(default_factory=dict)  # -> delay, s
    copies: int = 0
    by_instance: Counter[str] = field(default_factory=Counter)
    clients: list[mqtt.Client] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    subscribed: int = 0
    connects: int = 0

    def start(self, port: int, ca: Path, password: str) -> None:
        """Connect each instance with a session the broker keeps (events published while
        it is away wait for it), subscribed; return once all are."""
        for user in SERVERS:
            c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=user, protocol=mqtt.MQTTv5)
            c.username_pw_set(user, password)
            _tls(c, ca)
            c.on_connect = self._on_connect
            c.on_subscribe = self._on_subscribe
            c.on_message = self._message(user)
            props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            props.SessionExpiryInterval = 3600
            c.connect_async("127.0.0.1", port, keepalive=30, clean_start=False, properties=props)
            c.loop_start()
            self.clients.append(c)
        _wait(lambda: self.subscribed >= len(SERVERS), 60, "the server's instances subscribed")

    def _on_connect(self, c: mqtt.Client, *_: object) -> None:
        self.connects += 1
        # NOTE: on every connection, session or not: Mosquitto 2.0.11 keeps no shared
        # subscription across its own restart (docs/fleet.md)
        c.subscribe(SHARED, qos=1)

    def _on_subscribe(self, *_: object) -> None:
        with self.lock:
            self.subscribed += 1

    def _message(self, user: str):  # type: ignore[no-untyped-def]
        def on_message(_c: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
            now = time.time()
            body = json.loads(msg.payload)
            with self.lock:
                self.copies += 1
                self.by_instance[user] += 1
                self.got.setdefault((body["locker_id"], body["seq"]), now - body["sent"])

        return on_message

    def stop(self) -> None:
        for c in self.clients:
            c.disconnect()
            c.loop_stop()


@dataclass
class Result:
    lockers: int
    events: int
    burst_s: float
    delays_ms: list[float]  # of the burst
    paced_rate: float  # events/s offered, evenly
    paced_ms: list[float]  # the delays at that rate
    lost: int
    duplicates: int
    by_instance: dict[str, int]
    connect_s: float  # all lockers connected at first
    back_s: list[float]  # each locker: from the broker listening again to reconnected
    busiest_second: int  # most lockers back in one second
    lost_after: int  # of the events sent after the restart


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


PACED_ROUNDS = 10  # events each locker sends at the steady rate
PACED_S = 10.0  # over this long
PER_WORKER = 250  # paho waits with select(): about 340 clients a process at most


def _names(first: int, count: int) -> list[str]:
    return [f"L{i:04d}" for i in range(first, first + count)]


def worker(port: int, ca: Path, first: int, count: int, seed: int, jitter_s: float) -> None:
    """One process's share of the fleet, driven by lines on stdin, answering on stdout:
    ``up`` (all connected), ``publish A B`` (seqs A..B-1 on every locker), ``down`` (all
    saw the broker go), ``back T`` (all reconnected after T: their times), ``stop``;
    ``pace A B S`` publishes the same seqs spread evenly over S seconds."""
    rng = random.Random(seed)
    lockers = [
        Locker(n, f"pw-{n}", port, ca, random.Random(rng.random()), jitter_s)
        for n in _names(first, count)
    ]
    for lk in lockers:
        lk.client.loop_start()

    def answer(found: object) -> None:
        print(json.dumps(found), flush=True)

    try:
        for line in sys.stdin:
            order, *args = line.split()
            if order == "up":
                _wait(lambda: all(lk.up.is_set() for lk in lockers), 600, "connected")
                answer(time.time())
            elif order == "publish":  # all at once: as the outboxes drain after an outage
                for lk in lockers:
                    lk.publish(range(int(args[0]), int(args[1])))
                answer(True)
            elif order == "pace":  # a round of one event each every S / rounds seconds
                low, high, spread = int(args[0]), int(args[1]), float(args[2])
                began = time.monotonic()
                for n, seq in enumerate(range(low, high)):
                    time.sleep(max(0.0, began + n * spread / (high - low) - time.monotonic()))
                    for lk in lockers:
                        lk.publish(range(seq, seq + 1))
                answer(True)
            elif order == "down":
                _wait(lambda: not any(lk.up.is_set() for lk in lockers), 60, "broker gone")
                answer(True)
            elif order == "back":
                since = float(args[0])
                _wait(lambda: all(lk.up.is_set() for lk in lockers), 600, "reconnected")
                answer([max(t for t in lk.back if t > since) for lk in lockers])
            elif order == "stop":
                break
    finally:
        for lk in lockers:
            lk.client.disconnect()
            lk.client.loop_stop()


class Workers:
    """The fleet's processes, each told the same thing and answering in turn."""

    def __init__(self, port: int, ca: Path, count: int, seed: int, jitter_s: float) -> None:
        self.procs = []
        for i, first in enumerate(range(0, count, PER_WORKER)):
            argv = [sys.executable, "-m", "tests.bench.fleet", str(port), str(ca), str(first)]
            argv += [str(min(PER_WORKER, count - first)), str(seed + i), str(jitter_s)]
            self.procs.append(
                subprocess.Popen(
                    argv, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
                )
            )

    def ask(self, order: str) -> list[object]:
        for proc in self.procs:
            assert proc.stdin is not None
            proc.stdin.write(order + "\n")
            proc.stdin.flush()
        answers = []
        for proc in self.procs:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            assert line, f"a fleet worker died on {order!r}"
            answers.append(json.loads(line))
        return answers

    def stop(self) -> None:
        for proc in self.procs:
            with contextlib.suppress(OSError, ValueError):
                assert proc.stdin is not None
                proc.stdin.write("stop\n")
                proc.stdin.close()
        for proc in self.procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


def run(
    workdir: Path,
    count: int,
    events_each: int,
    seed: int = 20261206,
    jitter_s: float = MqttConfig().reconnect_jitter_s,
) -> Result:
    """The whole run; ``jitter_s`` replaces the shipped reconnect jitter (0: none)."""
    names = _names(0, count)
    users = {name: f"pw-{name}" for name in names} | {s: "pw-server" for s in SERVERS}
    broker, ca = shipped_broker(workdir / "broker", users, save_each=False)
    consumers = Consumers()
    workers: Workers | None = None
    try:
        consumers.start(broker.port, ca, "pw-server")
        began = time.monotonic()
        workers = Workers(broker.port, ca, count, seed, jitter_s)
        workers.ask("up")
        connect_s = time.monotonic() - began
        expected = {(n, s) for n in names for s in range(1, events_each + 1)}
        began = time.monotonic()
        workers.ask(f"publish 1 {events_each + 1}")
        _wait(lambda: expected <= consumers.got.keys(), 600, "every event received", strict=False)
        burst_s = time.monotonic() - began
        with consumers.lock:
            lost = len(expected - consumers.got.keys())
            delays = [consumers.got[k] * 1000 for k in expected if k in consumers.got]
            duplicates = consumers.copies - len(consumers.got)
        # then at a steady rate, as a fleet's day brings them (faster than any day)
        low, high = events_each + 1, events_each + 1 + PACED_ROUNDS
        paced = {(n, s) for n in names for s in range(low, high)}
        workers.ask(f"pace {low} {high} {PACED_S}")
        _wait(lambda: paced <= consumers.got.keys(), 300, "the paced events", strict=False)
        with consumers.lock:
            lost += len(paced - consumers.got.keys())
            paced_ms = [consumers.got[k] * 1000 for k in paced if k in consumers.got]
            duplicates = consumers.copies - len(consumers.got)
        # the broker restarts: every locker comes back on its own back-off
        broker.stop()
        down = time.time()
        workers.ask("down")
        broker.start()
        listening = time.time()
        back = [t - listening for times in workers.ask(f"back {down}") for t in times]  # type: ignore[attr-defined]
        busiest = max(Counter(int(b) for b in back).values())
        after = {(n, high) for n in names}
        workers.ask(f"publish {high} {high + 1}")
        _wait(lambda: after <= consumers.got.keys(), 120, "the events after", strict=False)
        lost_after = len(after - consumers.got.keys())
        return Result(
            lockers=count,
            events=len(expected),
            burst_s=burst_s,
            delays_ms=delays,
            paced_rate=count * PACED_ROUNDS / PACED_S,
            paced_ms=paced_ms,
            lost=lost,
            duplicates=duplicates,
            by_instance=dict(consumers.by_instance),
            connect_s=connect_s,
            back_s=back,
            busiest_second=busiest,
            lost_after=lost_after,
        )
    finally:
        if workers is not None:
            workers.stop()
        consumers.stop()
        broker.stop()


def _wait(check: object, timeout: float, what: str, strict: bool = True) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        if time.monotonic() > deadline:
            if strict:
                raise AssertionError(f"timed out: {what}")
            return
        time.sleep(0.05)


def summary(r: Result) -> dict[str, object]:
    """The figures of a run, as docs/fleet.md and the test report give them."""
    return {
        "lockers": r.lockers,
        "events": r.events,
        "events_per_s": round(r.events / r.burst_s),
        "delay_ms_p50": round(statistics.median(r.delays_ms), 1),
        "delay_ms_p99": round(_percentile(r.delays_ms, 0.99), 1),
        "paced_events_per_s": round(r.paced_rate),
        "paced_delay_ms_p50": round(statistics.median(r.paced_ms), 1),
        "paced_delay_ms_p99": round(_percentile(r.paced_ms, 0.99), 1),
        "lost": r.lost,
        "duplicates": r.duplicates,
        "by_instance": r.by_instance,
        "connect_all_s": round(r.connect_s, 1),
        "back_first_s": round(min(r.back_s), 1),
        "back_median_s": round(statistics.median(r.back_s), 1),
        "back_all_s": round(max(r.back_s), 1),
        "most_back_in_one_second": r.busiest_second,
        "lost_after_restart": r.lost_after,
    }


def daily_load() -> dict[str, int]:
    """Messages and bytes one locker sends and receives a day (docs/fleet.md)."""
    event = len(_event("L0001", 1))
    events = PARCELS_A_DAY * len(PER_PARCEL)
    return {
        "events": events,
        "event_bytes": events * event,
        "reservations_in": PARCELS_A_DAY,
        "status": STATUS_A_DAY,
    }


if __name__ == "__main__":
    port, ca, first, count, seed, jitter = sys.argv[1:]
    worker(int(port), Path(ca), int(first), int(count), int(seed), float(jitter))
