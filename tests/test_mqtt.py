"""The locker's side of the contract against a real Mosquitto broker."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from locker.runtime import Runtime, build
from tests.broker import Broker
from tests.certs import make_ca_and_server
from tests.conftest import FAST_DOORS
from tests.helpers import settings_for, wait_for
from tests.mqtt_peer import Server
from tests.procs import ServiceProcess, free_port
from tests.test_api import BOOKING

UPSERT = {"type": "reservation.upsert", **BOOKING}  # the contract's example


LockerFactory = Callable[..., Runtime]


@pytest.fixture
def make_locker(tmp_path: Path) -> Iterator[LockerFactory]:
    """Start lockers on the broker's port; every one is stopped at the end."""
    started: list[Runtime] = []

    def make(port: int, **mqtt: Any) -> Runtime:
        config = {"port": port, "client_id": "locker-demo-test", "keepalive_s": 5, **mqtt}
        config.setdefault("reconnect_jitter_s", 0.5)  # back at once after a broker restart
        runtime = build(settings_for(tmp_path, doors=FAST_DOORS, mqtt=config), simulate=True)
        runtime.start()
        started.append(runtime)
        wait_for(lambda: connected(runtime), what="locker connected to the broker")
        return runtime

    yield make
    for runtime in started:
        if runtime.started:
            runtime.stop()


def connected(runtime: Runtime) -> bool:
    return runtime.mqtt is not None and runtime.mqtt.connected.is_set()


def door_cycle(runtime: Runtime, cid: str) -> None:
    sim = runtime.sim
    assert sim is not None
    sim.set_door(cid, is_open=True)
    wait_for(lambda: runtime.service.compartments_by_id()[cid].door_open, what="door open")
    sim.set_door(cid, is_open=False)
    wait_for(lambda: not runtime.service.compartments_by_id()[cid].door_open, what="shut")


def test_reservation_pushed_is_accepted(
    broker: Broker, server: Server, make_locker: LockerFactory
) -> None:
    locker = make_locker(broker.port)
    wait_for(lambda: connected(locker), what="locker connected")
    server.send("reservations", UPSERT)
    event = server.wait_event("reservation.accepted", reservation_id="R-2031")
    assert event["compartment"] == "A3" and event["locker_id"] == "demo"
    assert event["seq"] == 1 and event["version"] == 1
    wait_for(lambda: server.status and server.status["free"]["M"] == 4, what="status update")
    assert server.status is not None and server.status["online"] is True


def test_full_flow_over_mqtt_in_seq_order(
    broker: Broker, server: Server, make_locker: LockerFactory
) -> None:
    locker = make_locker(broker.port)
    server.send("reservations", UPSERT)
    server.wait_event("reservation.accepted")
    cid = locker.service.deposit_by_courier(reference="COLIS-88412")
    door_cycle(locker, cid)
    deposited = server.wait_event("parcel.deposited")
    code = deposited["pickup_code"]
    assert deposited["qr_payload"] == f"LKR1:demo:{code}"
    locker.service.pickup("kiosk-0@127.0.0.1", code)
    door_cycle(locker, cid)
    server.wait_event("parcel.collected")
    events = server.unique()
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert [e["type"] for e in events] == [
        "reservation.accepted",
        "door.opened",
        "parcel.deposited",
        "door.opened",
        "parcel.collected",
    ]
    # sent rows stay as the audit log, their codes masked once acknowledged
    db = sqlite3.connect(locker.settings.storage.path)
    wait_for(
        lambda: db.execute("SELECT count(*) FROM event WHERE sent_at IS NULL").fetchone()[0] == 0
    )
    row = db.execute("SELECT sealed_secrets, secret_fields FROM event WHERE seq = 3").fetchone()
    assert row == (None, "pickup_code,qr_payload")


