"""Commissioning over the API, on the real door drivers: GPIO relays and reed switches on
MockFactory pins wired wrong on purpose (two relays swapped, one not wired, a reed
switch missing, one reversed), and simulated Kerong boards with two lock numbers
swapped in the config. The test plays the cabinet's physics and the person at it."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from firmware_bridge.sim import SimulatedCabinet
from locker.hardware import Hand
from locker.pins import DEMO_STAFF_PIN
from locker.runtime import Runtime, build
from tests.conftest import ADMIN, FAST_DOORS, KIOSK, NO_MQTT
from tests.helpers import EXAMPLE, settings_for, wait_for

API = "/api/v1/staff/commissioning"
RELAY_OPENS = {"A2": "C2", "C2": "A2", "A3": None}  # relay of -> the door it really opens
SWITCH_OF = {"B2": "B3", "B3": "B2"}  # door -> the compartment its switch is wired as
REED = {"B4": "missing", "C4": "reversed"}


def sign_in(client: TestClient) -> dict[str, str]:
    r = client.post("/api/v1/staff/session", json={"pin": DEMO_STAFF_PIN}, headers=KIOSK)
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def run_state(client: TestClient, headers: dict[str, str]) -> dict[str, Any]:
    r = client.get(API, headers=headers)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def pulsed(hand: Hand, cid: str) -> bool:
    return hand.relay_pulses(cid) == 1


def judged(client: TestClient, headers: dict[str, str], cid: str) -> bool:
    return any(x["compartment"] == cid for x in run_state(client, headers)["results"])


def seen_open(client: TestClient, headers: dict[str, str], switch: str) -> bool:
    return switch in run_state(client, headers)["step"]["opened"]


def asking(client: TestClient, headers: dict[str, str]) -> bool:
    step = run_state(client, headers)["step"]
    return bool(step and step["asking"])


class GpioPhysics:
    """Relay pins to the doors they really open, reed pins as they really read."""

    def __init__(self, runtime: Runtime) -> None:
        assert isinstance(runtime.sim, SimulatedCabinet)
        self.hand = runtime.sim
        self.reed_pin = {c.id: c.reed_pin for c in runtime.settings.compartments}

    def door(self, cid: str, physically_open: bool) -> None:
        switch = SWITCH_OF.get(cid, cid)
        how = REED.get(switch, "ok")
        reads_open = True if how == "missing" else physically_open != (how == "reversed")
        self.hand.set_door(switch, reads_open)  # drives that switch's reed pin


@pytest.fixture
def gpio_app(tmp_path: Path) -> Iterator[tuple[TestClient, Runtime]]:
    runtime = build(settings_for(tmp_path, doors=FAST_DOORS, mqtt=NO_MQTT), simulate=True)
    physics = GpioPhysics(runtime)
    for cid in REED:  # as the switches read with every door shut, before the start
        physics.door(cid, False)
    with TestClient(create_app(runtime)) as client:
        yield client, runtime


def test_swapped_missing_and_reversed_wiring_found_on_gpio_pins(
    gpio_app: tuple[TestClient, Runtime],
) -> None:
    client, runtime = gpio_app
    physics = GpioPhysics(runtime)
    staff = sign_in(client)
    tested = ["A1", "A2", "B2", "C2", "A3", "B4", "C4"]  # in the layout's order
    r = client.post(API, json={"compartments": tested}, headers=staff)
    assert r.status_code == 201, r.text
    assert r.json()["hardware"] == "gpio"
    for cid in tested:
        step = run_state(client, staff)["step"]
        assert step["compartment"] == cid
        if cid in REED:  # its switch reads open with the door shut: never pulsed
            assert step["waiting"] is True
            assert client.post(f"{API}/done", headers=staff).is_success  # "it is shut"
            assert physics.hand.relay_pulses(cid) == 0
            continue
        wait_for(partial(pulsed, physics.hand, cid), what=f"{cid}'s relay pulse")
        door = RELAY_OPENS.get(cid, cid)
        if door is None:  # nothing opened: the person says so
            assert client.post(f"{API}/tap", json={"compartment": None}, headers=staff).is_success
        else:
            switch = SWITCH_OF.get(door, door)
            physics.door(door, True)  # the person pulls the door that popped ...
            wait_for(partial(seen_open, client, staff, switch), what=f"{switch} read open")
            physics.door(door, False)  # ... and shuts it again
            if switch != cid:  # another switch moved: which door really opened?
                wait_for(partial(asking, client, staff), what="the question")
                r = client.post(f"{API}/tap", json={"compartment": door}, headers=staff)
                assert r.is_success, r.text
        wait_for(partial(judged, client, staff, cid), what=f"{cid} judged")
    body = run_state(client, staff)
    assert body["active"] is False and body["step"] is None
    pins = {c.id: (c.relay_pin, c.reed_pin) for c in runtime.settings.compartments}
    assert [(x["compartment"], x["outcome"], x["other"], x["fix"]) for x in body["results"]] == [
        ("A1", "ok", None, None),
        ("A2", "other_door", "C2", {"compartment": "C2", "relay_pin": pins["A2"][0],
                                    "reed_pin": pins["C2"][1], "board": None, "lock": None}),
        # its own door popped, B3's switch moved: B2's reed pin is the one to change
        ("B2", "other_door", "B3", {"compartment": "B2", "relay_pin": pins["B2"][0],
                                    "reed_pin": pins["B3"][1], "board": None, "lock": None}),
        ("C2", "other_door", "A2", {"compartment": "A2", "relay_pin": pins["C2"][0],
                                    "reed_pin": pins["A2"][1], "board": None, "lock": None}),
        ("A3", "no_door", None, None),
        ("B4", "not_shut", None, None),
        ("C4", "not_shut", None, None),
    ]  # fmt: skip
    events = client.get("/api/v1/events?after_seq=0&limit=500", headers=ADMIN).json()
    done = [e for e in events if e["type"] == "locker.commissioned"]
    assert len(done) == 1 and [x["outcome"] for x in done[0]["results"]] == [
        "ok",
        "other_door",
        "other_door",
        "other_door",
        "no_door",
        "not_shut",
        "not_shut",
    ]
    comps = {c["id"]: c for c in client.get("/api/v1/compartments", headers=staff).json()}
    assert comps["A1"]["commission"] == "ok" and comps["A3"]["commission"] == "no_door"
    assert comps["B1"]["commission"] is None  # not tested: works as before


def test_a_courier_deposit_avoids_a_compartment_that_failed(
    gpio_app: tuple[TestClient, Runtime],
) -> None:
    client, runtime = gpio_app
    large = [c.id for c in runtime.settings.compartments if c.size == "L"]
    assert client.post(API, json={"compartments": large}, headers=ADMIN).status_code == 201
    for _ in large:  # no door opens: relays not wired
        assert client.post(f"{API}/tap", json={"compartment": None}, headers=ADMIN).is_success
    assert run_state(client, ADMIN)["active"] is False
    booking = {
        "reservation_id": "R-L",
        "version": 1,
        "kind": "delivery",
        "size": "L",
        "expires_at": "2099-01-01T00:00:00+00:00",
    }
    r = client.post("/api/v1/reservations", json=booking, headers=ADMIN)
    assert r.status_code == 409 or r.json()["state"] == "rejected", r.text


def test_commissioning_needs_staff_or_admin(gpio_app: tuple[TestClient, Runtime]) -> None:
    client, _ = gpio_app
    for token in ("demo-kiosk", "demo-courier"):
        r = client.post(API, json={}, headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 403, (token, r.text)
    assert client.post(f"{API}/done", headers=ADMIN).status_code == 409  # no run
    r = client.post(API, json={"compartments": ["Z9"]}, headers=ADMIN)
    assert r.status_code in (404, 422), r.text
    assert client.post(API, json={"compartments": "A1"}, headers=ADMIN).status_code == 422


def test_a_swapped_lock_number_found_on_kerong_boards(tmp_path: Path) -> None:
    """The config gives B1 lock 3 and C1 lock 2, but the cabinet was built in order: lock
    2 is behind B1's door, lock 3 behind C1's. The person taps the door that popped."""
    import tomllib

    raw = tomllib.loads(EXAMPLE.read_text())
    comps = raw["compartments"]
    for comp in comps:
        comp.pop("relay_pin", None)
        comp.pop("reed_pin", None)
    order = [c["id"] for c in comps]
    behind = {n + 1: cid for n, cid in enumerate(order)}  # lock number -> its real door
    comps[order.index("B1")] |= {"board": 0, "lock": 3}
    comps[order.index("C1")] |= {"board": 0, "lock": 2}
    settings = settings_for(
        tmp_path,
        doors=FAST_DOORS | {"hardware": "kerong"},
        mqtt=NO_MQTT,
        compartments=comps,
    )
    runtime = build(settings, simulate=True)
    with TestClient(create_app(runtime)) as client:
        locks = runtime.settings.kerong_locks()
        hand = runtime.sim
        assert hand is not None
        r = client.post(API, json={"compartments": ["A1", "B1", "C1"]}, headers=ADMIN)
        assert r.status_code == 201 and r.json()["hardware"] == "kerong"
        for cid in ("A1", "B1", "C1"):
            assert run_state(client, ADMIN)["step"]["compartment"] == cid
            wait_for(partial(pulsed, hand, cid), what=f"{cid} unlocked")
            popped = behind[locks[cid][1]]
            r = client.post(f"{API}/tap", json={"compartment": popped}, headers=ADMIN)
            assert r.is_success, r.text
            hand.set_door(cid, False)  # the door pushed shut: the pulsed lock latches
            wait_for(partial(judged, client, ADMIN, cid), what=f"{cid} judged")
        results = run_state(client, ADMIN)["results"]
    assert [(x["compartment"], x["outcome"], x["other"], x["fix"]) for x in results] == [
        ("A1", "ok", None, None),
        ("B1", "other_door", "C1",
         {"compartment": "C1", "board": 0, "lock": 3, "relay_pin": None, "reed_pin": None}),
        ("C1", "other_door", "B1",
         {"compartment": "B1", "board": 0, "lock": 2, "relay_pin": None, "reed_pin": None}),
    ]  # fmt: skip
