"""The REST API through the real app, runtime, SQLite file and MockFactory pins."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from fastapi.testclient import TestClient

from locker.runtime import Runtime
from tests.conftest import ADMIN, COURIER, KIOSK
from tests.helpers import wait_for

App = tuple[TestClient, Runtime]
BOOKING = {
    "reservation_id": "R-2031",
    "version": 1,
    "kind": "delivery",
    "size": "M",
    "chilled": False,
    "accessible": False,
    "recipient": "apt-12",
    "reference": "COLIS-88412",
    "expires_at": "2030-12-01T18:00:00+01:00",
}


def book(client: TestClient, **changes: Any) -> Any:
    if "reservation_id" in changes:  # a parcel reference belongs to one reservation
        changes.setdefault("reference", f"REF-{changes['reservation_id']}")
    r = client.post("/api/v1/reservations", json={**BOOKING, **changes}, headers=ADMIN)
    assert r.status_code == 200, r.text
    return r.json()


def hand(client: TestClient, cid: str, action: str) -> None:
    assert client.post(f"/api/v1/sim/doors/{cid}/{action}").status_code == 200


def door_cycle(client: TestClient, runtime: Runtime, cid: str) -> None:
    """Wait for the relay pulse to end, open the door, see it open, shut it, see it shut."""
    hand(client, cid, "open")
    wait_for(lambda: runtime.service.compartments_by_id()[cid].door_open, what=f"{cid} open")
    hand(client, cid, "close")
    wait_for(lambda: not runtime.service.compartments_by_id()[cid].door_open, what="shut")


def state_of(client: TestClient, rid: str) -> Any:
    return client.get(f"/api/v1/reservations/{rid}", headers=ADMIN).json()


def test_health_needs_no_token(app_client: App) -> None:
    client, _ = app_client
    body = client.get("/healthz").json()
    assert body["ok"] is True and body["locker_id"] == "demo"
    assert body["free"] == {"S": 4, "M": 5, "L": 3}


def test_tokens_and_roles(app_client: App) -> None:
    client, _ = app_client
    assert client.get("/api/v1/reservations").status_code == 401
    bad = client.get("/api/v1/reservations", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401 and bad.json()["detail"] == "unknown or expired bearer token"
    assert client.post("/api/v1/reservations", json=BOOKING, headers=KIOSK).status_code == 403
    assert client.post("/api/v1/reservations", json=BOOKING, headers=COURIER).status_code == 403
    assert client.get("/api/v1/events", headers=COURIER).status_code == 403


def test_full_delivery_flow(app_client: App) -> None:
    client, runtime = app_client
    res = book(client)
    assert res["state"] == "accepted" and res["compartment"] == "A3"
    r = client.post("/api/v1/deposits", json={"reference": "COLIS-88412"}, headers=COURIER)
    assert r.status_code == 200 and r.json() == {"compartment": "A3"}
    wait_for(lambda: _pulses(client, "A3") == 1, what="relay pulse")
    door_cycle(client, runtime, "A3")
    res = wait_for(lambda: (s := state_of(client, "R-2031"))["state"] == "deposited" and s)
    code = res["pickup_code"]
    assert len(code) == 8 and res["qr_payload"] == f"LKR1:demo:{code}"
    courier_view = client.get("/api/v1/reservations/R-2031", headers=COURIER).json()
    assert courier_view["pickup_code"] is None  # decision 6

    r = client.post("/api/v1/pickups", json={"qr_payload": res["qr_payload"]}, headers=KIOSK)
    assert r.status_code == 200 and r.json() == {"compartment": "A3"}
    wait_for(lambda: _pulses(client, "A3") == 2, what="second pulse")
    door_cycle(client, runtime, "A3")
    assert state_of(client, "R-2031")["state"] == "collected"
    assert state_of(client, "R-2031")["pickup_code"] is None
    # the same code at the same kiosk, within the re-open window: the same door, once
    again = client.post("/api/v1/pickups", json={"code": code}, headers=KIOSK)
    assert again.status_code == 200 and again.json() == {"compartment": "A3"}
    wait_for(lambda: _pulses(client, "A3") == 3, what="the door opened again")
    door_cycle(client, runtime, "A3")
    again = client.post("/api/v1/pickups", json={"code": code}, headers=KIOSK)
    assert again.status_code == 410 and again.json()["reason"] == "used"

    events = client.get("/api/v1/events?after_seq=0", headers=ADMIN).json()
    assert [e["type"] for e in events] == [
        "reservation.accepted",
        "door.opened",
        "parcel.deposited",
        "door.opened",
        "parcel.collected",
        "door.opened",
    ]
    assert events[-1]["reason"] == "reopen" and events[-1]["compartment"] == "A3"
    assert [e["seq"] for e in events] == [1, 2, 3, 4, 5, 6]
    assert events[2]["pickup_code"] == "********"
    assert all(e["locker_id"] == "demo" and e["event_id"] for e in events)
    page = client.get("/api/v1/events?after_seq=3&limit=1", headers=ADMIN).json()
    assert [e["seq"] for e in page] == [4]


def _pulses(client: TestClient, cid: str) -> int:
    doors = client.get("/api/v1/sim/doors").json()
    return int(next(d["relay_pulses"] for d in doors if d["id"] == cid))


def test_wrong_code_answers_404_then_429(app_client: App) -> None:
    client, _ = app_client
    for _ in range(4):
        r = client.post("/api/v1/pickups", json={"code": "12345678"}, headers=KIOSK)
        assert r.status_code == 404 and "message_fr" in r.json()
    r = client.post("/api/v1/pickups", json={"code": "12345678"}, headers=KIOSK)
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
    lockouts = client.get("/api/v1/lockouts", headers=ADMIN).json()
    [terminal] = lockouts
    assert client.delete(f"/api/v1/lockouts/{terminal}", headers=ADMIN).status_code == 204
    assert (
        client.post("/api/v1/pickups", json={"code": "12345678"}, headers=KIOSK).status_code == 404
    )


def test_malformed_inputs_are_422_and_open_nothing(app_client: App) -> None:
    client, _ = app_client
    for body in ({"code": "1234"}, {"qr_payload": "LKR2:demo:12345678"}, {}, {"code": 12345678}):
        r = client.post("/api/v1/pickups", json=body, headers=KIOSK)
        assert r.status_code == 422, body
    r = client.post("/api/v1/pickups", content=b"{not json", headers=KIOSK)
    assert r.status_code == 422
    for version in (0, "1", 1.5, True):
        r = client.post("/api/v1/reservations", json={**BOOKING, "version": version}, headers=ADMIN)
        assert r.status_code == 422, version
    r = client.post("/api/v1/reservations", json={**BOOKING, "colour": "red"}, headers=ADMIN)
    assert r.status_code == 422
    naive = {**BOOKING, "expires_at": "2030-12-01T18:00:00"}
    assert client.post("/api/v1/reservations", json=naive, headers=ADMIN).status_code == 422
    assert all(d["relay_pulses"] == 0 for d in client.get("/api/v1/sim/doors").json())


def test_oversized_body_is_413(app_client: App) -> None:
    client, _ = app_client
    big = {**BOOKING, "recipient": "x" * 70_000}
    r = client.post("/api/v1/reservations", json=big, headers=ADMIN)
    assert r.status_code == 413
    body = json.dumps(big).encode()

    def chunks() -> Iterator[bytes]:  # no Content-Length: sent chunked
        for i in range(0, len(body), 8192):
            yield body[i : i + 8192]

    r = client.post("/api/v1/reservations", content=chunks(), headers=ADMIN)
    assert r.status_code == 413
    small = json.dumps(BOOKING).encode()
    headers = {**ADMIN, "Content-Type": "application/json"}
    r = client.post("/api/v1/reservations", content=iter([small[:10], small[10:]]), headers=headers)
    assert r.status_code == 200  # a small chunked body goes through whole
    assert client.get("/healthz").status_code == 200


def test_huge_numbers_and_odd_ids_are_422(app_client: App) -> None:
    client, _ = app_client
    for version in (2**63, 10**20):
        r = client.post("/api/v1/reservations", json={**BOOKING, "version": version}, headers=ADMIN)
        assert r.status_code == 422
    assert (
        client.get("/api/v1/events?after_seq=99999999999999999999", headers=ADMIN).status_code
        == 422
    )
    r = client.post(
        "/api/v1/reservations", json={**BOOKING, "reservation_id": "X/1"}, headers=ADMIN
    )
    assert r.status_code == 422


def test_kiosk_sending_a_reservation_id_is_403_whatever_else(app_client: App) -> None:
    client, _ = app_client
    body = {"reservation_id": "R-2031", "deposit_code": "12345678"}
    assert client.post("/api/v1/deposits", json=body, headers=KIOSK).status_code == 403


def test_rejected_upsert_is_409_with_reason(app_client: App) -> None:
    client, _ = app_client
    for i in range(3):
        book(client, reservation_id=f"L{i}", size="L")
    more = {**BOOKING, "reservation_id": "L3", "size": "L", "reference": "REF-L3"}
    r = client.post("/api/v1/reservations", json=more, headers=ADMIN)
    assert r.status_code == 409 and "no compartment fits" in r.json()["detail"]


def test_kiosk_may_not_deposit_by_reservation(app_client: App) -> None:
    client, _ = app_client
    book(client)
    r = client.post("/api/v1/deposits", json={"reservation_id": "R-2031"}, headers=KIOSK)
    assert r.status_code == 403
    assert all(d["relay_pulses"] == 0 for d in client.get("/api/v1/sim/doors").json())


def test_dropoff_with_deposit_code_and_qr_images(app_client: App) -> None:
    client, runtime = app_client
    res = book(client, reservation_id="D-1", kind="dropoff", size="S", reference=None)
    code = res["deposit_code"]
    assert client.get("/api/v1/reservations/D-1/qr.svg", headers=COURIER).status_code == 403
    r = client.post("/api/v1/deposits", json={"deposit_code": code}, headers=KIOSK)
    assert r.status_code == 200
    cid = r.json()["compartment"]
    door_cycle(client, runtime, cid)
    wait_for(lambda: state_of(client, "D-1")["state"] == "deposited")
    svg = client.get("/api/v1/reservations/D-1/qr.svg", headers=COURIER)
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    assert b"<svg" in svg.content
    png = client.get("/api/v1/reservations/D-1/qr.png", headers=ADMIN)
    assert png.status_code == 200 and png.content[:8] == b"\x89PNG\r\n\x1a\n"


def test_cancel_and_return_over_rest(app_client: App) -> None:
    client, runtime = app_client
    book(client)
    client.post("/api/v1/deposits", json={"reservation_id": "R-2031"}, headers=COURIER)
    door_cycle(client, runtime, "A3")
    wait_for(lambda: state_of(client, "R-2031")["state"] == "deposited")
    r = client.delete("/api/v1/reservations/R-2031", headers=ADMIN)
    assert r.status_code == 200 and r.json()["state"] == "expired"
    assert client.delete("/api/v1/reservations/R-2031", headers=ADMIN).status_code == 409
    r = client.post("/api/v1/reservations/R-2031/return", headers=COURIER)
    assert r.status_code == 200 and r.json() == {"compartment": "A3"}
    door_cycle(client, runtime, "A3")
    wait_for(lambda: state_of(client, "R-2031")["state"] == "returned")
    assert client.delete("/api/v1/reservations/nope", headers=ADMIN).status_code == 404


def test_compartments_and_staff_actions(app_client: App) -> None:
    client, _ = app_client
    comps = client.get("/api/v1/compartments", headers=KIOSK).json()
    assert len(comps) == 12 and {c["status"] for c in comps} == {"free"}
    r = client.put(
        "/api/v1/compartments/B2/service",
        json={"in_service": False, "reason": "fridge off"},
        headers=ADMIN,
    )
    assert r.status_code == 200 and r.json()["status"] == "out_of_service"
    assert client.get("/healthz").json()["free"]["M"] == 4
    r = client.post("/api/v1/compartments/C4/open", json={"reason": "check"}, headers=ADMIN)
    assert r.status_code == 200
    wait_for(lambda: _pulses(client, "C4") == 1, what="admin pulse")
    assert client.post("/api/v1/compartments/ZZ/open", headers=ADMIN).status_code == 404
    assert client.post("/api/v1/compartments/C4/open", headers=COURIER).status_code == 403


def test_openapi_and_docs(app_client: App) -> None:
    client, _ = app_client
    spec = client.get("/openapi.json").json()
    assert "/api/v1/pickups" in spec["paths"] and "/api/v1/sim/doors" in spec["paths"]
    assert client.get("/docs").status_code == 200