def test_duplicates_stale_versions_and_cancel(
    broker: Broker, server: Server, make_locker: LockerFactory
) -> None:
    locker = make_locker(broker.port)
    server.send("reservations", {**UPSERT, "version": 2})
    server.send("reservations", {**UPSERT, "version": 2, "recipient": "dup"})
    server.send("reservations", {**UPSERT, "version": 1, "recipient": "stale"})
    server.send("reservations", {**UPSERT, "version": 3, "size": "L"})
    server.send(
        "reservations", {"type": "reservation.cancel", "reservation_id": "R-2031", "version": 3}
    )
    server.send(
        "reservations", {"type": "reservation.cancel", "reservation_id": "R-2031", "version": 4}
    )
    server.wait_event("reservation.cancelled", reservation_id="R-2031")
    types = [(e["type"], e.get("version"), e.get("compartment")) for e in server.unique()]
    assert types == [
        ("reservation.accepted", 2, "A3"),
        ("reservation.accepted", 3, "A2"),
        ("reservation.cancelled", 4, "A2"),
    ]
    res = locker.service.reservation("R-2031")
    assert res is not None and res.recipient == "apt-12" and res.state.value == "cancelled"


def test_resync_and_commands_run_once(
    broker: Broker, server: Server, make_locker: LockerFactory
) -> None:
    locker = make_locker(broker.port)
    server.send("reservations", UPSERT)
    server.send(
        "reservations",
        {**UPSERT, "reference": None, "reservation_id": "R-2", "kind": "dropoff", "size": "S"},
    )
    server.send("commands", {"type": "resync", "request_id": "q-17"})
    snapshot = server.wait_event("locker.snapshot", request_id="q-17")
    assert [
        (r["reservation_id"], r["state"], r["version"], r["compartment"])
        for r in snapshot["reservations"]
    ] == [("R-2031", "accepted", 1, "A3"), ("R-2", "accepted", 1, "A4")]
    done = server.wait_event("command.done", request_id="q-17")
    assert done["seq"] == snapshot["seq"] + 1  # decision 18: snapshot first, then done

    server.send(
        "commands",
        {"type": "open", "request_id": "q-18", "compartment": "B2", "reason": "jammed item"},
    )
    server.wait_event("command.done", request_id="q-18")
    opened = server.wait_event("door.opened", compartment="B2")
    assert opened["reason"] == "admin" and opened["by"] == "server"
    sim = locker.sim
    assert sim is not None
    wait_for(lambda: sim.relay_pulses("B2") == 1, what="pulse")

    server.send(
        "commands",
        {
            "type": "set_service",
            "request_id": "q-19",
            "compartment": "C2",
            "in_service": False,
            "reason": "broken",
        },
    )
    server.wait_event("command.done", request_id="q-19")
    wait_for(lambda: server.status and server.status["out_of_service"] == ["C2"], what="status")

    server.send("commands", {"type": "open", "request_id": "q-20", "compartment": "Z9"})
    failed = server.wait_event("command.failed", request_id="q-20")
    assert "Z9" in failed["reason"]

    count = len(server.unique())
    for rid in ("q-17", "q-18", "q-19", "q-20"):  # repeats: nothing runs again...
        server.send("commands", {"type": "open", "request_id": rid, "compartment": "B2"})
    server.send("commands", {"type": "resync", "request_id": "q-21"})
    server.wait_event("command.done", request_id="q-21")
    new = server.unique()[count:]
    # ...but each is answered again, the way it was the first time
    assert [(e["type"], e["request_id"], e.get("command"), e.get("repeat")) for e in new] == [
        ("command.done", "q-17", "resync", True),
        ("command.done", "q-18", "open", True),
        ("command.done", "q-19", "set_service", True),
        ("command.failed", "q-20", "open", True),
        ("locker.snapshot", "q-21", None, None),
        ("command.done", "q-21", "resync", None),
    ]
    assert new[3]["reason"] == failed["reason"]
    assert sim.relay_pulses("B2") == 1
    assert server.status is not None and server.status["out_of_service"] == ["C2"]


INVALID: list[tuple[bytes, str]] = [
    (b"not json", "not valid JSON"),
    (b"[1, 2]", "not a JSON object"),
    (b"\xff\xfe\x00", "not UTF-8"),
    (json.dumps({**UPSERT, "version": "2"}).encode(), "version"),
    (json.dumps({**UPSERT, "version": 0}).encode(), "version"),
    (json.dumps({k: v for k, v in UPSERT.items() if k != "size"}).encode(), "size"),
    (json.dumps({**UPSERT, "type": "reservation.explode"}).encode(), "type"),
    (json.dumps({**UPSERT, "expires_at": "tomorrow"}).encode(), "expires_at"),
    (json.dumps({**UPSERT, "kind": "pizza"}).encode(), "kind"),
    (json.dumps({**UPSERT, "colour": "red"}).encode(), "colour"),
    (b"[" * 100_000 + b"]" * 100_000, "over the limit"),
    (b"[" * 5000 + b"]" * 5000, "JSON"),
    (json.dumps({**UPSERT, "recipient": "x" * 70_000}).encode(), "over the limit"),
]


