"""A door the hardware cannot read (a Kerong board silent at start) is unknown, not shut:
its compartment is out of service ("board not answering"), nothing is booked into it and
no code opens it, until its board answers; then it is read as at start and comes back in
service, unless staff changed it meanwhile."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from firmware_bridge.kerong_sim import KerongCabinet, KerongSimulator
from locker.domain.errors import Unavailable
from locker.domain.model import Size
from locker.domain.unknown_doors import REASON
from locker.runtime import Runtime, build
from tests.conftest import ADMIN, FAST_DOORS, NO_MQTT, Harness
from tests.helpers import settings_for, wait_for
from tests.test_api import BOOKING
from tests.test_lifecycle import deposit_and_close, types, upsert

# -- the domain, on recording doors ------------------------------------------------


def _comp(harness: Harness, cid: str) -> Any:
    return harness.service.compartments_by_id()[cid]


def test_unknown_doors_are_out_of_service_not_shut(harness: Harness) -> None:
    upsert(harness)
    code = deposit_and_close(harness)  # in A3
    harness.service.pickup("t", code)
    harness.service.door_changed("A3", True)  # the resident has the door open...
    harness.service.set_service("C4", False, reason="hinge")  # staff's own reason
    harness.clock.advance(60)  # ...when the controller restarts, its board silent
    service = harness.reopen()
    service.reconcile_doors(unknown={"A3", "A4", "C4"})
    a3, a4 = _comp(harness, "A3"), _comp(harness, "A4")
    assert a3.door_open and a3.service_reason == REASON and not a3.in_service  # not taken as shut
    assert not a4.in_service and a4.service_reason == REASON
    assert _comp(harness, "C4").service_reason == "hinge"
    assert "parcel.collected" not in types(harness)  # nothing completed on a guess
    free = {"S": 0, "M": 0, "L": 0}
    for c in harness.settings.compartments:
        if c.id not in ("A3", "A4", "C4"):
            free[c.size.value] += 1
    assert service.free_counts() == free
    upsert(harness, "R-2", size=Size.L)
    placed = service.reservation("R-2")
    assert placed is not None and placed.compartment not in ("A3", "A4", "C4")

    harness.doors.levels["A4"] = True  # found open when its board answers
    service.doors_answered(["A3", "A4", "C4"])  # A3 reads shut: the pickup completes
    assert types(harness)[-2:] == ["parcel.collected", "door.left_open"]
    assert _comp(harness, "A3").in_service and not _comp(harness, "A3").door_open
    a4 = _comp(harness, "A4")
    assert a4.in_service and a4.door_open  # open: not free, and not forced
    assert "door.forced_open" not in types(harness)
    assert _comp(harness, "C4").service_reason == "hinge"  # staff's: left alone


def test_an_opening_on_an_unknown_door_is_interrupted_and_its_code_given_back(
    harness: Harness,
) -> None:
    upsert(harness)
    code = deposit_and_close(harness)
    harness.service.pickup("t", code)  # pulsed; the door not seen open yet
    pulses = len(harness.doors.unlocked)
    service = harness.reopen()
    service.reconcile_doors(unknown={"A3"})
    service.tick()
    assert len(harness.doors.unlocked) == pulses  # never pulsed for nobody
    assert types(harness)[-1] == "door.jammed"
    assert _comp(harness, "A3").service_reason == "interrupted door cycle"  # staff look
    service.doors_answered(["A3"])
    assert not _comp(harness, "A3").in_service  # not the controller's reason: stays out
    with pytest.raises(Unavailable):
        service.pickup("t", code)
    service.set_service("A3", True)
    assert service.pickup("t", code) == "A3"  # the code was given back


def test_a_door_read_at_start_that_was_out_for_a_silent_board_comes_back(
    harness: Harness,
) -> None:
    harness.service.reconcile_doors(unknown={"B1"})
    assert not _comp(harness, "B1").in_service
    harness.reopen().reconcile_doors()  # restarted: the board answers this time
    assert _comp(harness, "B1").in_service and _comp(harness, "B1").service_reason is None


# -- the real runtime and app, on the Kerong simulator -------------------------------


@pytest.fixture
def silent_at_start(monkeypatch: pytest.MonkeyPatch) -> None:
    """The simulated boards do not answer from the start (power not on yet)."""
    real = KerongSimulator.__init__

    def silent(self: KerongSimulator, boards: Iterable[int], **kw: Any) -> None:
        real(self, boards, **kw)
        self.absent.update(self.boards)

    monkeypatch.setattr(KerongSimulator, "__init__", silent)


@pytest.fixture
def kerong_app(tmp_path: Path, silent_at_start: None) -> Iterator[tuple[TestClient, Runtime]]:
    doors = {**FAST_DOORS, "hardware": "kerong"}
    runtime = build(settings_for(tmp_path, doors=doors, mqtt=NO_MQTT), simulate=True)
    with TestClient(create_app(runtime)) as client:
        yield client, runtime


def _compartments(client: TestClient) -> dict[str, dict[str, Any]]:
    return {c["id"]: c for c in client.get("/api/v1/compartments", headers=ADMIN).json()}


def test_kerong_board_silent_at_start_then_answering(
    kerong_app: tuple[TestClient, Runtime],
) -> None:
    client, runtime = kerong_app
    cabinet = runtime.sim
    assert isinstance(cabinet, KerongCabinet)
    comps = _compartments(client)
    assert len(comps) == 12
    assert all(
        not c["in_service"] and c["service_reason"] == REASON and c["status"] == "out_of_service"
        for c in comps.values()
    ), comps
    health = client.get("/healthz")
    assert health.status_code == 503
    body = health.json()
    assert body["ok"] is False and body["doors"]["boards"]["0"]["reachable"] is False
    assert body["free"] == {"S": 0, "M": 0, "L": 0}
    refused = client.post("/api/v1/reservations", json=BOOKING, headers=ADMIN)
    assert refused.status_code == 409, refused.text  # nowhere to put it: not allocated
    put = client.put(
        "/api/v1/compartments/C4/service",
        json={"in_service": False, "reason": "hinge"},
        headers=ADMIN,
    )
    assert put.status_code == 200
    cabinet.set_door("A1", is_open=True)  # someone pulled A1 open meanwhile

    cabinet.sim.absent.clear()  # the board's power comes on
    wait_for(
        lambda: sum(c["in_service"] for c in _compartments(client).values()) == 11,
        timeout=30,
        what="back in service once the board answers",
    )
    comps = _compartments(client)
    assert comps["C4"]["service_reason"] == "hinge"  # staff's own reason: left alone
    assert comps["A1"]["door_open"] is True and comps["A1"]["in_service"] is True
    events = [e["type"] for e in client.get("/api/v1/events", headers=ADMIN).json()]
    assert "door.left_open" in events and "door.forced_open" not in events
    wait_for(lambda: client.get("/healthz").status_code == 200, timeout=30, what="healthy")
    assert client.get("/healthz").json()["ok"] is True
    accepted = client.post("/api/v1/reservations", json=BOOKING, headers=ADMIN)
    assert accepted.status_code == 200 and accepted.json()["state"] == "accepted"
