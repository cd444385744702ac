"""api/asyncapi.yaml is generated from the code's models, and what the locker publishes fits it."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from locker.domain.errors import DomainError
from locker.runtime import build
from locker.sync import asyncapi
from tests.broker import Broker
from tests.conftest import FAST_DOORS
from tests.helpers import ROOT, settings_for, wait_for
from tests.mqtt_peer import Server
from tests.test_mqtt import UPSERT, door_cycle

SPEC = yaml.safe_load((ROOT / "api" / "asyncapi.yaml").read_text())


def validator(channel: str) -> jsonschema.protocols.Validator:
    """A validator for any message of ``channel``, with the document's components."""
    refs = [
        SPEC["components"]["messages"][ref["$ref"].rsplit("/", 1)[1]]["payload"]
        for ref in SPEC["channels"][channel]["messages"].values()
    ]
    schema = {"oneOf": refs, "components": SPEC["components"]}
    return jsonschema.Draft202012Validator(schema)


def test_document_is_up_to_date() -> None:
    assert asyncapi.main(["--check"]) == 0
    assert SPEC["asyncapi"].startswith("3.")
    text = (ROOT / "api" / "asyncapi.yaml").read_text()
    for ref in {line.split("'")[1] for line in text.splitlines() if "$ref: '#/" in line}:
        node: Any = SPEC
        for part in ref[2:].split("/"):
            node = node[part]  # every reference resolves


def test_contract_examples_fit() -> None:
    examples: dict[str, list[dict[str, Any]]] = {
        "reservations": [
            UPSERT,
            {"type": "reservation.cancel", "reservation_id": "R-2031", "version": 2},
        ],
        "commands": [
            {"type": "resync", "request_id": "q-17"},
            {"type": "open", "request_id": "q-18", "compartment": "B2", "reason": "jammed item"},
            {"type": "set_service", "request_id": "q-19", "compartment": "B2", "in_service": False},
        ],
    }
    for channel, bodies in examples.items():
        for body in bodies:
            validator(channel).validate(body)
    bad: dict[str, Any] = {**UPSERT, "version": "1"}
    assert not validator("reservations").is_valid(bad)


def test_every_published_message_fits_the_document(tmp_path: Path) -> None:
    broker = Broker(tmp_path / "broker").start()
    server = Server(broker.port)
    doors = {**FAST_DOORS, "open_timeout_s": 0.5, "left_open_s": 0.5}
    mqtt = {"port": broker.port, "client_id": "locker-asyncapi"}
    locker = build(settings_for(tmp_path, doors=doors, mqtt=mqtt), simulate=True)
    locker.start()
    try:
        wait_for(lambda: locker.mqtt is not None and locker.mqtt.connected.is_set())
        service, sim = locker.service, locker.sim
        assert sim is not None
        server.send("reservations", {**UPSERT, "delegate": True})  # v1.1: a carer's code
        server.send(
            "reservations",
            {**UPSERT, "reservation_id": "D-1", "kind": "dropoff", "size": "S", "reference": None},
        )
        server.send(
            "reservations", {**UPSERT, "reference": None, "reservation_id": "X", "size": "XL"}
        )
        server.send(
            "reservations", {**UPSERT, "reference": None, "reservation_id": "C-1", "size": "S"}
        )
        server.send(
            "reservations", {"type": "reservation.cancel", "reservation_id": "C-1", "version": 2}
        )
        server.wait_event("reservation.cancelled")
        cid = service.deposit_by_courier("R-2031")
        door_cycle(locker, cid)  # deposited
        res = service.reservation("R-2031")
        assert res is not None
        service.pickup("kiosk-0@1", service.codes_of(res)["delegate_code"])
        door_cycle(locker, cid)  # collected, by the carer
        server.send(
            "reservations", {**UPSERT, "reference": None, "reservation_id": "E-1", "size": "L"}
        )
        server.wait_event("reservation.accepted", reservation_id="E-1")
        e_cid = service.deposit_by_courier("E-1")
        door_cycle(locker, e_cid)
        service.cancel("E-1")  # expired, item inside
        service.return_item("E-1")
        door_cycle(locker, e_cid)  # returned
        sim.set_door("C4", is_open=True)  # forced open, then left open
        server.wait_event("door.left_open", compartment="C4")
        sim.set_door("C4", is_open=False)
        service.admin_open("A4", "check")  # nobody opens it: re-pulse, then jammed
        server.wait_event("door.jammed", compartment="A4", timeout=20)
        for _ in range(5):
            with contextlib.suppress(DomainError):  # wrong codes, then the lockout
                service.pickup("kiosk-0@9", "00000000")
        server.send("commands", {"type": "resync", "request_id": "q-1"})
        server.send("commands", {"type": "open", "request_id": "q-2", "compartment": "nope"})
        server.wait_event("command.failed", request_id="q-2")
        wait_for(lambda: locker.store.backlog() == 0)
    finally:
        locker.stop()
        server_status = server.status
        server.close()
        broker.stop()

    seen = {e["type"] for e in server.unique()}
    assert seen == {
        "reservation.accepted",
        "reservation.rejected",
        "reservation.cancelled",
        "reservation.expired",
        "parcel.deposited",
        "parcel.collected",
        "parcel.returned",
        "door.opened",
        "door.left_open",
        "door.forced_open",
        "door.jammed",
        "code.lockout",
        "locker.snapshot",
        "command.done",
        "command.failed",
    }
    events = validator("events")
    for raw in server.raw_events:
        events.validate(json.loads(raw))
    deposited = next(e for e in server.unique() if e["type"] == "parcel.deposited")
    assert deposited["delegate_code"] != deposited["pickup_code"]
    assert deposited["delegate_qr_payload"].endswith(deposited["delegate_code"])
    collected = next(e for e in server.unique() if e["type"] == "parcel.collected")
    assert collected["by"] == "delegate"
    assert server_status is not None
    validator("status").validate(server_status)