def test_invalid_payload_matrix(broker: Broker, server: Server, make_locker: LockerFactory) -> None:
    locker = make_locker(broker.port)
    for payload, _ in INVALID:
        server.send("reservations", payload)
    server.send("reservations", UPSERT)  # the next valid message is handled as usual
    server.wait_event("reservation.accepted")
    rejected = [e for e in server.unique() if e["type"] == "reservation.rejected"]
    assert len(rejected) == len(INVALID)
    for event, (_, expected) in zip(rejected, INVALID, strict=True):
        assert expected in event["reason"], (expected, event["reason"])
    assert rejected[3]["reservation_id"] == "R-2031"
    server.send("commands", b"{oops")
    failed = server.wait_event("command.failed")
    assert "JSON" in failed["reason"]
    server.send("commands", {"type": "reboot", "request_id": "q-1"})
    server.wait_event("command.failed", request_id="q-1")
    assert locker.mqtt is not None and locker.mqtt.connected.is_set()


def test_outage_pickups_keep_working_and_every_event_arrives(
    broker: Broker, server: Server, make_locker: LockerFactory
) -> None:
    locker = make_locker(broker.port)
    wait_for(lambda: connected(locker))
    for i in range(6):
        server.send(
            "reservations",
            {
                **UPSERT,
                "reservation_id": f"R-{i}",
                "reference": f"REF-{i}",
                "size": "S",
            },
        )
    server.wait_event("reservation.accepted", reservation_id="R-5")
    server.close()
    broker.stop()
    wait_for(lambda: not connected(locker), what="locker sees the outage")
    cids = []
    for i in range(4):  # deposits and pickups while offline
        cid = locker.service.deposit_by_courier(f"R-{i}")
        door_cycle(locker, cid)
        res = locker.service.reservation(f"R-{i}")
        assert res is not None
        locker.service.pickup("kiosk-0@127.0.0.1", locker.service.codes_of(res)["pickup_code"])
        door_cycle(locker, cid)
        cids.append(cid)
    offline_events = locker.service.last_seq() - 6
    assert offline_events == 4 * 4
    assert locker.store.backlog() == offline_events

    broker.start()  # same port, same persistence
    again = Server(broker.port)
    try:
        wait_for(lambda: locker.store.backlog() == 0, timeout=30, what="backlog drained")
        wait_for(lambda: len(again.unique()) >= offline_events, timeout=15)
        seqs = [e["seq"] for e in again.unique()]
        assert seqs == list(range(7, 7 + offline_events))  # every one, in order
    finally:
        again.close()


@pytest.mark.parametrize("protocol", ["5", "3.1.1"])
def test_restart_while_the_broker_holds_queued_reservations(
    broker: Broker, server: Server, make_locker: LockerFactory, protocol: str
) -> None:
    first = make_locker(broker.port, protocol=protocol)
    wait_for(lambda: connected(first))
    first.stop()  # the persistent session stays at the broker
    for i in range(5):
        server.send(
            "reservations", {**UPSERT, "reference": None, "reservation_id": f"Q-{i}", "size": "S"}
        )
    second = make_locker(broker.port, protocol=protocol)
    for i in range(5):
        server.wait_event("reservation.accepted", reservation_id=f"Q-{i}")
    assert [r.id for r in second.service.reservations()] == [f"Q-{i}" for i in range(5)]


def tls_broker(folder: Path) -> tuple[Broker, Path]:
    ca, cert, key = make_ca_and_server(folder / "pki")
    passwords = folder / "passwords"
    subprocess.run(
        ["mosquitto_passwd", "-b", "-c", str(passwords), "locker-demo", "s3cret-pass"],
        check=True,
        capture_output=True,
    )
    port = free_port()
    listener = (
        f"listener {port} 127.0.0.1\ncafile {ca}\ncertfile {cert}\nkeyfile {key}\n"
        f"allow_anonymous false\npassword_file {passwords}\n"
    )
    return Broker(folder / "tls-broker", port=port, extra=listener).start(), ca


