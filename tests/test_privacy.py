"""Privacy by design (issue 19): a recipient that names a person is refused, by REST
and over MQTT, with a reason that says why; opaque ids stay valid."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from locker.backup import backup
from locker.privacy.identifiers import personal_data
from locker.runtime import Runtime
from tests.broker import Broker
from tests.conftest import ADMIN, KIOSK
from tests.helpers import wait_for
from tests.mqtt_peer import Server
from tests.test_api import BOOKING, door_cycle
from tests.test_mqtt import UPSERT, LockerFactory, make_locker

EMAILS = [
    "jean.dupont@orange.fr",
    "Marie-Claire.Durand+colis@laposte.net",
    "a.b@mairie-chambeon.fr",
    "jean@localhost",
    "x@y",
]
PHONES = [
    "0612345678",
    "06 12 34 56 78",
    "06.12.34.56.78",
    "06-12-34-56-78",
    "01 23 45 67 89",
    "+33612345678",
    "+33 6 12 34 56 78",
    "+33 (0)6 12 34 56 78",
    "0033 6 12 34 56 78",
    "+32 470 12 34 56",
    "+1 415 555 0100",
    "+44 20 7946 0958",
    "tel 04 75 00 00 00",
    # inside a longer id, glued to it, two at once, other dashes, without + or 0
    "apt-12 06 12 34 56 78",
    "foyer 4412 0612345678",
    "apt0612345678",
    "Dupont_0612345678",
    "0612345678 0698765432",
    "06\u201312\u201334\u201356\u201378",
    "33612345678",
    "6 12 34 56 78",
]
OPAQUE = [
    "apt-12",
    "bat-B-apt-12",
    "foyer 4412",
    "COLIS 88412",
    "household-1234567890",
    "R-2024-06-12-0001",
    "9f3c2a1e-77b0-4c55-9b1e-0a2f6f1d3c11",
    "ref 01/2024/1234",
    "R-000123",
    "box 3 row 12",
]
RID = str(BOOKING["reservation_id"])


@pytest.mark.parametrize("recipient", EMAILS + PHONES)
def test_a_recipient_that_names_a_person_is_refused_by_rest(
    app_client: tuple[TestClient, Runtime], recipient: str
) -> None:
    client, runtime = app_client
    booking = {**BOOKING, "recipient": recipient}
    r = client.post("/api/v1/reservations", json=booking, headers=ADMIN)
    assert r.status_code == 409, r.text
    kind = "an e-mail address" if "@" in recipient else "a phone number"
    assert f"recipient looks like {kind}" in r.text and "opaque id" in r.text
    assert runtime.service.reservation(RID) is None


@pytest.mark.parametrize("recipient", OPAQUE)
def test_opaque_ids_stay_valid(app_client: tuple[TestClient, Runtime], recipient: str) -> None:
    client, _ = app_client
    r = client.post(
        "/api/v1/reservations",
        json={**BOOKING, "recipient": recipient, "reference": "COLIS 88412"},
        headers=ADMIN,
    )
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "accepted"


def test_a_change_to_a_phone_number_keeps_the_reservation_as_it_was(
    app_client: tuple[TestClient, Runtime],
) -> None:
    client, runtime = app_client
    assert client.post("/api/v1/reservations", json=BOOKING, headers=ADMIN).status_code == 200
    changed = {**BOOKING, "version": 2, "recipient": "06 12 34 56 78"}
    assert client.post("/api/v1/reservations", json=changed, headers=ADMIN).status_code == 409
    res = runtime.service.reservation(RID)
    assert res is not None and res.version == 1
    assert res.recipient == BOOKING.get("recipient")


def test_the_rule_alone() -> None:
    assert all(personal_data(r) for r in EMAILS + PHONES)
    assert not any(personal_data(r) for r in OPAQUE)
    assert personal_data(None) is None and personal_data("") is None


def test_over_mqtt_the_rejection_says_why(
    broker: Broker, server: Server, make_locker: LockerFactory
) -> None:
    make_locker(broker.port)
    server.send("reservations", {**UPSERT, "recipient": "+33 6 12 34 56 78"})
    rejected = server.wait_event("reservation.rejected")
    assert "recipient looks like a phone number" in rejected["reason"]
    server.send("reservations", {**UPSERT, "recipient": "apt-12", "version": 2})
    server.wait_event("reservation.accepted")


__all__ = ["make_locker"]  # the MQTT fixture, shared with tests/test_mqtt.py


def test_export_then_erase_by_rest_refused_while_the_item_is_inside(
    app_client: tuple[TestClient, Runtime],
) -> None:
    client, runtime = app_client
    booking = {**BOOKING, "recipient": "foyer-4412", "reference": "COLIS 88412"}
    assert client.post("/api/v1/reservations", json=booking, headers=ADMIN).status_code == 200
    refused = client.delete(f"/api/v1/reservations/{RID}/personal-data", headers=ADMIN)
    assert refused.status_code == 409 and "cancel it first" in refused.text
    cid = client.post("/api/v1/deposits", json={"reservation_id": RID}, headers=ADMIN).json()
    door_cycle(client, runtime, cid["compartment"])
    wait_for(lambda: runtime.service.reservation(RID).state.value == "deposited")  # type: ignore[union-attr]
    refused = client.delete(f"/api/v1/reservations/{RID}/personal-data", headers=ADMIN)
    assert refused.status_code == 409 and "GDPR art. 17(3)" in refused.text
    code = runtime.service.codes_of(runtime.service.reservation(RID))["pickup_code"]  # type: ignore[arg-type]
    r = client.post("/api/v1/pickups", json={"code": code}, headers=KIOSK)
    door_cycle(client, runtime, r.json()["compartment"])
    wait_for(lambda: runtime.service.reservation(RID).state.value == "collected")  # type: ignore[union-attr]

    export = client.get(f"/api/v1/reservations/{RID}/export", headers=ADMIN)
    assert export.status_code == 200, export.text
    body = export.json()
    assert body["reservation"]["recipient"] == "foyer-4412"
    assert body["codes"] == {"pickup_code": "used"} and code not in export.text
    assert [e["type"] for e in body["events"]][:2] == ["reservation.accepted", "door.opened"]
    assert "parcel.collected" in [e["type"] for e in body["events"]]
    for role in ("demo-courier", "demo-kiosk"):
        assert (
            client.get(
                f"/api/v1/reservations/{RID}/export", headers={"Authorization": f"Bearer {role}"}
            ).status_code
            == 403
        )

    done = client.delete(f"/api/v1/reservations/{RID}/personal-data", headers=ADMIN)
    assert done.status_code == 200 and done.json()["erased"] == ["recipient", "reference"]
    after = client.get(f"/api/v1/reservations/{RID}/export", headers=ADMIN).json()
    assert after["reservation"]["recipient"] is None and after["reservation"]["reference"] is None
    erased = [e for e in after["events"] if e["type"] == "reservation.erased"]
    assert len(erased) == 1
    again = client.delete(f"/api/v1/reservations/{RID}/personal-data", headers=ADMIN)
    assert again.status_code == 200 and again.json()["erased"] == []
    assert (
        client.delete("/api/v1/reservations/nope/personal-data", headers=ADMIN).status_code == 404
    )


def test_the_erase_command_over_mqtt(
    broker: Broker, server: Server, make_locker: LockerFactory
) -> None:
    locker = make_locker(broker.port)
    server.send("reservations", UPSERT)
    server.wait_event("reservation.accepted")
    rid = str(UPSERT["reservation_id"])
    server.send("commands", {"type": "erase", "request_id": "q-21", "reservation_id": rid})
    failed = server.wait_event("command.failed", request_id="q-21")
    assert "cancel it first" in failed["reason"]
    server.send("reservations", {"type": "reservation.cancel", "reservation_id": rid, "version": 2})
    server.wait_event("reservation.cancelled")
    server.send("commands", {"type": "erase", "request_id": "q-22", "reservation_id": rid})
    server.wait_event("reservation.erased", reservation_id=rid)
    server.wait_event("command.done", request_id="q-22")
    res = locker.service.reservation(rid)
    assert res is not None and res.recipient is None and res.reference is None
    inside = {**UPSERT, "reservation_id": "R-in"}  # an item in its compartment
    server.send("reservations", inside)
    server.wait_event("reservation.accepted", reservation_id="R-in")
    cid = locker.service.deposit_by_courier("R-in")
    assert locker.sim is not None
    for is_open in (True, False):
        locker.sim.set_door(cid, is_open)
        wait_for(lambda o=is_open: locker.service.compartments_by_id()[cid].door_open is o)  # type: ignore[misc]
    server.wait_event("parcel.deposited", reservation_id="R-in")
    server.send("commands", {"type": "erase", "request_id": "q-23", "reservation_id": "R-in"})
    failed = server.wait_event("command.failed", request_id="q-23")
    assert "GDPR art. 17(3)" in failed["reason"] and cid in failed["reason"]
    held = locker.service.reservation("R-in")
    assert held is not None and held.recipient == UPSERT.get("recipient")


def raw(path: Path) -> bytes:
    """The bytes of the database file and of its write-ahead log."""
    wal = path.with_name(path.name + "-wal")
    return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


def test_an_erased_value_is_gone_from_the_file_its_wal_and_a_backup(
    app_client: tuple[TestClient, Runtime], tmp_path: Path
) -> None:
    client, runtime = app_client
    secret = b"foyer-secret-7731"
    booking = {**BOOKING, "recipient": secret.decode(), "reference": "COLIS-secret-4242"}
    assert client.post("/api/v1/reservations", json=booking, headers=ADMIN).status_code == 200
    r = client.delete(f"/api/v1/reservations/{RID}", headers=ADMIN)  # cancelled: final
    assert r.status_code == 200, r.text
    db = Path(runtime.settings.storage.path)
    assert secret in raw(db)  # it was written: the test can fail
    assert client.delete(f"/api/v1/reservations/{RID}/personal-data", headers=ADMIN).is_success
    wait_for(
        lambda: secret not in raw(db) and b"COLIS-secret-4242" not in raw(db),
        timeout=30,
        what="the erased values gone from the file and its WAL",
    )
    copy = tmp_path / "copy.db"
    backup(db, copy)
    assert secret not in copy.read_bytes() and b"COLIS-secret-4242" not in copy.read_bytes()
