"""Security review, as tests: the API on loopback by default; no secret in the logs of
a full run (at INFO and at DEBUG, against the shipped broker setup, with an MQTT
password). The broker's ACL is attacked in test_acl.py.

Each test prints one ``SECURITY REPORT {json}`` line with its counts (docs/reliability.md).
"""

from __future__ import annotations

import json
import re
import secrets
import time
from pathlib import Path
from typing import Any

import pytest

from locker.config import ApiConfig, load_settings
from locker.pins import DEMO_PIN, hash_pin
from tests.helpers import EXAMPLE, wait_for
from tests.mqtt_peer import Server
from tests.procs import ServiceProcess
from tests.reliability.shipped_broker import WAIT_S, report, shipped_broker
from tests.test_mqtt import UPSERT


def test_api_listens_on_loopback_by_default() -> None:
    assert ApiConfig().host == "127.0.0.1"
    assert load_settings(EXAMPLE).api.host == "127.0.0.1"


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
        d9 = {"reference": "COLIS-d9-4242", "recipient": "foyer-d9-7731"}
        server.send("reservations", {**dropoff, **d9})
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
        # the privacy paths run too: a phone number refused, an export, two erasures
        phone = {**UPSERT, "reservation_id": "R-tel", "recipient": "06 12 34 56 78"}
        server.send("reservations", phone)
        server.wait_event("reservation.rejected", reservation_id="R-tel")
        assert admin.get("/api/v1/reservations/D-9/export").status_code == 200
        assert admin.delete("/api/v1/reservations/D-9/personal-data").status_code == 200
        erase = {"type": "erase", "request_id": "q-erase", "reservation_id": "R-2031"}
        server.send("commands", erase)
        server.wait_event("reservation.erased", reservation_id="R-2031")
        # no recipient nor reference in the logs nor the metrics either (issue 19)
        metrics = hand.get("/metrics").text
        recipients = {
            str(UPSERT["recipient"]): "recipient",
            "foyer-d9-7731": "recipient",
            "06 12 34 56 78": "refused phone number",
            "COLIS-d9-4242": "reference",
            str(UPSERT["reference"]): "reference",
        }
        assert not [r for r in recipients if r in metrics], "a recipient in /metrics"
        found.update(recipients)
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