def test_tls_with_password_and_a_refused_password(
    tmp_path: Path, make_locker: LockerFactory
) -> None:
    broker, ca = tls_broker(tmp_path)
    try:
        tls = {"tls": True, "ca_file": ca, "username": "locker-demo"}
        locker = make_locker(broker.port, password="s3cret-pass", **tls)
        assert locker.mqtt is not None
        assert locker.mqtt.health()["error"] is None
        locker.stop()

        wrong = build(
            settings_for(tmp_path / "wrong", mqtt={"port": broker.port, "password": "nope", **tls}),
            simulate=True,
        )
        wrong.start()
        try:
            assert wrong.mqtt is not None
            wait_for(lambda: wrong.mqtt.last_error, what="refusal reported")  # type: ignore[union-attr]
            assert not wrong.mqtt.connected.is_set()
            assert "refused" in str(wrong.mqtt.last_error)
            # the locker still serves: a booking over REST-equivalent service call works
            assert wrong.service.free_counts()["S"] == 4
        finally:
            wrong.stop()
    finally:
        broker.stop()


def test_status_online_offline_and_last_will(
    tmp_path: Path, broker: Broker, server: Server
) -> None:
    svc = ServiceProcess(tmp_path / "svc", mqtt_port=broker.port)
    (tmp_path / "svc").mkdir()
    try:
        svc.start()
        wait_for(lambda: server.status and server.status["online"], what="online status")
        assert svc.client().get("/healthz").json()["mqtt"]["connected"] is True
        svc.stop()  # clean shutdown: the locker says offline itself
        wait_for(lambda: server.status and server.status["online"] is False, what="offline")
        svc.start()
        wait_for(lambda: server.status and server.status["online"], what="online again")
        svc.stop(signal.SIGKILL)  # dead locker: the broker sends the Last Will
        wait_for(lambda: server.status and server.status["online"] is False, what="last will")
        assert server.status == {"online": False, "locker_id": "demo"}
    finally:
        svc.stop(signal.SIGKILL)


def test_service_starts_and_serves_without_a_broker(tmp_path: Path) -> None:
    svc = ServiceProcess(tmp_path, mqtt_port=free_port())  # nothing listens there
    try:
        svc.start()
        health = svc.client().get("/healthz").json()
        assert health["ok"] is True and health["mqtt"]["connected"] is False
        admin = svc.client("demo-admin")
        booking = {**UPSERT, "reference": None, "reservation_id": "R-9"}
        del booking["type"]
        assert admin.post("/api/v1/reservations", json=booking).json()["state"] == "accepted"
        assert svc.client().get("/healthz").json()["mqtt"]["backlog"] == 1
    finally:
        svc.stop()


