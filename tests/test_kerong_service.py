"""``locker serve --simulate --hardware kerong``: the real service drives simulated Kerong
boards over a pseudo-terminal; a parcel goes from booking to pickup through REST."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import wait_for
from tests.procs import ServiceProcess
from tests.test_restart import BOOKING


@pytest.fixture
def service(tmp_path: Path) -> Iterator[ServiceProcess]:
    proc = ServiceProcess(tmp_path, args=("--hardware", "kerong"))
    yield proc.start()
    proc.stop(signal.SIGKILL)


def _door(svc: ServiceProcess, cid: str) -> dict[str, Any]:
    doors: list[dict[str, Any]] = svc.client().get("/api/v1/sim/doors").json()
    return next(d for d in doors if d["id"] == cid)


def _opened_and_shut(svc: ServiceProcess, cid: str, unlocks: int) -> None:
    """The board got the unlock, its hook popped (the service sees the door open), and a
    hand pushes the door shut."""
    admin = svc.client("demo-admin")
    wait_for(lambda: _door(svc, cid)["relay_pulses"] == unlocks, what=f"unlock {unlocks}")
    assert _door(svc, cid)["open"] is True  # a popped hook reads open
    wait_for(
        lambda: any(
            c["id"] == cid and c["door_open"] for c in admin.get("/api/v1/compartments").json()
        ),
        what="the service polled the open door",
    )
    svc.client().post(f"/api/v1/sim/doors/{cid}/open")  # the hand pulls it wide: no change
    svc.client().post(f"/api/v1/sim/doors/{cid}/close")


def test_booking_deposit_pickup_on_kerong_boards(service: ServiceProcess) -> None:
    health = service.client().get("/healthz").json()
    assert health["doors"]["hardware"] == "kerong" and health["doors"]["ok"] is True
    assert health["doors"]["boards"]["0"]["reachable"] is True  # 12 compartments: board 0

    admin, courier = service.client("demo-admin"), service.client("demo-courier")
    assert admin.post("/api/v1/reservations", json=BOOKING).json()["state"] == "accepted"
    cid = courier.post("/api/v1/deposits", json={"reference": "COLIS-7"}).json()["compartment"]
    assert _door(service, cid)["board"] == 0
    _opened_and_shut(service, cid, unlocks=1)

    def state() -> dict[str, Any]:
        body: dict[str, Any] = admin.get("/api/v1/reservations/R-7").json()
        return body

    wait_for(lambda: state()["state"] == "deposited", what="deposit complete on door shut")

    kiosk = service.client("demo-kiosk")
    opened = kiosk.post("/api/v1/pickups", json={"code": state()["pickup_code"]})
    assert opened.json() == {"compartment": cid}
    _opened_and_shut(service, cid, unlocks=2)
    wait_for(lambda: state()["state"] == "collected", what="pickup complete on door shut")
    events = [e["type"] for e in admin.get("/api/v1/events").json()]
    assert events == [
        "reservation.accepted",
        "door.opened",
        "parcel.deposited",
        "door.opened",
        "parcel.collected",
    ]
    assert "kerong doors" in service.log_path.read_text()