def test_cold_chain_messages_fit_the_document(tmp_path: Path) -> None:
    """Contract v1.1: every cold-chain event, the snapshot of a held item and the status
    with its temperatures, as published through a real broker."""
    from tests.coldkit import BASKET, Cabinet
    from tests.conftest import ADMIN

    broker = Broker(tmp_path / "broker").start()
    server = Server(broker.port)
    zones = [
        {"id": "Z1", "sensor": "28-0316a2b4c5d6", "compartments": ["B2"]},
        {"id": "Z2", "sensor": "28-0316a2b4c5d7", "compartments": ["B3"]},
    ]
    mqtt = {"port": broker.port, "client_id": "locker-asyncapi-cold"}
    cab = Cabinet(tmp_path / "locker", zones=zones, mqtt=mqtt)
    try:
        runtime = cab.runtime
        wait_for(lambda: runtime.mqtt is not None and runtime.mqtt.connected.is_set())
        cab.zone("Z1", celsius=3.0)
        cab.zone("Z2", celsius=3.0)
        server.send("reservations", {"type": "reservation.upsert", **BASKET, "max_c": 4.0})
        server.wait_event("reservation.accepted", reservation_id="P-1")
        cab.clock.advance(30)
        cab.zone("Z1", fault="85")  # sensor.fault; the deposit moves to Z2
        cab.zone("Z2", celsius=3.0)
        assert cab.deposit() == "B3"  # reservation.accepted again, reservation.deadline
        cab.clock.advance(30)
        cab.zone("Z1", celsius=3.0)  # sensor.ok
        cab.hold(12.0, 1, zone="Z2")  # temperature.alarm, cold_chain.broken, reservation.held
        server.send("commands", {"type": "resync", "request_id": "q-cold"})
        snapshot = server.wait_event("locker.snapshot", request_id="q-cold")
        (entry,) = snapshot["reservations"]
        assert entry["state"] == "held" and entry["reason"] == "cold_chain"
        assert cab.client.post("/api/v1/reservations/P-1/release", headers=ADMIN).is_success
        cab.hold(3.0, 1, zone="Z2")  # temperature.ok
        server.wait_event("temperature.ok", zone="Z2")
        assert cab.pickup().status_code == 200
        problem = {"compartment": "B3", "problem": "damaged", "keep": True}
        kiosk = {"Authorization": "Bearer demo-kiosk"}
        assert cab.client.post("/api/v1/kiosk/problems", json=problem, headers=kiosk).is_success
        wait_for(lambda: (server.status or {}).get("temperatures", {}).get("Z2") is not None)
        status = server.status
        wait_for(lambda: runtime.store.backlog() == 0)
    finally:
        cab.stop()
        server.close()
        broker.stop()
    seen = {e["type"] for e in server.unique()}
    assert {
        "reservation.deadline",
        "reservation.held",
        "reservation.released",
        "temperature.alarm",
        "temperature.ok",
        "sensor.fault",
        "sensor.ok",
        "cold_chain.broken",
        "parcel.problem",
    } <= seen
    events = validator("events")
    for raw in server.raw_events:
        events.validate(json.loads(raw))
    assert status is not None and status["contract"] == "1.1"
    validator("status").validate(status)