def test_conciergerie_simulator_pushes_and_prints_events_once(
    broker: Broker, make_locker: LockerFactory
) -> None:
    locker = make_locker(broker.port)
    base = [sys.executable, "-m", "locker.cli", "conciergerie"]
    common = ["--port", str(broker.port), "--wait", "3"]
    run = subprocess.run(
        [*base, "upsert", "--id", "R-77", "--size", "L", "--reference", "P-77", *common],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    events = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    assert [(e["type"], e["compartment"]) for e in events] == [("reservation.accepted", "A2")]
    assert locker.service.reservation("R-77") is not None
    run = subprocess.run(
        [*base, "resync", "--request-id", "q-77", *common],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    types = [json.loads(line)["type"] for line in run.stdout.splitlines() if line.startswith("{")]
    assert types == ["locker.snapshot", "command.done"]


def test_odd_ids_in_broken_messages_never_block_the_outbox(
    broker: Broker, server: Server, make_locker: LockerFactory
) -> None:
    make_locker(broker.port)
    server.send(
        "reservations", b'{"type": "reservation.upsert", "reservation_id": "a/b", "version": 1}'
    )
    server.send("reservations", json.dumps({**UPSERT, "reservation_id": "S\ud800"}).encode())
    server.send("commands", b'{"type": "resync", "request_id": "q\\ud800"}')
    server.send("reservations", UPSERT)
    server.wait_event("reservation.accepted")  # the valid one behind them still goes through
    rejected = [e for e in server.unique() if e["type"] == "reservation.rejected"]
    assert len(rejected) == 2 and all("reservation_id" not in e for e in rejected)
    assert "Unicode" in rejected[1]["reason"]
    failed = server.wait_event("command.failed")
    assert "request_id" not in failed


def acl_broker(folder: Path, allow_events: bool) -> str:
    rules = "topic readwrite conciergerie/lockers/demo/events\n" if allow_events else ""
    (folder / "acl").write_text(
        "user locker-demo\n"
        + rules
        + "topic readwrite conciergerie/lockers/demo/status\n"
        + "topic readwrite conciergerie/lockers/demo/reservations\n"
        + "topic readwrite conciergerie/lockers/demo/commands\n"
        + "user server\ntopic readwrite conciergerie/#\n"
    )
    return str(folder / "acl")


def test_an_event_the_broker_refuses_is_not_marked_sent(
    tmp_path: Path, make_locker: LockerFactory
) -> None:
    folder = tmp_path / "acl-broker"
    folder.mkdir()
    passwords = folder / "passwords"
    for user in ("locker-demo", "server"):
        flag = ["-c"] if user == "locker-demo" else []
        subprocess.run(
            ["mosquitto_passwd", "-b", *flag, str(passwords), user, "pw-" + user],
            check=True,
            capture_output=True,
        )
    port = free_port()
    listener = (
        f"listener {port} 127.0.0.1\nallow_anonymous false\npassword_file {passwords}\n"
        f"acl_file {acl_broker(folder, allow_events=False)}\n"
    )
    broker = Broker(folder, port=port, extra=listener).start()
    try:
        locker = make_locker(port, username="locker-demo", password="pw-locker-demo")
        locker.service.admin_open("C4", "check")  # one event to publish
        assert locker.mqtt is not None
        mqtt = locker.mqtt
        wait_for(lambda: mqtt.health()["refused"], what="the refusal is reported")
        assert "refused event" in str(mqtt.health()["refused"])
        assert locker.store.backlog() == 1  # not marked sent: nothing lost
        acl_broker(folder, allow_events=True)
        assert broker.proc is not None
        broker.proc.send_signal(signal.SIGHUP)  # mosquitto reloads its ACL
        wait_for(lambda: locker.store.backlog() == 0, timeout=90, what="delivered after the fix")
    finally:
        broker.stop()


def test_missing_tls_files_do_not_stop_the_locker(tmp_path: Path) -> None:
    mqtt = {"tls": True, "ca_file": tmp_path / "missing-ca.crt", "port": free_port()}
    settings = settings_for(tmp_path, mqtt=mqtt)
    assert settings.file_problems() == [f"mqtt.ca_file: no such file {tmp_path / 'missing-ca.crt'}"]
    runtime = build(settings, simulate=True)
    runtime.start()
    try:
        assert runtime.mqtt is not None
        assert "TLS setup failed" in str(runtime.mqtt.health()["error"])
        assert runtime.service.free_counts()["S"] == 4  # still serving
    finally:
        runtime.stop()


def test_each_lost_connection_draws_a_new_random_first_wait(
    broker: Broker, make_locker: LockerFactory
) -> None:
    """The real client's back-off (locker.sync.backoff): paho's first reconnect wait is
    reconnect_min_s plus a random part of reconnect_jitter_s, drawn anew each time the
    connection is lost, so a fleet that lost one broker does not return in one instant
    (docs/fleet.md; tests/reliability/test_fleet.py measures the fleet)."""
    locker = make_locker(broker.port, reconnect_jitter_s=10)
    assert locker.mqtt is not None
    client = locker.mqtt.client

    def first_wait() -> float:
        return float(client._reconnect_min_delay)  # paho's own, as its wait reads it

    waits = [first_wait()]
    broker.stop()
    wait_for(lambda: not connected(locker), what="locker sees the outage")
    waits.append(first_wait())
    assert all(1 <= w <= 11 for w in waits), waits
    assert waits[0] != waits[1]  # drawn anew at the loss (equal: once in 2^52)
    broker.start()
    wait_for(lambda: connected(locker), timeout=60, what="back within the jittered wait")
