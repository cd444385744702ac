"""Security review, as tests: loopback by default; no secret in the logs of a full run
(at INFO and at DEBUG, with an MQTT password); the shipped Mosquitto setup
(config/mosquitto.example.conf with config/mosquitto-acl.example) keeps lockers apart,
even from a rogue with valid credentials of its own who names itself after another locker.

Each test prints one ``SECURITY REPORT {json}`` line with its counts (docs/reliability.md).
"""

from __future__ import annotations

import json
import re
import secrets
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from locker.config import ApiConfig, load_settings
from locker.pins import DEMO_PIN, hash_pin
from locker.runtime import Runtime, build
from tests.broker import Broker
from tests.certs import make_ca_and_server
from tests.conftest import FAST_DOORS
from tests.helpers import EXAMPLE, ROOT, settings_for, wait_for
from tests.mqtt_peer import Server
from tests.procs import ServiceProcess, free_port
from tests.test_mqtt import UPSERT

CONF = ROOT / "config" / "mosquitto.example.conf"
ACL = ROOT / "config" / "mosquitto-acl.example"
# the lines of the shipped conf whose values name files (swapped for the test's own)
FILE_KEYS = ("password_file", "acl_file", "cafile", "certfile", "keyfile")
WAIT_S = 60.0  # generous: a loaded 2-core machine; every wait ends on what arrives
LOCKERS = "conciergerie/lockers"


def report(test: str, **figures: object) -> None:
    print("SECURITY REPORT " + json.dumps({"test": test, **figures}, sort_keys=True))


def test_api_listens_on_loopback_by_default() -> None:
    assert ApiConfig().host == "127.0.0.1"
    assert load_settings(EXAMPLE).api.host == "127.0.0.1"


def passwords(folder: Path, users: dict[str, str]) -> Path:
    path = folder / "passwords"
    for i, (user, password) in enumerate(users.items()):
        flag = ["-c"] if i == 0 else []
        subprocess.run(
            ["mosquitto_passwd", "-b", *flag, str(path), user, password],
            check=True,
            capture_output=True,
        )
    return path


def shipped_broker(
    folder: Path, users: dict[str, str], conf: str | None = None, acl: str | None = None
) -> tuple[Broker, Path]:
    """Mosquitto with the shipped conf and ACL (or the texts given), on a free loopback
    port: its listener and file paths swapped for the test's (a password file made with
    mosquitto_passwd, a throwaway CA). Answers the broker and the CA certificate."""
    folder.mkdir(parents=True, exist_ok=True)
    ca, cert, key = make_ca_and_server(folder / "pki")
    acl_path = folder / "conciergerie.acl"
    acl_path.write_text(ACL.read_text() if acl is None else acl)
    files = {
        "password_file": passwords(folder, users),
        "acl_file": acl_path,
        "cafile": ca,
        "certfile": cert,
        "keyfile": key,
    }
    port = free_port()
    lines: list[str] = []
    swapped: list[str] = []
    for line in (CONF.read_text() if conf is None else conf).splitlines():
        name = line.partition(" ")[0]
        if name in files:
            line = f"{name} {files[name]}"
            swapped.append(name)
        elif name == "listener":
            line = f"listener {port} 127.0.0.1"
            swapped.append(name)
        lines.append(line)
    assert sorted(swapped) == sorted([*FILE_KEYS, "listener"]), swapped
    broker = Broker(folder / "broker", port=port, extra="\n".join(lines) + "\n")
    return broker.start(), ca


# -- secrets in the logs -------------------------------------------------------------


def door_cycle(hand: Any, cid: str) -> None:
    """The simulated hand opens the door, then shuts it."""
    hand.post(f"/api/v1/sim/doors/{cid}/open")
    time.sleep(0.3)
    hand.post(f"/api/v1/sim/doors/{cid}/close")


