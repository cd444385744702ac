"""Closures set and cleared by the server over MQTT (a real Mosquitto), kept across a
restart, told in the status; and residents' codes while a closed site cannot be reached."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from locker.domain.errors import Closed
from locker.runtime import Runtime, build
from tests.broker import Broker
from tests.conftest import FAST_DOORS
from tests.helpers import FixedClock, book, settings_for, wait_for
from tests.mqtt_peer import Server

PARIS = ZoneInfo("Europe/Paris")
MONDAY_10 = datetime(2026, 12, 7, 10, 0, tzinfo=PARIS)
WEEK = {d: ["09:00-12:00", "14:00-18:00"] for d in ("mon", "tue", "wed", "thu", "fri")}


def locker(tmp: Path, port: int, clock: FixedClock, **hours: Any) -> Runtime:
    mqtt = {"port": port, "client_id": "locker-demo-test", "keepalive_s": 5}
    settings = settings_for(tmp, doors=FAST_DOORS, mqtt=mqtt, hours={"weekly": WEEK, **hours})
    runtime = build(settings, simulate=True, clock=clock)
    runtime.start()
    wait_for(lambda: runtime.mqtt is not None and runtime.mqtt.connected.is_set(), what="broker")
    return runtime


def state(runtime: Runtime, rid: str) -> str | None:
    res = runtime.service.reservation(rid)
    return None if res is None else res.state.value


def status_says(server: Server, is_open: bool, until: datetime | None = None) -> bool:
    s = server.status
    if s is None or s.get("open") is not is_open:
        return False
    if until is None:
        return "closed_until" not in s
    return datetime.fromisoformat(s["closed_until"]) == until


def test_a_closure_set_and_cleared_by_the_server(
    tmp_path: Path, broker: Broker, server: Server
) -> None:
    clock = FixedClock(MONDAY_10)
    runtime = locker(tmp_path, broker.port, clock)
    try:
        wait_for(lambda: status_says(server, True), what="open on Monday morning")
        assert server.status is not None and server.status["contract"] == "1.1"
        closure = {
            "type": "set_closure",
            "request_id": "q-20",
            "from": "2026-12-07T09:30:00+01:00",
            "to": "2026-12-08T14:00:00+01:00",
            "reason": "fermeture de la mairie",
        }
        server.send("commands", closure)
        server.wait_event("command.done", request_id="q-20", command="set_closure")
        reopens = datetime(2026, 12, 8, 14, 0, tzinfo=PARIS)
        wait_for(lambda: status_says(server, False, reopens), what="closed until Tuesday 14:00")
    finally:
        runtime.stop()
    # kept across a restart
    runtime = locker(tmp_path, broker.port, clock)
    try:
        assert runtime.service.site() == (False, reopens)
        bad = {"type": "clear_closure", "request_id": "q-21", "from": "2026-12-07T09:00:00+01:00"}
        server.send("commands", bad)
        failed = server.wait_event("command.failed", request_id="q-21")
        assert "no closure from 2026-12-07T09:00:00+01:00" in failed["reason"]
        server.send("commands", {**bad, "request_id": "q-22", "from": closure["from"]})
        server.wait_event("command.done", request_id="q-22", command="clear_closure")
        wait_for(lambda: status_says(server, True), what="open again")
        # the site closes at noon, by its own hours: the status says so by itself
        clock.current = datetime(2026, 12, 7, 12, 0, 1, tzinfo=PARIS)
        lunch_end = datetime(2026, 12, 7, 14, 0, tzinfo=PARIS)
        wait_for(lambda: status_says(server, False, lunch_end), what="closed for lunch")
        upside_down = {**closure, "request_id": "q-23", "to": "2026-12-06T09:00:00+01:00"}
        server.send("commands", upside_down)
        assert "after" in server.wait_event("command.failed", request_id="q-23")["reason"]
    finally:
        runtime.stop()


def test_closed_blocks_residents_codes_not_couriers(tmp_path: Path, broker: Broker) -> None:
    clock = FixedClock(MONDAY_10)
    runtime = locker(tmp_path, broker.port, clock, closed_blocks_pickups=True)
    service = runtime.service
    try:
        book(service, clock.now(), rid="R-1")
        cid = service.deposit_by_courier("R-1")
        assert runtime.sim is not None
        runtime.sim.set_door(cid, is_open=True)
        wait_for(lambda: service.compartments_by_id()[cid].door_open, what="open")
        runtime.sim.set_door(cid, is_open=False)
        wait_for(lambda: state(runtime, "R-1") == "deposited", what="deposited")
        res = service.reservation("R-1")
        assert res is not None
        code = service.codes_of(res)["pickup_code"]
        clock.current = datetime(2026, 12, 7, 19, 0, tzinfo=PARIS)  # evening: closed
        with pytest.raises(Closed) as err:
            service.pickup("kiosk", code)
        assert err.value.until == datetime(2026, 12, 8, 9, 0, tzinfo=PARIS).isoformat()
        assert service.lockouts() == {}  # nothing counted: the code was not even looked at
        book(service, clock.now(), rid="R-2")
        assert service.deposit_by_courier("R-2")  # couriers always work
        clock.is_trusted = False  # an untrusted clock counts as open (decision 36)
        assert service.site() == (True, None)
        clock.is_trusted = True
        clock.current += timedelta(hours=14)  # Tuesday 9:00
        assert service.pickup("kiosk", code) == cid
    finally:
        runtime.stop()
