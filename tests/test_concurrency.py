"""Racing threads never share a compartment or open a door twice for one code."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

from locker.domain.errors import DomainError
from locker.domain.model import Size
from tests.conftest import Harness
from tests.helpers import wait_for
from tests.procs import ServiceProcess
from tests.test_lifecycle import deposit_and_close, upsert

THREADS = 16


def race(calls: list[Callable[[], object]]) -> list[object]:
    """Start every call at the same moment; answer results or the domain errors raised."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], object]) -> object:
        barrier.wait()
        try:
            return call()
        except DomainError as exc:
            return exc

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def test_one_code_opens_once_among_racing_kiosks(harness: Harness) -> None:
    upsert(harness)
    code = deposit_and_close(harness)
    results = race([partial(harness.service.pickup, f"kiosk-{i}@x", code) for i in range(THREADS)])
    assert [r for r in results if r == "A3"] == ["A3"]
    assert harness.doors.unlocked == ["A3", "A3"]  # the deposit and one pickup


def test_the_last_compartment_goes_to_one_reservation(harness: Harness) -> None:
    for i in range(11):
        upsert(harness, f"F{i}", size=Size.S)
    results = race([partial(upsert, harness, f"L{i}", size=Size.S) for i in range(THREADS)])
    accepted = [r for r in results if not isinstance(r, DomainError)]
    assert len(accepted) == 1
    holders = [r.compartment for r in harness.service.reservations()]
    assert len(holders) == len(set(holders)) == 12


def test_courier_kiosk_and_door_callback_at_once(harness: Harness) -> None:
    upsert(harness, "A")
    code = deposit_and_close(harness, "A")
    upsert(harness, "B")
    results = race(
        [
            lambda: harness.service.pickup("kiosk-0@1", code),
            lambda: harness.service.pickup("kiosk-1@2", code),
            lambda: harness.service.deposit_by_courier("B"),
            lambda: harness.service.deposit_by_courier("B"),
            lambda: harness.service.door_changed("C4", True),
        ]
    )
    assert results[:2].count("A3") == 1
    assert results[2:4].count("C2") == 1
    assert sorted(harness.doors.unlocked) == ["A3", "A3", "C2"]


def test_racing_http_clients_open_one_door_once(tmp_path: Path) -> None:
    svc = ServiceProcess(tmp_path).start()
    try:
        admin, courier = svc.client("demo-admin"), svc.client("demo-courier")
        booking = {
            "reservation_id": "R-1",
            "version": 1,
            "kind": "delivery",
            "size": "M",
            "expires_at": "2030-12-01T18:00:00+01:00",
        }
        assert admin.post("/api/v1/reservations", json=booking).status_code == 200
        cid = courier.post("/api/v1/deposits", json={"reservation_id": "R-1"}).json()["compartment"]
        hand = svc.client()
        hand.post(f"/api/v1/sim/doors/{cid}/open")
        wait_for(lambda: _door(svc, cid)["open"] and _opened(svc, cid), what="door open")
        hand.post(f"/api/v1/sim/doors/{cid}/close")
        wait_for(lambda: admin.get("/api/v1/reservations/R-1").json()["state"] == "deposited")
        code = admin.get("/api/v1/reservations/R-1").json()["pickup_code"]
        kiosk = svc.client("demo-kiosk")
        statuses = race(
            [lambda: kiosk.post("/api/v1/pickups", json={"code": code}).status_code] * THREADS
        )
        assert statuses.count(200) == 1 and set(statuses) <= {200, 410}
        wait_for(lambda: _door(svc, cid)["relay_pulses"] == 2, what="second pulse")
        assert _door(svc, cid)["relay_pulses"] == 2
    finally:
        svc.stop()


def _door(svc: ServiceProcess, cid: str) -> dict[str, object]:
    return next(d for d in svc.client().get("/api/v1/sim/doors").json() if d["id"] == cid)


def _opened(svc: ServiceProcess, cid: str) -> bool:
    comps = svc.client("demo-admin").get("/api/v1/compartments").json()
    return bool(next(c["door_open"] for c in comps if c["id"] == cid))
