"""A light on the door (led_pin): it blinks from the unlock until the door cycle is over."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from locker.config import ConfigError, load_settings
from locker.runtime import Runtime, build
from tests.conftest import COURIER, FAST_DOORS, KIOSK
from tests.helpers import ROOT, wait_for
from tests.test_api import book, hand, state_of

LIGHTS = ROOT / "tests" / "data" / "lights.toml"
App = tuple[TestClient, Runtime]


@pytest.fixture
def lit(tmp_path: Path) -> Iterator[App]:
    settings = load_settings(
        LIGHTS,
        storage={"path": tmp_path / "locker.db"},
        security={"key_file": tmp_path / "locker.key"},
        doors={**FAST_DOORS, "open_timeout_s": 1.0},
    )
    runtime = build(settings, simulate=True)
    with TestClient(create_app(runtime)) as client:
        yield client, runtime


def led(client: TestClient, cid: str) -> str:
    doors = {d["id"]: d for d in client.get("/api/v1/sim/doors").json()}
    return str(doors[cid]["led"])


def pin_changes(runtime: Runtime, pin: int) -> int:
    """How often the LED's mock pin changed level: a blinking light toggles it."""
    factory = runtime.lights._leds["A1"].pin_factory  # type: ignore[union-attr]
    return len(factory.pin(pin).states)


def test_the_light_blinks_while_the_door_is_unlocked_or_open(lit: App) -> None:
    client, runtime = lit
    book(client, reservation_id="L-1", size="M", recipient="apt-3")
    assert {d["led"] for d in client.get("/api/v1/sim/doors").json()} == {"off"}
    cid = client.post("/api/v1/deposits", json={"reservation_id": "L-1"}, headers=COURIER).json()
    cid = cid["compartment"]
    assert led(client, cid) == "blink"
    before = pin_changes(runtime, 22 if cid == "A1" else 25)
    wait_for(lambda: pin_changes(runtime, 22 if cid == "A1" else 25) >= before + 2, what="blink")
    hand(client, cid, "open")
    wait_for(lambda: runtime.service.compartments_by_id()[cid].door_open)
    assert led(client, cid) == "blink"
    others = [d for d in client.get("/api/v1/sim/doors").json() if d["id"] != cid]
    assert all(d["led"] == "off" for d in others)  # only that person's door
    hand(client, cid, "close")
    wait_for(lambda: led(client, cid) == "off", what="light out once the door is shut")
    code = wait_for(lambda: state_of(client, "L-1")["pickup_code"])
    r = client.post("/api/v1/kiosk/codes", json={"code": code}, headers=KIOSK)
    assert r.status_code == 200 and led(client, cid) == "blink"


def test_the_light_goes_out_when_nobody_opens_the_door(lit: App) -> None:
    client, _ = lit
    book(client, reservation_id="L-2", size="S", recipient="apt-4")
    r = client.post("/api/v1/deposits", json={"reservation_id": "L-2"}, headers=COURIER)
    cid = r.json()["compartment"]
    assert led(client, cid) == "blink"
    # nobody opens it: after open_timeout_s and its retries the cycle ends (jammed)
    wait_for(lambda: led(client, cid) == "off", timeout=30, what="light out after the jam")


def test_a_light_on_a_pin_already_used_is_refused(tmp_path: Path) -> None:
    text = LIGHTS.read_text().replace("led_pin = 13", "led_pin = 17")
    bad = tmp_path / "bad.toml"
    bad.write_text(text)
    with pytest.raises(
        ConfigError, match=r"A2.led_pin: BCM pin 17 is already used by A1.relay_pin"
    ):
        load_settings(bad)


def test_a_door_open_across_a_restart_blinks_again(tmp_path: Path) -> None:
    settings = load_settings(
        LIGHTS,
        storage={"path": tmp_path / "locker.db"},
        security={"key_file": tmp_path / "locker.key"},
        doors={**FAST_DOORS},
    )
    first = build(settings, simulate=True)
    with TestClient(create_app(first)) as client:
        book(client, reservation_id="L-3", size="M", recipient="apt-5")
        r = client.post("/api/v1/deposits", json={"reservation_id": "L-3"}, headers=COURIER)
        cid = r.json()["compartment"]
        hand(client, cid, "open")
        wait_for(lambda: first.service.compartments_by_id()[cid].door_open)
    # the service restarts while the courier still has the door open
    second = build(settings, simulate=True)
    assert second.sim is not None
    second.sim.set_door(cid, is_open=True)
    with TestClient(create_app(second)) as client:
        assert cid in second.service.unlocked()  # the cycle goes on after the restart
        assert led(client, cid) == "blink"  # lit again at start, not only on the next change
        hand(client, cid, "close")
        wait_for(lambda: led(client, cid) == "off")
        assert state_of(client, "L-3")["state"] == "deposited"