def leaks_of(secret: str, log: str) -> int:
    """How often ``secret`` is in ``log``: a number only where no digit touches it (so
    the demo PIN 2468 is not found inside a port number), anything else anywhere."""
    if secret.isdigit():
        return len(re.findall(rf"(?<![0-9]){secret}(?![0-9])", log))
    return log.count(secret)


@pytest.mark.parametrize(("level", "fmt"), [("INFO", "text"), ("DEBUG", "json")])
def test_no_token_code_or_key_in_the_logs_of_a_full_run(
    tmp_path: Path, level: str, fmt: str
) -> None:
    """A full run against the shipped broker setup, which asks for a password: bookings
    (REST and MQTT), deposits by a courier token, a courier session and a deposit code,
    pickups by code and QR payload, QR images, wrong codes and PINs, a bad token, a
    broken message. Then the log is searched for every secret of the run."""
    mqtt_password = "mqtt-" + secrets.token_urlsafe(18)
    pin = f"{secrets.randbelow(10**6):06d}"  # a second courier's PIN, besides the demo's
    wrong_pin = next(p for p in (f"{secrets.randbelow(10**6):06d}" for _ in range(9)) if p != pin)
    broker, ca = shipped_broker(
        tmp_path / "mqtt", {"demo": mqtt_password, "conciergerie": "pw-conciergerie"}
    )
    example = load_settings(EXAMPLE)
    env = {
        "LOCKER_MQTT__USERNAME": "demo",
        "LOCKER_MQTT__PASSWORD": mqtt_password,
        "LOCKER_MQTT__TLS": "true",
        "LOCKER_MQTT__CA_FILE": str(ca),
        "LOCKER_LOGGING__LEVEL": level,
        "LOCKER_LOGGING__FORMAT": fmt,
        "LOCKER_KIOSK__COURIER_PIN_HASHES": json.dumps(
            [*example.kiosk.courier_pin_hashes, hash_pin(pin)]
        ),
    }
    svc = ServiceProcess(tmp_path, mqtt_port=broker.port, extra_env=env)
    server: Server | None = None
    found: dict[str, str] = {  # what each secret is, for the failure message
        "demo-admin": "admin token",
        "demo-courier": "courier token",
        "demo-kiosk": "kiosk token",
        mqtt_password: "MQTT password",
        DEMO_PIN: "demo courier PIN",
        pin: "courier PIN",
        wrong_pin: "wrong courier PIN",
        "1357x9": "malformed courier PIN",
        "not-a-real-token-but-secret": "a bad bearer token",
    }
    try:
        svc.start()
        server = Server(
            broker.port, username="conciergerie", password="pw-conciergerie", ca_file=ca
        )
        admin, courier, kiosk = (svc.client(f"demo-{r}") for r in ("admin", "courier", "kiosk"))
        hand = svc.client()
        # a delivery booked over REST, deposited by the courier token, collected by QR payload
        booking = {k: v for k, v in UPSERT.items() if k != "type"}
        assert admin.post("/api/v1/reservations", json=booking).status_code == 200
        r = courier.post("/api/v1/deposits", json={"reservation_id": "R-2031"})
        door_cycle(hand, r.json()["compartment"])
        wait_for(lambda: admin.get("/api/v1/reservations/R-2031").json()["state"] == "deposited")
        code = admin.get("/api/v1/reservations/R-2031").json()["pickup_code"]
        found[code] = "pickup code"
        assert admin.get("/api/v1/reservations/R-2031/qr.png").status_code == 200
        assert admin.get("/api/v1/reservations/R-2031/qr.svg").status_code == 200
        for wrong in ("00000001", "00000002"):
            assert kiosk.post("/api/v1/pickups", json={"code": wrong}).status_code == 404
        r = kiosk.post("/api/v1/pickups", json={"qr_payload": f"LKR1:demo:{code}"})
        assert r.status_code == 200
        door_cycle(hand, r.json()["compartment"])
        # a dropoff booked over MQTT: deposit code typed at the kiosk, pickup code typed
        dropoff = {**UPSERT, "reservation_id": "D-9", "kind": "dropoff", "size": "S"}
        server.send("reservations", {**dropoff, "reference": "D-9"})
        deposit_code = server.wait_event("reservation.accepted", reservation_id="D-9")
        found[deposit_code["deposit_code"]] = "deposit code"
        r = kiosk.post("/api/v1/kiosk/codes", json={"code": deposit_code["deposit_code"]})
        assert r.status_code == 200 and r.json()["purpose"] == "deposit"
        door_cycle(hand, r.json()["compartment"])
        deposited = server.wait_event("parcel.deposited", reservation_id="D-9")
        found[deposited["pickup_code"]] = "pickup code of a dropoff"
        r = kiosk.post("/api/v1/pickups", json={"code": deposited["pickup_code"]})
        assert r.status_code == 200
        door_cycle(hand, r.json()["compartment"])
        # couriers sign in with a PIN; one deposits with the session token, signs out
        server.send("reservations", {**UPSERT, "reservation_id": "R-3", "reference": "R-3"})
        server.wait_event("reservation.accepted", reservation_id="R-3")
        for typed in (DEMO_PIN, pin):
            r = kiosk.post("/api/v1/courier/session", json={"pin": typed})
            assert r.status_code == 201, r.text
            found[r.json()["token"]] = f"courier session token (PIN {typed})"
            session = svc.client(r.json()["token"])
            assert session.get("/api/v1/courier/parcels").status_code == 200
            if typed == DEMO_PIN:
                r = session.post("/api/v1/deposits", json={"reservation_id": "R-3"})
                assert r.status_code == 200, r.text
                door_cycle(hand, r.json()["compartment"])
            assert session.delete("/api/v1/courier/session").status_code == 204
        assert kiosk.post("/api/v1/courier/session", json={"pin": wrong_pin}).status_code == 401
        assert kiosk.post("/api/v1/courier/session", json={"pin": "1357x9"}).status_code == 422
        bad = svc.client("not-a-real-token-but-secret").get("/api/v1/reservations")
        assert bad.status_code == 401
        server.send("reservations", b"{broken")  # an error path, logged
        server.wait_event("reservation.rejected")
        server.wait_event("parcel.deposited", reservation_id="R-3")
        health = hand.get("/healthz").json()
        assert health["mqtt"]["connected"] is True, health  # the password was accepted
        wait_for(lambda: hand.get("/healthz").json()["mqtt"]["backlog"] == 0, timeout=WAIT_S)
        found[(tmp_path / "locker.key").read_text().strip()] = "secret key"
    finally:
        if server is not None:
            server.close()
        svc.stop()
        broker.stop()
    log = svc.log_path.read_text()
    assert "locker demo on http" in log  # the log was written
    assert "MQTT connected" in log
    if level == "DEBUG":
        assert " DEBUG " in log or '"level": "DEBUG"' in log, "DEBUG records were written"
    leaked = {what: leaks_of(secret, log) for secret, what in found.items()}
    leaked = {what: n for what, n in leaked.items() if n}
    report(
        f"logs-{level.lower()}-{fmt}",
        secrets_searched=len(found),
        log_lines_read=len(log.splitlines()),
        leaks=sum(leaked.values()),
    )
    assert leaked == {}


