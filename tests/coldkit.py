"""A chilled cabinet for the cold-chain tests: the real runtime and app on a fixed clock,
its probes w1_slave files in a fake sysfs tree read by w1thermsensor."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from api.app import create_app
from locker.runtime import Runtime, build
from tests.conftest import ADMIN, COURIER, FAST_DOORS, KIOSK, NO_MQTT
from tests.helpers import T0, FixedClock, settings_for, wait_for

BASKET = {
    "reservation_id": "P-1",
    "version": 1,
    "kind": "delivery",
    "size": "M",
    "chilled": True,
    "recipient": "apt-12",
    "reference": "PANIER-1",
    "expires_at": "2026-12-01T18:00:00+01:00",  # about 32 h after T0
}


class Cabinet:
    """One started service; ``restart`` stops it and starts a new one on the same files."""

    def __init__(self, tmp: Path, clock: FixedClock | None = None, **overrides: Any) -> None:
        self.tmp = tmp
        self.clock = clock or FixedClock(T0)
        self.overrides = {"doors": FAST_DOORS, "mqtt": NO_MQTT, **overrides}
        self.runtime: Runtime
        self.client: TestClient
        self._start()

    def _start(self) -> None:
        settings = settings_for(self.tmp, **self.overrides)
        self.runtime = build(settings, simulate=True, clock=self.clock)
        self.client = TestClient(create_app(self.runtime))
        self.client.__enter__()

    def stop(self) -> None:
        self.client.__exit__(None, None, None)

    def restart(self, after_s: float = 0.0) -> None:
        """Service stopped, the clock moved on by ``after_s``, started again."""
        self.stop()
        self.clock.advance(after_s)
        self._start()

    # -- the zone -------------------------------------------------------------
    def zone(self, zone: str = "Z1", **body: Any) -> Any:
        r = self.client.post(f"/api/v1/sim/zones/{zone}", json=body)
        assert r.status_code == 200, r.text
        return r.json()

    def hold(self, celsius: float, minutes: float, zone: str = "Z1", step_s: float = 30) -> None:
        """The zone at ``celsius`` for ``minutes``, sampled every ``step_s`` on the clock."""
        for _ in range(round(minutes * 60 / step_s)):
            self.clock.advance(step_s)
            self.zone(zone, celsius=celsius)

    # -- people -----------------------------------------------------------------
    def book(self, **changes: Any) -> Any:
        return self.client.post("/api/v1/reservations", json={**BASKET, **changes}, headers=ADMIN)

    def deposit(self, rid: str = "P-1") -> str:
        r = self.client.post("/api/v1/deposits", json={"reservation_id": rid}, headers=COURIER)
        assert r.status_code == 200, r.text
        cid: str = r.json()["compartment"]
        self.door_cycle(cid)
        return cid

    def pickup(self, rid: str = "P-1") -> Any:
        code = self.reservation(rid)["pickup_code"]
        return self.client.post("/api/v1/kiosk/codes", json={"code": code}, headers=KIOSK)

    def door_cycle(self, cid: str) -> None:
        service = self.runtime.service
        assert self.client.post(f"/api/v1/sim/doors/{cid}/open").status_code == 200
        wait_for(lambda: service.compartments_by_id()[cid].door_open, what=f"{cid} open")
        assert self.client.post(f"/api/v1/sim/doors/{cid}/close").status_code == 200
        wait_for(lambda: not service.compartments_by_id()[cid].door_open, what=f"{cid} shut")

    def reservation(self, rid: str = "P-1") -> Any:
        return self.client.get(f"/api/v1/reservations/{rid}", headers=ADMIN).json()

    def events(self, *types: str) -> list[dict[str, Any]]:
        body = self.client.get("/api/v1/events?after_seq=0&limit=1000", headers=ADMIN).json()
        return [e for e in body if not types or e["type"] in types]
