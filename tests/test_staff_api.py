"""Staff at the box over the API (decision 28): the staff PIN at the kiosk gives a short
staff token that may do the staff actions and nothing else, never a code; wrong staff
PINs have their own lockout, so staff sign in at a kiosk locked out by wrong codes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from locker.config import either_first
from locker.domain.lockout import LockoutPolicy
from locker.pins import DEMO_STAFF_PIN
from locker.runtime import Runtime, build
from tests.conftest import ADMIN, FAST_DOORS, KIOSK, NO_MQTT
from tests.helpers import settings_for, wait_for
from tests.test_api import book, door_cycle, state_of

App = tuple[TestClient, Runtime]
TERMINAL = "kiosk-0@testclient"  # the demo kiosk token, from the test client


@pytest.fixture
def staff_app(tmp_path: Path) -> Iterator[App]:
    settings = settings_for(tmp_path, doors=FAST_DOORS, mqtt=NO_MQTT, kiosk={"staff_idle_s": 2})
    runtime = build(settings, simulate=True)
    with TestClient(create_app(runtime)) as client:
        yield client, runtime


def sign_in(client: TestClient, pin: str = DEMO_STAFF_PIN) -> dict[str, str]:
    r = client.post("/api/v1/staff/session", json={"pin": pin}, headers=KIOSK)
    assert r.status_code == 201, r.text
    assert r.json()["idle_timeout_s"] == 2
    return {"Authorization": f"Bearer {r.json()['token']}"}


def deposited(client: TestClient, runtime: Runtime, rid: str = "R-1") -> tuple[str, str]:
    res = book(client, reservation_id=rid)
    cid = res["compartment"]
    assert client.post("/api/v1/deposits", json={"reservation_id": rid}, headers=ADMIN).is_success
    door_cycle(client, runtime, cid)
    wait_for(lambda: state_of(client, rid)["state"] == "deposited", what="deposited")
    return cid, state_of(client, rid)["pickup_code"]


def test_the_staff_token_is_refused_everything_else(staff_app: App) -> None:
    client, runtime = staff_app
    _, code = deposited(client, runtime)
    staff = sign_in(client)
    refused = [
        ("get", "/api/v1/reservations"),
        ("get", "/api/v1/reservations/R-1"),
        ("get", "/api/v1/reservations/R-1/qr.svg"),
        ("get", "/api/v1/reservations/R-1/qr.png"),
        ("delete", "/api/v1/reservations/R-1"),
        ("get", "/api/v1/events"),
        ("get", "/api/v1/lockouts"),
        ("get", "/api/v1/courier/parcels"),
        ("get", "/api/v1/kiosk/stream"),
        ("get", "/metrics"),
    ]
    for method, path in refused:
        r = client.request(method, path, headers=staff)
        assert r.status_code in (401, 403), f"{method} {path}: {r.status_code}"
        assert code not in r.text
    posts = [
        ("/api/v1/reservations", {"reservation_id": "R-9", "version": 1}),
        ("/api/v1/pickups", {"code": code}),
        ("/api/v1/kiosk/codes", {"code": code}),
        ("/api/v1/deposits", {"reservation_id": "R-1"}),
        ("/api/v1/courier/session", {"pin": "2468"}),
        ("/api/v1/staff/session", {"pin": DEMO_STAFF_PIN}),
    ]
    for path, body in posts:
        r = client.post(path, json=body, headers=staff)
        assert r.status_code == 403, f"POST {path}: {r.status_code} {r.text}"
    assert state_of(client, "R-1")["state"] == "deposited"  # nothing opened


def test_staff_actions_at_the_box(staff_app: App) -> None:
    client, runtime = staff_app
    cid, code = deposited(client, runtime)
    staff = sign_in(client)
    comps = client.get("/api/v1/compartments", headers=staff)
    assert comps.status_code == 200 and code not in comps.text
    assert client.get("/api/v1/temperatures", headers=staff).status_code == 200
    no_reason = client.post(f"/api/v1/compartments/{cid}/open", json={}, headers=staff)
    assert no_reason.status_code == 422 and no_reason.json()["error"] == "invalid"
    opened = client.post(
        f"/api/v1/compartments/{cid}/open", json={"reason": "check"}, headers=staff
    )
    assert opened.status_code == 200 and opened.json() == {"compartment": cid}
    door_cycle(client, runtime, cid)
    events = client.get("/api/v1/events", headers=ADMIN).json()
    staff_open = [e for e in events if e["type"] == "door.opened" and e.get("by") == "staff"]
    assert [(e["compartment"], e["note"]) for e in staff_open] == [(cid, "check")]
    off = {"in_service": False, "reason": "porte abîmée"}
    r = client.put(f"/api/v1/compartments/{cid}/service", json=off, headers=staff)
    assert r.status_code == 200 and r.json()["in_service"] is False
    r = client.put(f"/api/v1/compartments/{cid}/service", json={"in_service": True}, headers=staff)
    assert r.status_code == 200 and r.json()["in_service"] is True
    assert state_of(client, "R-1")["state"] == "deposited"


def test_staff_sign_in_at_a_kiosk_locked_out_by_wrong_codes(staff_app: App) -> None:
    client, _ = staff_app
    for n in range(8):
        r = client.post("/api/v1/kiosk/codes", json={"code": f"{n:08d}"}, headers=KIOSK)
        if r.status_code == 429:
            break
    assert r.status_code == 429  # the kiosk is locked out
    staff = sign_in(client)  # staff still sign in there
    other = client.delete(f"/api/v1/lockouts/{quote('kiosk-1@elsewhere', safe='')}", headers=staff)
    assert other.status_code == 403  # only their own kiosk's
    lifted = client.delete(f"/api/v1/lockouts/{quote(TERMINAL, safe='')}", headers=staff)
    assert lifted.status_code == 204
    r = client.post("/api/v1/kiosk/codes", json={"code": "12345678"}, headers=KIOSK)
    assert r.status_code == 404  # residents may try again


def test_wrong_staff_pins_have_their_own_lockout(staff_app: App) -> None:
    client, runtime = staff_app
    short = client.post("/api/v1/staff/session", json={"pin": "1234"}, headers=KIOSK)
    assert short.status_code == 422
    metrics = client.get("/metrics", headers=ADMIN).text
    assert 'locker_refusals_total{reason="invalid"} 1.0' in metrics  # counted as a refusal
    answers = []
    for n in range(8):
        r = client.post("/api/v1/staff/session", json={"pin": f"9{n:07d}"}, headers=KIOSK)
        answers.append(r.status_code)
        if r.status_code == 429:
            break
    assert answers[0] == 401 and answers[-1] == 429
    r = client.post("/api/v1/staff/session", json={"pin": DEMO_STAFF_PIN}, headers=KIOSK)
    assert r.status_code == 429  # the right PIN waits too
    cid, code = deposited(client, runtime)
    r = client.post("/api/v1/kiosk/codes", json={"code": code}, headers=KIOSK)
    assert r.status_code == 200 and r.json()["compartment"] == cid  # residents unaffected


def test_a_staff_session_ends_when_idle(staff_app: App) -> None:
    client, _ = staff_app
    staff = sign_in(client)
    assert client.get("/api/v1/compartments", headers=staff).status_code == 200
    idle_since = time.monotonic()  # untouched from now on (each use extends it)
    wait_for(lambda: time.monotonic() > idle_since + 2.5, what="2.5 s without use")
    assert client.get("/api/v1/compartments", headers=staff).status_code == 401
    again = sign_in(client)
    assert client.delete("/api/v1/staff/session", headers=again).status_code == 204
    assert client.get("/api/v1/compartments", headers=again).status_code == 401


def test_staff_take_back_an_expired_item_and_release_a_held_one(staff_app: App) -> None:
    client, runtime = staff_app
    cid, code = deposited(client, runtime)
    assert client.post("/api/v1/kiosk/codes", json={"code": code}, headers=KIOSK).is_success
    report = {"compartment": cid, "problem": "wrong_item"}
    assert client.post("/api/v1/kiosk/problems", json=report, headers=KIOSK).is_success
    door_cycle(client, runtime, cid)
    wait_for(lambda: state_of(client, "R-1")["state"] == "held", what="held")
    staff = sign_in(client)
    released = client.post("/api/v1/reservations/R-1/release", headers=staff)
    assert released.status_code == 200 and released.json()["state"] == "deposited"
    assert released.json().get("pickup_code") is None  # never a code for staff
    soon = (datetime.now(UTC) + timedelta(seconds=3)).isoformat()
    other = book(client, reservation_id="R-2", expires_at=soon)["compartment"]
    assert client.post("/api/v1/deposits", json={"reservation_id": "R-2"}, headers=ADMIN).is_success
    door_cycle(client, runtime, other)
    wait_for(lambda: state_of(client, "R-2")["state"] == "expired", timeout=30, what="expired")
    staff = sign_in(client)  # signed in again: this test's sessions end after 2 s idle
    back = client.post("/api/v1/reservations/R-2/return", headers=staff)
    assert back.status_code == 200 and back.json()["compartment"] == other
    door_cycle(client, runtime, other)
    wait_for(lambda: state_of(client, "R-2")["state"] == "returned", what="returned")


def test_the_demo_staff_pin_is_refused_on_a_real_cabinet(tmp_path: Path) -> None:
    problems = settings_for(tmp_path).hardware_problems()
    assert f"kiosk.staff_pin_hashes: the demo PIN {DEMO_STAFF_PIN} is not allowed" in problems


def test_staff_pins_count_in_the_brute_force_floor() -> None:
    assert either_first(100.0, 100.0) == pytest.approx(50.0)  # two ways in: twice as fast
    assert either_first(100.0, float("inf")) == pytest.approx(100.0)
    policy = LockoutPolicy(forgive_per_day=1.0)
    codes = policy.expected_years_to_open(24)
    with_staff = either_first(codes, policy.expected_years_to_open(3))
    assert with_staff < codes


def test_an_audit_with_one_mismatch(staff_app: App) -> None:
    client, runtime = staff_app
    cid, _ = deposited(client, runtime)
    staff = sign_in(client)
    free = next(
        c["id"]
        for c in client.get("/api/v1/compartments", headers=staff).json()
        if c["status"] == "free"
    )
    for door, found, mismatch in ((cid, "empty", True), (free, "empty", False)):
        r = client.post(f"/api/v1/staff/audit/{door}/open", headers=staff)
        assert r.status_code == 200 and r.json() == {"compartment": door}
        door_cycle(client, runtime, door)
        r = client.post(f"/api/v1/staff/audit/{door}", json={"found": found}, headers=staff)
        assert r.status_code == 200 and r.json()["mismatch"] is mismatch
    events = client.get("/api/v1/events", headers=ADMIN).json()
    audits = [
        (e["compartment"], e["found"], e["expected"])
        for e in events
        if e["type"] == "compartment.audited"
    ]
    assert audits == [(cid, "empty", "occupied"), (free, "empty", "empty")]
    opened = [
        e["compartment"] for e in events if e["type"] == "door.opened" and e["reason"] == "audit"
    ]
    assert opened == [cid, free]

    def alarms() -> set[tuple[str, str]]:
        return {
            (a["kind"], a["compartment"])
            for a in client.get("/api/v1/staff/alarms", headers=staff).json()
        }

    # the item is not there: held (its codes open nothing), its compartment set aside
    assert state_of(client, "R-1")["state"] == "held"
    assert alarms() == {("audit", cid), ("held", cid), ("out_of_service", cid)}
    detail = [
        a for a in client.get("/api/v1/staff/alarms", headers=staff).json() if a["kind"] == "audit"
    ]
    assert detail[0]["detail"] == "found empty, expected occupied"
    off = {"in_service": False, "reason": "porte abîmée"}
    assert client.put(f"/api/v1/compartments/{free}/service", json=off, headers=staff).is_success
    assert ("out_of_service", free) in alarms()
    again = client.post(f"/api/v1/staff/audit/{cid}", json={"found": "occupied"}, headers=staff)
    assert again.status_code == 409  # an answer for a compartment not opened for it
    assert client.post(f"/api/v1/staff/audit/{cid}/open", headers=staff).is_success
    door_cycle(client, runtime, cid)  # looked again: it was there after all
    again = client.post(f"/api/v1/staff/audit/{cid}", json={"found": "occupied"}, headers=staff)
    assert again.json()["mismatch"] is False
    assert ("audit", cid) not in alarms()  # the mismatch is cleared
    released = client.post("/api/v1/reservations/R-1/release", headers=staff)
    assert released.status_code == 200 and released.json()["state"] == "deposited"
    assert released.json()["recipient"] is None  # no personal data for staff
    assert alarms() == {("out_of_service", free)}  # back in service with the release
    bad = client.post(f"/api/v1/staff/audit/{cid}", json={"found": "maybe"}, headers=staff)
    assert bad.status_code == 422
    me = client.get("/api/v1/staff/session", headers=staff).json()
    assert me == {"kiosk": TERMINAL, "kiosk_locked_s": None}


def test_an_item_nobody_booked_takes_its_compartment_out_of_service(staff_app: App) -> None:
    client, _ = staff_app
    staff = sign_in(client)
    assert client.post("/api/v1/staff/audit/C1/open", headers=staff).is_success
    r = client.post("/api/v1/staff/audit/C1", json={"found": "occupied"}, headers=staff)
    assert r.json() == {
        "compartment": "C1",
        "found": "occupied",
        "expected": "empty",
        "mismatch": True,
    }
    comps = {c["id"]: c for c in client.get("/api/v1/compartments", headers=staff).json()}
    assert comps["C1"]["in_service"] is False  # nothing is booked into it
