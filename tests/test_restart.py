"""The service process stopped and started again keeps reservations, codes and seq."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import wait_for
from tests.procs import ServiceProcess

BOOKING = {
    "reservation_id": "R-7",
    "version": 1,
    "kind": "delivery",
    "size": "S",
    "reference": "COLIS-7",
    "expires_at": "2030-12-01T18:00:00+01:00",
}


@pytest.fixture
def service(tmp_path: Path) -> Iterator[ServiceProcess]:
    proc = ServiceProcess(tmp_path)
    yield proc
    proc.stop(signal.SIGKILL)


def _deposit(svc: ServiceProcess) -> str:
    admin, courier = svc.client("demo-admin"), svc.client("demo-courier")
    assert admin.post("/api/v1/reservations", json=BOOKING).status_code == 200
    cid = courier.post("/api/v1/deposits", json={"reference": "COLIS-7"}).json()["compartment"]
    svc.client().post(f"/api/v1/sim/doors/{cid}/open")
    wait_for(lambda: _door_open(svc, cid), what="door open")
    svc.client().post(f"/api/v1/sim/doors/{cid}/close")
    wait_for(lambda: admin.get("/api/v1/reservations/R-7").json()["state"] == "deposited")
    return str(admin.get("/api/v1/reservations/R-7").json()["pickup_code"])


def _door_open(svc: ServiceProcess, cid: str) -> bool:
    comps = svc.client("demo-admin").get("/api/v1/compartments").json()
    return bool(next(c["door_open"] for c in comps if c["id"] == cid))


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_restart_keeps_reservations_codes_and_seq(service: ServiceProcess, sig: int) -> None:
    service.start()
    code = _deposit(service)
    before = service.client("demo-admin").get("/api/v1/events").json()
    service.stop(sig)

    service.start()
    admin = service.client("demo-admin")
    res = admin.get("/api/v1/reservations/R-7").json()
    assert res["state"] == "deposited" and res["pickup_code"] == code
    assert admin.get("/api/v1/events").json() == before
    kiosk = service.client("demo-kiosk")
    opened = kiosk.post("/api/v1/pickups", json={"code": code}).json()
    assert opened == {"compartment": res["compartment"]}
    after = admin.get("/api/v1/events").json()
    assert [e["seq"] for e in after] == list(range(1, len(before) + 2))


def test_forwarded_for_does_not_make_a_new_terminal(service: ServiceProcess) -> None:
    service.start()
    kiosk = service.client("demo-kiosk")
    codes = []
    for i in range(5):
        r = kiosk.post(
            "/api/v1/pickups",
            json={"code": "12345678"},
            headers={"X-Forwarded-For": f"203.0.113.{i}"},
        )
        codes.append(r.status_code)
    assert codes == [404, 404, 404, 404, 429]
    assert list(service.client("demo-admin").get("/api/v1/lockouts").json()) == [
        "kiosk-0@127.0.0.1"
    ]
