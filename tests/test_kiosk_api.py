"""The kiosk's API: token only for the box itself, one code entry, courier sessions, live stream."""

from __future__ import annotations

import json
import re
import threading
import time
from pathlib import Path

import httpx
from fastapi.testclient import TestClient

from locker.runtime import Runtime
from tests.conftest import ADMIN, KIOSK
from tests.helpers import wait_for
from tests.procs import ServiceProcess
from tests.test_api import book, door_cycle, state_of

App = tuple[TestClient, Runtime]


def page_config(html: str) -> dict[str, object]:
    match = re.search(r'<script type="application/json" id="kiosk-config">(.*?)</script>', html)
    assert match
    config: dict[str, object] = json.loads(match.group(1))
    return config


def test_page_from_another_host_gets_no_token(app_client: App) -> None:
    client, _ = app_client  # TestClient's client address is "testclient", not loopback
    r = client.get("/")
    assert r.status_code == 200 and "text/html" in r.headers["content-type"]
    config = page_config(r.text)
    assert config["token"] is None and config["locker_id"] == "demo"
    assert len(config["layout"]) == 12  # type: ignore[arg-type]
    assert client.get("/kiosk/app.js").status_code == 200
    assert client.get("/kiosk/style.css").status_code == 200


def test_page_served_to_the_box_carries_the_kiosk_token(tmp_path: Path) -> None:
    svc = ServiceProcess(tmp_path).start()
    try:
        html = httpx.get(f"{svc.url}/").text
        assert page_config(html)["token"] == "demo-kiosk"
        assert "cdn" not in html.lower() and "https://" not in html
    finally:
        svc.stop()


def test_one_entry_for_pickup_and_deposit_codes(app_client: App) -> None:
    client, runtime = app_client
    drop = book(client, reservation_id="D-1", kind="dropoff", size="S")
    r = client.post("/api/v1/kiosk/codes", json={"code": drop["deposit_code"]}, headers=KIOSK)
    assert r.status_code == 200 and r.json() == {"compartment": "A4", "purpose": "deposit"}
    door_cycle(client, runtime, "A4")
    code = wait_for(lambda: state_of(client, "D-1")["pickup_code"])
    r = client.post("/api/v1/kiosk/codes", json={"qr_payload": f"LKR1:demo:{code}"}, headers=KIOSK)
    assert r.json() == {"compartment": "A4", "purpose": "pickup"}
    r = client.post("/api/v1/kiosk/codes", json={"code": "11112222"}, headers=KIOSK)
    assert r.status_code == 404
    assert client.post("/api/v1/kiosk/codes", json={"code": code}, headers=ADMIN).status_code == 410


def test_courier_session_may_only_list_and_deposit(app_client: App) -> None:
    client, _ = app_client
    book(client)
    r = client.post("/api/v1/courier/session", json={"pin": "1111"}, headers=KIOSK)
    assert r.status_code == 401 and r.json()["reason"] == "pin"
    r = client.post("/api/v1/courier/session", json={"pin": "2468"}, headers=KIOSK)
    assert r.status_code == 201
    session = {"Authorization": f"Bearer {r.json()['token']}"}
    parcels = client.get("/api/v1/courier/parcels", headers=session).json()
    assert parcels == [
        {"reservation_id": "R-2031", "reference": "COLIS-88412", "size": "M", "compartment": "A3"}
    ]
    assert client.get("/api/v1/reservations", headers=session).status_code == 403
    assert (
        client.post("/api/v1/pickups", json={"code": "12345678"}, headers=session).status_code
        == 403
    )
    assert client.get("/api/v1/reservations/R-2031/qr.svg", headers=session).status_code == 403
    r = client.post("/api/v1/deposits", json={"reference": "COLIS-88412"}, headers=session)
    assert r.json() == {"compartment": "A3"}
    assert client.delete("/api/v1/courier/session", headers=session).status_code == 204
    assert client.get("/api/v1/courier/parcels", headers=session).status_code == 401


def test_courier_session_ends_when_idle(tmp_path: Path) -> None:
    svc = ServiceProcess(tmp_path, extra_env={"LOCKER_KIOSK__COURIER_IDLE_S": "1"}).start()
    try:
        kiosk = svc.client("demo-kiosk")
        token = kiosk.post("/api/v1/courier/session", json={"pin": "2468"}).json()["token"]
        courier = svc.client(token)
        assert courier.get("/api/v1/courier/parcels").status_code == 200
        time.sleep(1.5)
        assert courier.get("/api/v1/courier/parcels").status_code == 401
    finally:
        svc.stop()


def test_wrong_pins_count_toward_the_lockout(app_client: App) -> None:
    client, _ = app_client
    answers = [
        client.post("/api/v1/courier/session", json={"pin": "0000"}, headers=KIOSK).status_code
        for _ in range(5)
    ]
    assert answers == [401, 401, 401, 401, 429]
    r = client.post("/api/v1/courier/session", json={"pin": "2468"}, headers=KIOSK)
    assert r.status_code == 429  # even the right PIN waits


def test_live_stream_reports_door_changes(tmp_path: Path) -> None:
    svc = ServiceProcess(tmp_path).start()
    lines: list[str] = []
    try:

        def read() -> None:
            headers = {"Authorization": "Bearer demo-kiosk"}
            with httpx.stream("GET", f"{svc.url}/api/v1/kiosk/stream", headers=headers) as r:
                for line in r.iter_lines():
                    lines.append(line)
                    if '"compartment":"B3","open":false' in line:
                        return

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        wait_for(lambda: any(line.startswith("event: hello") for line in lines))
        hand = svc.client()
        hand.post("/api/v1/sim/doors/B3/open")
        wait_for(lambda: any('"compartment":"B3","open":true' in line for line in lines))
        hand.post("/api/v1/sim/doors/B3/close")
        reader.join(timeout=15)
        assert not reader.is_alive()
        assert any("door.forced_open" in line for line in lines)
        assert httpx.get(f"{svc.url}/api/v1/kiosk/stream").status_code == 401
    finally:
        svc.stop()