# -- a rogue with valid credentials of its own -------------------------------------


class Peer:
    """A raw MQTT 5 client over TLS that records what reaches it; it never reconnects."""

    def __init__(
        self,
        port: int,
        ca: Path,
        user: str | None,
        password: str | None,
        client_id: str,
        clean_start: bool = True,
        subscribe: Sequence[str] = (),
        will: tuple[str, bytes] | None = None,
    ) -> None:
        self.messages: list[tuple[str, bytes]] = []
        self.disconnects: list[str] = []
        self.connack: str | None = None
        self.accepted = False
        self._acks: dict[int, str] = {}
        self._subacks: list[list[str]] = []
        self._lock = threading.Lock()
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=mqtt.MQTTv5,
            reconnect_on_failure=False,
        )
        client.tls_set(ca_certs=str(ca))
        if user is not None:
            client.username_pw_set(user, password)
        if will is not None:
            client.will_set(will[0], will[1], qos=1, retain=True)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_publish = self._on_publish
        client.on_subscribe = self._on_subscribe
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = 3600  # a session that outlives the connection
        self.client = client
        client.connect("127.0.0.1", port, clean_start=clean_start, properties=props)
        client.loop_start()
        wait_for(lambda: self.connack is not None, timeout=WAIT_S, what=f"CONNACK {client_id}")
        if subscribe and self.accepted:
            client.subscribe([(topic, 1) for topic in subscribe])
            wait_for(lambda: self._subacks or self.disconnects, timeout=WAIT_S, what="SUBACK")

    def _on_connect(self, _c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        self.accepted = not reason.is_failure
        self.connack = str(reason)

    def _on_disconnect(self, _c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        with self._lock:
            self.disconnects.append(str(reason))

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.messages.append((msg.topic, bytes(msg.payload)))

    def _on_publish(self, _c: mqtt.Client, _u: Any, mid: int, reason: Any, _p: Any) -> None:
        with self._lock:
            self._acks[mid] = str(reason)

    def _on_subscribe(self, _c: mqtt.Client, _u: Any, _m: int, reasons: Any, _p: Any) -> None:
        with self._lock:
            self._subacks.append([str(r) for r in reasons])

    def publish(self, topic: str, body: dict[str, Any] | bytes, retain: bool = False) -> str:
        """Publish at QoS 1; answer the broker's PUBACK reason, or that the connection
        closed first."""
        payload = body if isinstance(body, bytes) else json.dumps(body).encode()
        mid = self.client.publish(topic, payload, qos=1, retain=retain).mid
        wait_for(lambda: mid in self._acks or self.disconnects, timeout=WAIT_S, what="PUBACK")
        with self._lock:
            return self._acks.get(mid, "connection closed")

    def got(self, match: Callable[[str, dict[str, Any]], bool]) -> list[dict[str, Any]]:
        """The JSON messages received that ``match(topic, body)``."""
        with self._lock:
            received = list(self.messages)
        out = []
        for topic, payload in received:
            try:
                body = json.loads(payload)
            except ValueError:
                continue
            if isinstance(body, dict) and match(topic, body):
                out.append(body)
        return out

    def close(self, with_will: bool = False) -> None:
        if with_will:  # MQTT 5: "disconnect with Will Message"
            self.client.disconnect(reasoncode=ReasonCode(PacketTypes.DISCONNECT, identifier=4))
        else:
            self.client.disconnect()
        self.client.loop_stop()


def settle(check: Callable[[], object], timeout: float = WAIT_S) -> bool:
    """Wait until ``check`` holds; answer whether it did (no failure on a timeout)."""
    try:
        wait_for(check, timeout=timeout, interval=0.05)
    except AssertionError:
        return False
    return True


def reservation(rid: str) -> dict[str, Any]:
    return {**UPSERT, "reservation_id": rid, "reference": rid, "size": "S"}


@dataclass
class Attack:
    """The outcome of ``attack``: for each rogue attempt, whether it got through."""

    worked: dict[str, bool] = field(default_factory=dict)
    broker_said: dict[str, str] = field(default_factory=dict)  # PUBACK / CONNACK reasons
    legit: dict[str, bool] = field(default_factory=dict)  # what must keep working


def attack(
    tmp_path: Path, conf: str | None = None, acl: str | None = None, patience: float = WAIT_S
) -> Attack:
    """Locker "demo" (its username and client id "demo") serves through the broker; a
    rogue holding the valid credentials of user "rogue" (another locker, a stolen Pi)
    tries, under client id "demo", to take over demo's session, read demo's reservations
    and commands (live and queued), speak for demo, book into it and command it; and,
    under client id "conciergerie", to drop the server. Every outcome is read from what
    arrives, each after a barrier message that would arrive behind it. ``patience``: how
    long to wait for what should keep working (short where it is known not to)."""
    users = {"demo": "pw-demo", "rogue": "pw-rogue", "conciergerie": "pw-c"}
    broker, ca = shipped_broker(tmp_path / "mqtt", users, conf, acl)
    out = Attack()
    demo_topic = f"{LOCKERS}/demo/"
    peers: list[Peer] = []  # every client made here: stopped at the end
    rogues: list[Peer] = []
    runtimes: list[Runtime] = []

    def locker_runtime() -> tuple[Runtime, list[str]]:
        mqtt_config = {"port": broker.port, "username": "demo", "password": "pw-demo"}
        settings = settings_for(
            tmp_path, doors=FAST_DOORS, mqtt={**mqtt_config, "tls": True, "ca_file": ca}
        )
        runtime = build(settings, simulate=True)
        assert runtime.mqtt is not None
        drops: list[str] = []
        client, original = runtime.mqtt.client, runtime.mqtt.client.on_disconnect
        assert original is not None

        def spy(*args: Any) -> None:
            drops.append(str(args[3]))
            original(*args)

        client.on_disconnect = spy
        runtimes.append(runtime)
        runtime.start()
        return runtime, drops

    def connected(runtime: Runtime) -> bool:
        return runtime.mqtt is not None and runtime.mqtt.connected.is_set()

    def peer(user: str | None, password: str | None, client_id: str, **kw: Any) -> Peer:
        made = Peer(broker.port, ca, user, password, client_id, **kw)
        peers.append(made)
        return made

    def rogue(client_id: str = "demo", **kw: Any) -> Peer:
        """A connection with the rogue's own, valid, credentials."""
        made = peer("rogue", "pw-rogue", client_id, **kw)
        rogues.append(made)
        return made

    def events(locker: str, type_: str, **match: object) -> list[dict[str, Any]]:
        return official.got(
            lambda t, b: (
                t == f"{LOCKERS}/{locker}/events"
                and b.get("type") == type_
                and all(b.get(k) == v for k, v in match.items())
            )
        )

    def snapshot(request_id: str) -> list[dict[str, Any]]:
        return events("demo", "locker.snapshot", request_id=request_id)

    def resync(request_id: str) -> set[str]:
        """The reservations the locker holds, once it answered everything sent before.
        Asked again (the same request id) if no answer comes: a rogue's clean start may
        have thrown the question away with demo's session (the control test)."""
        for _ in range(6):
            command = {"type": "resync", "request_id": request_id}
            official.publish(f"{LOCKERS}/demo/commands", command)
            if settle(lambda: snapshot(request_id), timeout=WAIT_S / 6):
                return {r["reservation_id"] for r in snapshot(request_id)[0]["reservations"]}
        raise AssertionError(f"no snapshot for {request_id}")

    try:
        official = peer(
            "conciergerie",
            "pw-c",
            "conciergerie",
            subscribe=[f"{LOCKERS}/+/events", f"{LOCKERS}/+/status"],
        )
        locker, drops = locker_runtime()
        wait_for(lambda: connected(locker), timeout=WAIT_S, what="the locker connects")
        official.publish(f"{LOCKERS}/demo/reservations", reservation("R-1"))
        out.legit["the conciergerie books"] = settle(
            lambda: events("demo", "reservation.accepted", reservation_id="R-1")
        )

        # 1. The live session: connect as "demo", subscribe to everything of demo's.
        eavesdropper = rogue(
            clean_start=False,
            subscribe=[f"{demo_topic}#", "#", f"$share/g/{demo_topic}reservations"],
        )
        official.publish(f"{LOCKERS}/demo/reservations", reservation("R-LIVE"))
        official.publish(f"{LOCKERS}/demo/commands", {"type": "resync", "request_id": "q-live"})
        official.publish(f"{LOCKERS}/rogue/reservations", reservation("BARRIER-1"))

        def on_demo(t: str, _b: dict[str, Any]) -> bool:
            return t.startswith(demo_topic)

        settle(
            lambda: (
                eavesdropper.got(on_demo)
                or eavesdropper.got(lambda _t, b: b.get("reservation_id") == "BARRIER-1")
            )
        )
        out.worked["take over demo's live session (drop the locker)"] = bool(drops)
        out.legit["the locker keeps its live messages"] = settle(
            lambda: (
                events("demo", "reservation.accepted", reservation_id="R-LIVE")
                and snapshot("q-live")
            ),
            patience,
        )
        eavesdropper.close()
        settle(lambda: connected(locker))

        # 2. Speak for demo and command it, each on a fresh connection as "demo" (the
        # broker closes a connection after refusing its publish).
        forged = {"forged": True, "locker_id": "demo"}
        tries: list[tuple[str, str, dict[str, Any], bool]] = [
            ("publish demo's events", "events", {**forged, "type": "door.opened"}, False),
            ("publish demo's status (retained)", "status", {**forged, "online": False}, True),
            ("book into demo", "reservations", reservation("EVIL"), False),
            (
                "command demo (open B2)",
                "commands",
                {"type": "open", "request_id": "q-rogue", "compartment": "B2", "reason": "x"},
                False,
            ),
        ]
        for name, channel, body, retain in tries:
            forger = rogue()
            out.broker_said[name] = forger.publish(f"{demo_topic}{channel}", body, retain=retain)
            forger.close()
        will = rogue(will=(f"{demo_topic}status", json.dumps({**forged, "will": True}).encode()))
        will.close(with_will=True)
        # barriers: the rogue speaks for itself (allowed), the server asks demo for a resync
        itself = rogue(client_id="rogue")
        itself.publish(f"{LOCKERS}/rogue/events", {"type": "barrier", "locker_id": "rogue"})
        itself.publish(f"{LOCKERS}/rogue/status", {"online": True, "locker_id": "rogue"}, True)
        itself.close()
        out.legit["the conciergerie hears every locker"] = settle(
            lambda: (
                official.got(lambda t, _b: t == f"{LOCKERS}/rogue/status")
                and events("rogue", "barrier")
            )
        )
        settle(lambda: connected(locker))
        held = resync("q-after-forgery")
        on_demo_forged = official.got(lambda t, b: t.startswith(demo_topic) and "forged" in b)
        out.worked["publish demo's events"] = any(b.get("type") for b in on_demo_forged)
        out.worked["publish demo's status (retained)"] = any(
            "will" not in b and "online" in b for b in on_demo_forged
        )
        out.worked["publish demo's status by a Last Will"] = any(
            "will" in b for b in on_demo_forged
        )
        out.worked["book into demo"] = "EVIL" in held or bool(
            events("demo", "reservation.accepted", reservation_id="EVIL")
        )
        out.worked["command demo (open B2)"] = bool(
            official.got(
                lambda t, b: t == f"{demo_topic}events" and b.get("request_id") == "q-rogue"
            )
        )

        # 3. The queued session: the locker away, reservations wait for it at the broker.
        first_drops = list(drops)
        locker.stop()
        official.publish(f"{LOCKERS}/demo/reservations", reservation("R-QUEUED-1"))
        thief = rogue(clean_start=False, subscribe=[f"{LOCKERS}/rogue/reservations"])
        official.publish(f"{LOCKERS}/rogue/reservations", reservation("BARRIER-2"))
        settle(
            lambda: (
                thief.got(on_demo)
                or thief.got(lambda _t, b: b.get("reservation_id") == "BARRIER-2")
            )
        )
        out.worked["receive demo's queued reservations"] = bool(thief.got(on_demo))
        thief.close()
        official.publish(f"{LOCKERS}/demo/reservations", reservation("R-QUEUED-2"))
        rogue(clean_start=True).close()  # a clean start ends the session it takes over
        locker, drops = locker_runtime()
        wait_for(lambda: connected(locker), timeout=WAIT_S, what="the locker connects again")
        held = resync("q-back")
        out.legit["the locker keeps its queued reservations"] = {
            "R-QUEUED-1",
            "R-QUEUED-2",
        } <= held
        out.worked["throw away demo's queued reservations (clean start)"] = "R-QUEUED-2" not in held
        out.worked["receive demo's reservations or commands"] = any(r.got(on_demo) for r in rogues)
        retained = len(official.messages)
        official.client.subscribe(f"{demo_topic}status", qos=1)  # the retained one, again
        settle(lambda: len(official.messages) > retained)
        last = official.got(lambda t, _b: t == f"{demo_topic}status")[-1:]
        out.legit["demo's retained status is the locker's"] = (
            bool(last) and last[0].get("online") is True and "forged" not in last[0]
        )

        # 4. Connections refused outright, and the server's own session.
        for name, kw in (
            ("connect as demo without a password", {"user": None, "password": None}),
            ("connect as demo with a wrong password", {"user": "demo", "password": "guess"}),
        ):
            stranger = peer(client_id="demo", **kw)
            out.broker_said[name] = str(stranger.connack)
            out.worked[name] = stranger.accepted
            stranger.close()
        rogue(client_id="conciergerie").close()
        # acknowledged ("No matching subscribers", MQTT 5) unless the server was dropped
        official.publish(f"{LOCKERS}/rogue/reservations", reservation("BARRIER-3"))
        out.worked["take over the server's session (drop it)"] = bool(official.disconnects)
        out.legit["the locker was never dropped"] = first_drops == drops == []
    finally:
        for made in peers:
            made.client.loop_stop()
        for runtime in runtimes:
            if runtime.started:
                runtime.stop()
        broker.stop()
    return out


def test_shipped_broker_setup_keeps_a_rogue_from_posing_as_another_locker(
    tmp_path: Path,
) -> None:
    result = attack(tmp_path)
    got_through = [name for name, worked in result.worked.items() if worked]
    report(
        "acl",
        rogue_attempts=len(result.worked),
        refused=len(result.worked) - len(got_through),
        broker_said=result.broker_said,
    )
    assert got_through == []
    assert all(result.legit.values()), result.legit
    # the broker itself refused every forged publish (MQTT 5 PUBACK reason 135)
    publishes = {k: v for k, v in result.broker_said.items() if not k.startswith("connect")}
    assert set(publishes.values()) == {"Not authorized"}, publishes


def test_control_client_id_patterns_alone_let_the_rogue_in(tmp_path: Path) -> None:
    """The same attack against the setup this project shipped before: ACL patterns on %c
    (the client id) and no use_username_as_clientid. It gets through: the attack above
    can see what it tests."""
    conf = "\n".join(
        line for line in CONF.read_text().splitlines() if "use_username_as_clientid" not in line
    )
    acl = ACL.read_text().replace("/%u/", "/%c/")
    result = attack(tmp_path, conf, acl, patience=10)
    got_through = sorted(name for name, worked in result.worked.items() if worked)
    report("acl-control", rogue_attempts=len(result.worked), got_through=got_through)
    assert {
        "take over demo's live session (drop the locker)",
        "publish demo's events",
        "publish demo's status (retained)",
        "receive demo's queued reservations",
        "throw away demo's queued reservations (clean start)",
        "receive demo's reservations or commands",
        "take over the server's session (drop it)",
    } <= set(got_through)
    assert result.legit["the locker keeps its queued reservations"] is False
