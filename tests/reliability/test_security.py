"""Security review, as tests: loopback by default, no secret in the logs of a full run,
the Mosquitto ACL example keeps lockers apart."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from locker.config import ApiConfig, load_settings
from tests.broker import Broker
from tests.helpers import EXAMPLE, ROOT, wait_for
from tests.mqtt_peer import Server
from tests.procs import ServiceProcess, free_port
from tests.test_mqtt import UPSERT

ACL = ROOT / "config" / "mosquitto-acl.example"


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


def test_no_token_code_or_key_in_the_logs_of_a_full_run(tmp_path: Path) -> None:
    broker = Broker(tmp_path / "broker").start()
    svc = ServiceProcess(tmp_path, mqtt_port=broker.port)
    server = Server(broker.port)
    secrets: set[str] = {"demo-admin", "demo-courier", "demo-kiosk"}
    try:
        svc.start()
        admin, courier, kiosk = (svc.client(f"demo-{r}") for r in ("admin", "courier", "kiosk"))
        hand = svc.client()
        booking = {k: v for k, v in UPSERT.items() if k != "type"}
        assert admin.post("/api/v1/reservations", json=booking).status_code == 200
        cid = courier.post("/api/v1/deposits", json={"reservation_id": "R-2031"}).json()
        cid = cid["compartment"]
        hand.post(f"/api/v1/sim/doors/{cid}/open")
        time.sleep(0.3)
        hand.post(f"/api/v1/sim/doors/{cid}/close")
        wait_for(lambda: admin.get("/api/v1/reservations/R-2031").json()["state"] == "deposited")
        code = admin.get("/api/v1/reservations/R-2031").json()["pickup_code"]
        secrets.add(code)
        admin.get("/api/v1/reservations/R-2031/qr.png")
        for wrong in ("00000001", "00000002"):
            kiosk.post("/api/v1/pickups", json={"code": wrong})
        kiosk.post("/api/v1/pickups", json={"qr_payload": f"LKR1:demo:{code}"})
        server.send(
            "reservations",
            {**UPSERT, "reservation_id": "D-9", "kind": "dropoff", "size": "S", "reference": "D-9"},
        )
        accepted = server.wait_event("reservation.accepted", reservation_id="D-9")
        secrets.add(accepted["deposit_code"])
        session = kiosk.post("/api/v1/courier/session", json={"pin": "2468"}).json()["token"]
        secrets.add(session)
        svc.client(session).get("/api/v1/courier/parcels")
        svc.client("not-a-real-token-but-secret").get("/api/v1/reservations")
        secrets.add("not-a-real-token-but-secret")
        server.send("reservations", b"{broken")  # an error path, logged
        server.wait_event("reservation.rejected")
        secrets.add((tmp_path / "locker.key").read_text().strip())
    finally:
        server.close()
        svc.stop()
        broker.stop()
    log = svc.log_path.read_text()
    assert "locker demo on http" in log  # the log was written
    leaked = [s for s in secrets if s in log]
    assert leaked == []


def test_acl_example_keeps_lockers_apart(tmp_path: Path) -> None:
    folder = tmp_path / "acl"
    folder.mkdir()
    pw = passwords(folder, {"demo": "pw-demo", "rogue": "pw-rogue", "conciergerie": "pw-c"})
    port = free_port()
    listener = (
        f"listener {port} 127.0.0.1\nallow_anonymous false\npassword_file {pw}\nacl_file {ACL}\n"
    )
    broker = Broker(folder, port=port, extra=listener).start()
    from locker.runtime import build
    from tests.conftest import FAST_DOORS
    from tests.helpers import settings_for

    locker = build(
        settings_for(
            tmp_path,
            doors=FAST_DOORS,
            mqtt={"port": port, "username": "demo", "password": "pw-demo"},
        ),
        simulate=True,
    )
    locker.start()
    seen: list[dict[str, object]] = []
    rogue = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="rogue", protocol=mqtt.MQTTv5)
    rogue.username_pw_set("rogue", "pw-rogue")
    rogue.on_message = lambda _c, _u, m: seen.append(json.loads(m.payload))
    rogue.connect("127.0.0.1", port)
    rogue.loop_start()
    try:
        assert locker.mqtt is not None
        wait_for(lambda: locker.mqtt is not None and locker.mqtt.connected.is_set())
        rogue.subscribe("conciergerie/lockers/demo/#", qos=1)
        bad = {**UPSERT, "reservation_id": "EVIL"}
        rogue.publish("conciergerie/lockers/demo/reservations", json.dumps(bad), qos=1)
        official = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id="conciergerie", protocol=mqtt.MQTTv5
        )
        official.username_pw_set("conciergerie", "pw-c")
        official.connect("127.0.0.1", port)
        official.loop_start()
        official.publish(
            "conciergerie/lockers/demo/reservations", json.dumps(UPSERT), qos=1
        ).wait_for_publish(10)
        wait_for(lambda: locker.service.reservation("R-2031") is not None, what="official booking")
        wait_for(lambda: locker.store.backlog() == 0, what="events delivered under the ACL")
        assert locker.service.reservation("EVIL") is None  # the rogue could not book
        time.sleep(0.5)
        assert seen == []  # nor read another locker's events or status
        official.loop_stop()
        official.disconnect()
    finally:
        rogue.loop_stop()
        rogue.disconnect()
        locker.stop()
        broker.stop()
