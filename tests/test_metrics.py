"""``/metrics`` through the real app: values after real pickups, wrong codes and a lockout."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from api.app import create_app
from api.errors import CREDENTIAL_ROUTES
from firmware_bridge.kerong_sim import KerongCabinet
from locker.runtime import Runtime, build
from tests.conftest import ADMIN, COURIER, FAST_DOORS, KIOSK, NO_MQTT
from tests.helpers import settings_for, wait_for
from tests.test_api import book, door_cycle, hand, state_of

App = tuple[TestClient, Runtime]
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(client: TestClient, headers: dict[str, str] = ADMIN) -> tuple[str, Samples]:
    r = client.get("/metrics", headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    samples: Samples = {}
    for family in text_string_to_metric_families(r.text):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return r.text, samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


def test_counters_and_gauges_follow_a_pickup_wrong_codes_and_a_lockout(app_client: App) -> None:
    client, runtime = app_client
    _, before = scrape(client)
    assert value(before, "locker_pickups_total") == 0
    assert value(before, "locker_refusals_total", reason="unknown") == 0
    assert value(before, "locker_compartments") == 12

    book(client)
    cid = client.post("/api/v1/deposits", json={"reference": "COLIS-88412"}, headers=COURIER)
    cid = cid.json()["compartment"]
    door_cycle(client, runtime, cid)
    res = wait_for(lambda: (s := state_of(client, "R-2031"))["state"] == "deposited" and s)
    code = res["pickup_code"]
    assert client.post("/api/v1/pickups", json={"code": code}, headers=KIOSK).status_code == 200
    hand(client, cid, "open")
    wait_for(lambda: runtime.service.compartments_by_id()[cid].door_open, what="door open")
    _, mid = scrape(client)
    assert value(mid, "locker_doors_open") == 1
    hand(client, cid, "close")
    wait_for(lambda: state_of(client, "R-2031")["state"] == "collected", what="collected")
    wait_for(lambda: value(scrape(client)[1], "locker_pickups_total") == 1, what="counted")

    # at another terminal than the kiosk that collected (there: its re-open window)
    used = client.post("/api/v1/pickups", json={"code": code}, headers=ADMIN)
    assert used.status_code == 410
    wrong = [
        client.post("/api/v1/pickups", json={"code": f"0000000{i}"}, headers=KIOSK).status_code
        for i in range(1, 6)
    ]
    assert wrong == [404, 404, 404, 404, 429]
    text, after = scrape(client)

    assert value(after, "locker_door_openings_total", purpose="deposit") == 1
    assert value(after, "locker_door_openings_total", purpose="pickup") == 1
    assert value(after, "locker_deposits_total") == 1
    assert value(after, "locker_pickups_total") == 1
    assert value(after, "locker_refusals_total", reason="used") == 1
    assert value(after, "locker_refusals_total", reason="unknown") == 4
    assert value(after, "locker_refusals_total", reason="locked_out") == 1
    assert value(after, "locker_lockouts_total") == 1
    assert value(after, "locker_doors_open") == 0
    assert value(after, "locker_outbox_backlog") == runtime.store.backlog() > 0
    assert value(after, "locker_broker_connected") == 0  # MQTT off in this test
    pickups = value(
        after,
        "locker_http_request_duration_seconds_count",
        method="POST",
        route="/api/v1/pickups",
        status="2xx",
    )
    assert pickups == 1
    refused = ("POST", "/api/v1/pickups", "4xx")
    key = dict(zip(("method", "route", "status"), refused, strict=True))
    assert value(after, "locker_http_request_duration_seconds_count", **key) == 6
    by_id = {"method": "GET", "route": "/api/v1/reservations/{reservation_id}", "status": "2xx"}
    assert value(after, "locker_http_request_duration_seconds_count", **by_id) >= 2
    # route templates only: no reservation id, no code, no compartment in any label
    assert "R-2031" not in text and code not in text and "00000001" not in text


def test_door_alarms_and_out_of_service(app_client: App) -> None:
    client, runtime = app_client
    hand(client, "C4", "open")  # opened without a pulse: forced

    # NOTE: the mirror changes before the commit is on disk, the counters once it is:
    # wait on the counter itself, not on the compartment's state.
    def forced_counted() -> Samples | None:
        samples = scrape(client)[1]
        return samples if value(samples, "locker_door_alarms_total", kind="forced_open") else None

    samples = wait_for(forced_counted, what="forced_open counted")
    assert value(samples, "locker_door_alarms_total", kind="forced_open") == 1
    assert not runtime.service.compartments_by_id()["C4"].in_service
    assert value(samples, "locker_door_alarms_total", kind="jammed") == 0
    assert value(samples, "locker_compartments_out_of_service") == 1
    assert value(samples, "locker_doors_open") == 1


def test_access_loopback_or_a_scraper_token(tmp_path: Path) -> None:
    tokens = {
        "admin": ["demo-admin"],
        "kiosk": ["demo-kiosk"],
        "metrics": ["scraper-token-0123456789"],
    }
    settings = settings_for(tmp_path, doors=FAST_DOORS, mqtt=NO_MQTT, api={"tokens": tokens})
    with TestClient(create_app(build(settings, True)), client=("192.0.2.7", 50000)) as remote:
        assert remote.get("/metrics").status_code == 401
        assert remote.get("/metrics", headers=KIOSK).status_code == 403
        scraper = {"Authorization": "Bearer scraper-token-0123456789"}
        scrape(remote, scraper)
        scrape(remote, ADMIN)
        # the metrics role reads metrics and nothing else
        assert remote.get("/api/v1/compartments", headers=scraper).status_code == 403
    with TestClient(create_app(build(settings, True)), client=("127.0.0.1", 50000)) as local:
        scrape(local, {})


def test_door_hardware_and_scanner_health_are_gauges(tmp_path: Path) -> None:
    """The ALARMs of the hardware (a Kerong board silent, the bus or the scanner gone)
    reach Prometheus too, not only the log and /healthz."""
    scanner = {"enabled": True, "port": str(tmp_path / "no-scanner"), "max_line": 64}
    doors = {**FAST_DOORS, "hardware": "kerong"}
    settings = settings_for(tmp_path, doors=doors, mqtt=NO_MQTT, scanner=scanner)
    runtime = build(settings, True)
    with TestClient(create_app(runtime)) as client:
        samples = scrape(client)[1]
        assert value(samples, "locker_door_hardware_ok") == 1
        assert value(samples, "locker_scanner_connected") == 0  # no device at that path
        cabinet = runtime.sim
        assert isinstance(cabinet, KerongCabinet)
        cabinet.sim.absent.add(0)  # board 0 stops answering
        wait_for(
            lambda: value(scrape(client)[1], "locker_door_hardware_ok") == 0,
            what="board 0 unreachable in /metrics",
        )


def test_bodies_fastapi_refuses_on_code_routes_count_as_invalid(app_client: App) -> None:
    """A 422 FastAPI answers before our code runs (a 65-character code, a PIN of two
    digits, a body that is not JSON) is a refused attempt too, as the domain's own
    refusal of a malformed code is; FastAPI's answer keeps its shape."""
    client, _ = app_client

    def invalid() -> float:
        return value(scrape(client)[1], "locker_refusals_total", reason="invalid")

    assert invalid() == 0
    r = client.post("/api/v1/pickups", json={"code": "1" * 65}, headers=KIOSK)
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert list(r.json()) == ["detail"] and detail[0]["loc"] == ["body", "code"]
    assert detail[0]["type"] == "string_too_long"
    assert invalid() == 1
    pin = client.post("/api/v1/courier/session", json={"pin": "12"}, headers=KIOSK)
    assert pin.status_code == 422 and pin.json()["detail"][0]["loc"] == ["body", "pin"]
    assert invalid() == 2
    headers = {**KIOSK, "Content-Type": "application/json"}
    garbled = client.post("/api/v1/kiosk/codes", content=b"{not json", headers=headers)
    assert garbled.status_code == 422 and garbled.json()["detail"][0]["type"] == "json_invalid"
    assert invalid() == 3
    # the domain's refusal of a malformed code is counted once, as before
    short = client.post("/api/v1/pickups", json={"code": "1234"}, headers=KIOSK)
    assert short.status_code == 422 and short.json()["error"] == "invalid"
    assert invalid() == 4
    # a malformed booking or query is no attempt to open a door: not a refusal
    assert (
        client.post("/api/v1/reservations", json={"version": "x"}, headers=ADMIN).status_code == 422
    )
    assert client.get("/api/v1/events?after_seq=x", headers=ADMIN).status_code == 422
    assert invalid() == 4


def test_the_credential_routes_exist(app_client: App) -> None:
    client, _ = app_client
    paths = client.get("/openapi.json").json()["paths"]
    routes = {(method.upper(), path) for path, ops in paths.items() for method in ops}
    assert routes >= CREDENTIAL_ROUTES, CREDENTIAL_ROUTES - routes
