"""The cold chain through the real service: probes read by w1thermsensor from a fake sysfs
tree, the real app and SQLite, on a fixed clock (issue 14, decisions 26, 29, 32 and 34)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.coldkit import Cabinet
from tests.conftest import ADMIN, COURIER
from tests.helpers import wait_for

TWO_ZONES = [
    {"id": "Z1", "sensor": "28-0316a2b4c5d6", "compartments": ["B2"]},
    {"id": "Z2", "sensor": "28-0316a2b4c5d7", "compartments": ["B3"]},
]


@pytest.fixture
def cab(tmp_path: Path) -> Iterator[Cabinet]:
    cabinet = Cabinet(tmp_path)
    cabinet.zone(celsius=3.0)
    yield cabinet
    cabinet.stop()


def deposited(cab: Cabinet, **booking: Any) -> str:
    r = cab.book(**booking)
    assert r.status_code == 200, r.text
    return cab.deposit(booking.get("reservation_id", "P-1"))


def kinds(cab: Cabinet, *types: str) -> list[str]:
    return [e["type"] for e in cab.events(*types)]


def test_basket_booked_deposited_collected(cab: Cabinet) -> None:
    r = cab.book()
    assert r.status_code == 200, r.text
    assert r.json()["compartment"] in ("B2", "B3")
    cid = cab.deposit()
    res = cab.reservation()
    assert res["state"] == "deposited" and res["cold"]["minutes_above"] == 0
    cab.hold(3.0, 5)
    r = cab.pickup()
    assert r.status_code == 200, r.text
    assert r.json()["compartment"] == cid and r.json().get("warning") is None
    assert cab.reservation()["cold"]["max_celsius"] < 3.2


def test_excursion_shorter_than_the_grace_raises_no_alarm(cab: Cabinet) -> None:
    cab.hold(5.0, 14)
    cab.hold(3.0, 2)
    assert kinds(cab, "temperature.alarm", "temperature.ok") == []


def test_a_longer_excursion_alarms_once_and_ends_below_the_hysteresis(cab: Cabinet) -> None:
    cab.hold(5.0, 20)
    alarms = cab.events("temperature.alarm")
    assert len(alarms) == 1  # one per excursion, not one per sample
    assert alarms[0]["zone"] == "Z1" and alarms[0]["compartments"] == ["B2", "B3"]
    assert alarms[0]["limit_c"] == 4.0 and 4.8 < alarms[0]["celsius"] < 5.2
    since = datetime.fromisoformat(alarms[0]["since"])
    assert datetime.fromisoformat(alarms[0]["at"]) - since > timedelta(minutes=15)
    cab.hold(3.8, 2)  # under the limit, not by the hysteresis: still in alarm
    assert kinds(cab, "temperature.ok") == []
    cab.hold(3.0, 1)
    (ok,) = cab.events("temperature.ok")
    alarm_at = datetime.fromisoformat(alarms[0]["at"])
    lasted = (datetime.fromisoformat(ok["at"]) - alarm_at).total_seconds() / 60
    assert ok["alarm_minutes"] == round(lasted, 1) and 6 <= lasted <= 8 and ok["zone"] == "Z1"
    assert cab.book().status_code == 200  # healthy again: chilled items go in


def test_a_critical_spike_alarms_at_once(cab: Cabinet) -> None:
    cab.hold(9.0, 0.5)
    (alarm,) = cab.events("temperature.alarm")
    assert alarm["celsius"] > 8.0
    r = cab.book()
    assert r.status_code == 409 and "no healthy chilled compartment" in r.json()["detail"]


def test_one_spike_above_the_tolerance_is_handling_two_in_a_row_break(cab: Cabinet) -> None:
    cid = deposited(cab)
    cab.hold(9.5, 0.5)  # a door opened on a warm afternoon
    cab.hold(3.0, 2)
    res = cab.reservation()
    assert res["state"] == "deposited" and not res["cold"]["broken"]
    assert 0 < res["cold"]["minutes_above"] <= 1.0
    cab.hold(9.5, 1)  # two readings in a row above max_c + 2
    res = cab.reservation()
    assert res["state"] == "held" and res["held_reason"] == "cold_chain"
    (broken,) = cab.events("cold_chain.broken")
    assert broken["reservation_id"] == "P-1" and broken["compartment"] == cid
    assert broken["max_celsius"] > 9.0
    (held,) = cab.events("reservation.held")
    assert held["reason"] == "cold_chain" and held["compartment"] == cid


def test_a_held_basket_is_refused_without_a_lockout_then_released(cab: Cabinet) -> None:
    cid = deposited(cab)
    cab.hold(12.0, 1)
    for _ in range(6):  # more than the 5 wrong codes of a lockout: it is the right code
        r = cab.pickup()
        assert r.status_code == 409, r.text
        body = r.json()
        assert body["error"] == "held" and body["reason"] == "cold_chain"
        assert body["message_fr"].startswith("Ce panier n'a pas pu être conservé au froid")
    assert cab.client.get("/api/v1/lockouts", headers=ADMIN).json() == {}
    assert cab.runtime.sim is not None and cab.runtime.sim.relay_pulses(cid) == 1  # deposit
    snapshot = cab.client.get("/api/v1/compartments", headers=ADMIN).json()
    assert next(c for c in snapshot if c["id"] == cid)["status"] == "held"
    r = cab.client.post("/api/v1/reservations/P-1/release", headers=ADMIN)
    assert r.status_code == 200 and r.json()["state"] == "deposited"
    (released,) = cab.events("reservation.released")
    assert released["reason"] == "cold_chain" and released["compartment"] == cid
    cab.hold(3.0, 1)
    assert cab.pickup().status_code == 200  # staff checked it: it is handed over


def test_a_held_basket_is_taken_back(cab: Cabinet) -> None:
    cid = deposited(cab)
    cab.hold(12.0, 1)
    r = cab.client.post("/api/v1/reservations/P-1/return", headers=ADMIN)
    assert r.status_code == 200 and r.json()["compartment"] == cid
    cab.door_cycle(cid)
    assert cab.reservation()["state"] == "returned"
    assert kinds(cab, "parcel.returned") == ["parcel.returned"]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"fault": "85"}, "85"),
        ({"fault": "crc"}, "crc"),
        ({"fault": "missing"}, "missing"),
        ({"celsius": -40.0}, "range"),
        ({"celsius": 61.0}, "range"),
    ],
)
def test_each_fault_is_not_a_temperature(cab: Cabinet, body: dict[str, Any], reason: str) -> None:
    cab.clock.advance(30)
    answer = cab.zone(**body)
    (fault,) = cab.events("sensor.fault")
    assert fault["zone"] == "Z1" and fault["reason"] == reason
    assert kinds(cab, "temperature.alarm") == []  # 85 °C is not a hot fridge
    temps = cab.client.get("/api/v1/temperatures", headers=ADMIN).json()
    assert temps["zones"][0]["celsius"] is None and temps["zones"][0]["fault"] == reason
    assert temps["readings"][-1]["celsius"] is None and temps["readings"][-1]["fault"] == reason
    r = cab.book()
    assert r.status_code == 409
    assert (
        f"no healthy chilled compartment: the sensor of zone Z1 is faulty ({reason})"
        in (r.json()["detail"])
    )
    assert cab.book(chilled=False, reservation_id="N-1", reference="N-1").status_code == 200
    cab.clock.advance(30)
    cab.zone(celsius=3.0, fault=None)
    (ok,) = cab.events("sensor.ok")
    assert ok["reason"] == reason
    assert answer["zone"] == "Z1"
    assert cab.book().status_code == 200


def test_a_stuck_probe_is_a_fault(cab: Cabinet) -> None:
    cab.clock.advance(30)
    cab.zone(celsius=3.0, fault="stuck")  # the same value, read after read
    cab.hold(3.0, 60, step_s=600)  # the sim route keeps the fault only when told: set again
    assert kinds(cab, "sensor.fault") == []  # a steady probe still drifts: noise cleared it
    cab.zone(celsius=3.0, fault="stuck")
    for _ in range(25):  # 25 × 10 min > stuck_s (4 h)
        cab.clock.advance(600)
        cab.zone(fault="stuck")
    (fault,) = cab.events("sensor.fault")
    assert fault["reason"] == "stuck"


def test_a_faulty_probe_counts_as_above_for_the_items_inside(cab: Cabinet) -> None:
    deposited(cab)
    cab.clock.advance(30)
    cab.zone(fault="missing")
    for _ in range(20):
        cab.clock.advance(60)
        cab.zone(fault="missing")
    res = cab.reservation()
    assert res["state"] == "deposited" and 20 <= res["cold"]["minutes_above"] <= 21.5
    for _ in range(11):
        cab.clock.advance(60)
        cab.zone(fault="missing")
    assert cab.reservation()["state"] == "held"


def test_a_power_cut_during_an_excursion_counts_the_gap(cab: Cabinet) -> None:
    deposited(cab)
    cab.hold(5.0, 10)  # 10 min above 4 °C
    cab.restart(after_s=25 * 60)  # the power came back 25 min later
    cab.zone(celsius=3.0)
    res = cab.reservation()
    assert res["state"] == "held" and res["cold"]["minutes_above"] > 30
    assert kinds(cab, "cold_chain.broken") == ["cold_chain.broken"]


def test_a_short_restart_costs_a_few_minutes_only(cab: Cabinet) -> None:
    deposited(cab)
    cab.restart(after_s=3 * 60)
    cab.zone(celsius=3.0)
    res = cab.reservation()
    assert res["state"] == "deposited" and 1 < res["cold"]["minutes_above"] < 3.5
    assert cab.pickup().status_code == 200


def test_after_a_restart_on_an_untrusted_clock_the_basket_waits(cab: Cabinet) -> None:
    deposited(cab)
    cab.clock.is_trusted = False
    cab.restart(after_s=20 * 60)  # a power cut of 20 minutes; the Pi has no RTC
    cab.zone(celsius=3.0)
    r = cab.pickup()
    assert r.status_code == 503 and r.json()["error"] == "cold_pending"
    assert "vérifie le froid" in r.json()["message_fr"]
    res = cab.reservation()
    assert res["state"] == "deposited" and res["cold"]["minutes_above"] == 0  # not yet
    cab.clock.is_trusted = True  # NTP answered
    cab.clock.advance(30)
    cab.zone(celsius=3.0)
    res = cab.reservation()
    assert 19 <= res["cold"]["minutes_above"] <= 20  # the outage counted, once
    assert cab.pickup().status_code == 200


def test_a_warm_fridge_holds_its_baskets_while_the_clock_is_untrusted(cab: Cabinet) -> None:
    """NTP lost mid-run (a rural 4G link down overnight): samples still count."""
    deposited(cab)
    cab.clock.is_trusted = False
    cab.hold(9.5, 1)
    assert cab.reservation()["state"] == "held"
    assert cab.pickup().status_code == 409


def test_a_pickup_right_after_one_spike_is_not_a_second_reading(cab: Cabinet) -> None:
    deposited(cab)
    cab.hold(9.5, 0.5)
    cab.clock.advance(20)
    r = cab.pickup()  # the last reading is the spike: it counts once, not twice
    assert r.status_code == 200, r.text


def test_a_released_basket_can_be_held_again(cab: Cabinet) -> None:
    deposited(cab)
    cab.hold(12.0, 1)
    assert cab.client.post("/api/v1/reservations/P-1/release", headers=ADMIN).is_success
    cab.hold(5.0, 20)  # within the allowance that starts again
    assert cab.reservation()["state"] == "deposited"
    cab.hold(5.0, 11)  # past it: the fridge failed again
    assert cab.reservation()["state"] == "held"
    assert kinds(cab, "reservation.held") == ["reservation.held"] * 2


def test_a_new_lower_limit_moves_an_accepted_basket(tmp_path: Path) -> None:
    zones = [{**TWO_ZONES[0], "limit_c": 6.0}, {**TWO_ZONES[1], "limit_c": 2.0}]
    cab = Cabinet(tmp_path, zones=zones)
    try:
        cab.zone("Z1", celsius=1.5)
        cab.zone("Z2", celsius=1.5)
        assert cab.book(max_c=6.0).json()["compartment"] == "B2"
        r = cab.book(version=2, max_c=2.0)
        assert r.status_code == 200 and r.json()["compartment"] == "B3"
        assert r.json()["cold"]["max_c"] == 2.0
    finally:
        cab.stop()


def test_dwell_caps_the_deadline_of_a_chilled_item(cab: Cabinet) -> None:
    deposited(cab)
    (moved,) = cab.events("reservation.deadline")
    deposit_at = datetime.fromisoformat(cab.reservation()["deposited_at"])
    assert moved["reason"] == "dwell" and moved["previous"] == "2026-12-01T18:00:00+01:00"
    assert datetime.fromisoformat(moved["expires_at"]) == deposit_at + timedelta(hours=24)
    res = cab.reservation()
    assert datetime.fromisoformat(res["expires_at"]) == deposit_at + timedelta(hours=24)
    later = cab.book(version=2, expires_at="2026-12-05T18:00:00+01:00")  # the server extends
    assert later.status_code == 200
    assert datetime.fromisoformat(later.json()["expires_at"]) == deposit_at + timedelta(hours=24)
    assert len(cab.events("reservation.deadline")) == 2
    cab.clock.advance(24 * 3600 + 60)
    wait_for(lambda: cab.reservation()["state"] == "expired", what="dwell expiry")


def test_a_chilled_upsert_is_rejected_when_no_zone_is_healthy(cab: Cabinet) -> None:
    cab.hold(6.0, 0.5)
    r = cab.book()
    assert r.status_code == 409
    assert "no healthy chilled compartment" in r.json()["detail"]
    assert "above its limit" in r.json()["detail"]
    cab.hold(3.0, 0.5)
    r = cab.book(max_c=2.0, reservation_id="P-2")  # colder than any zone keeps
    assert r.status_code == 409 and "keeps 4 °C, the item needs 2 °C" in r.json()["detail"]


def test_a_deposit_into_a_faulty_zone_goes_to_a_healthy_one(tmp_path: Path) -> None:
    cab = Cabinet(tmp_path, zones=TWO_ZONES)
    try:
        cab.zone("Z1", celsius=3.0)
        cab.zone("Z2", celsius=3.0)
        assert cab.book().json()["compartment"] == "B2"
        cab.clock.advance(30)
        cab.zone("Z1", fault="85")
        cab.zone("Z2", celsius=3.0)
        assert cab.deposit() == "B3"
        moved = cab.events("reservation.accepted")[-1]
        assert moved["compartment"] == "B3" and moved["reservation_id"] == "P-1"
        assert cab.reservation()["compartment"] == "B3"
        r = cab.book(reservation_id="P-2", reference="PANIER-2")
        assert r.status_code == 409  # Z1 faulty, Z2 full
        cab.clock.advance(30)
        cab.zone("Z1", fault=None, celsius=3.0)
        assert cab.book(reservation_id="P-2", reference="PANIER-2").json()["compartment"] == "B2"
        cab.clock.advance(30)
        cab.zone("Z1", celsius=7.0)  # warm, not yet in alarm: still no chilled deposit
        cab.zone("Z2", celsius=3.0)
        r = cab.client.post("/api/v1/deposits", json={"reservation_id": "P-2"}, headers=COURIER)
        assert r.status_code == 409
        assert r.json()["detail"].startswith("no healthy chilled compartment: zone Z1 is above")
        assert cab.reservation("P-2")["state"] == "accepted"
    finally:
        cab.stop()


def test_warn_mode_opens_and_says_so(tmp_path: Path) -> None:
    zones = [{**TWO_ZONES[0], "compartments": ["B2", "B3"], "limit_c": 8.0, "on_broken": "warn"}]
    cab = Cabinet(tmp_path, zones=zones)
    try:
        cab.zone(celsius=5.0)
        deposited(cab, max_c=8.0)
        cab.hold(11.0, 1)
        assert kinds(cab, "cold_chain.broken") == ["cold_chain.broken"]
        assert cab.reservation()["state"] == "deposited"
        r = cab.pickup()
        assert r.status_code == 200 and r.json()["warning"] == "cold_chain"
        assert "température" in r.json()["message_fr"]
    finally:
        cab.stop()


def test_readings_survive_a_restart_and_read_back(cab: Cabinet) -> None:
    cab.hold(3.0, 5)
    cab.hold(6.0, 2)
    cab.restart()
    cab.clock.advance(30)
    cab.zone(fault="crc")
    q = "zone=Z1&from=2026-11-30T08:00:00Z&to=2026-11-30T10:00:00Z"
    body = cab.client.get(f"/api/v1/temperatures?{q}", headers=ADMIN).json()
    values = [r["celsius"] for r in body["readings"]]
    # a sample at each start, one set by the test, then 10 + 4, and the fault
    assert len(values) == 2 + 10 + 4 + 1 + 1 and values[-1] is None
    assert all(abs(v - 3.0) <= 0.125 for v in values[:12])
    assert all(abs(v - 6.0) <= 0.125 for v in values[12:16])
    csv = cab.client.get(f"/api/v1/temperatures.csv?{q}", headers=ADMIN)
    lines = csv.text.strip().splitlines()
    assert csv.headers["content-type"].startswith("text/csv")
    assert lines[0] == "zone,time_utc,celsius,fault,min_c,max_c,samples"
    assert len(lines) == 1 + len(values) and lines[-1].split(",")[3] == "crc"
    svg = cab.client.get("/api/v1/temperatures/Z1/chart.svg", headers=ADMIN)
    assert svg.headers["content-type"] == "image/svg+xml"
    assert "limite 4 °C" in svg.text and "<polyline" in svg.text and "sonde en défaut" in svg.text
    week = cab.client.get("/api/v1/temperatures/Z1/chart.svg?span=week", headers=ADMIN)
    assert "7 jours" in week.text
    assert cab.client.get("/api/v1/temperatures?zone=Z9", headers=ADMIN).status_code == 404
    backwards = "from=2026-12-01T00:00:00Z&to=2026-11-30T00:00:00Z"
    bad = cab.client.get(f"/api/v1/temperatures?{backwards}", headers=ADMIN)
    assert bad.status_code == 422 and "from must be before to" in bad.json()["detail"]
    years = "from=2024-01-01T00:00:00Z&to=2026-01-01T00:00:00Z"
    bad = cab.client.get(f"/api/v1/temperatures.csv?{years}", headers=ADMIN)
    assert bad.status_code == 422 and "400 days" in bad.json()["detail"]
    assert cab.client.get("/api/v1/temperatures").status_code == 401


def test_metrics_per_zone(cab: Cabinet) -> None:
    from tests.test_metrics import scrape, value

    cab.hold(5.0, 20)
    _, samples = scrape(cab.client)
    assert 4.8 < value(samples, "locker_zone_celsius", zone="Z1") < 5.2
    assert value(samples, "locker_zone_alarm", zone="Z1") == 1
    assert 4 <= value(samples, "locker_zone_alarm_minutes_total", zone="Z1") <= 6
    cab.hold(3.0, 1)
    deposited(cab)
    cab.hold(12.0, 1)
    assert cab.pickup().status_code == 409
    _, samples = scrape(cab.client)
    assert value(samples, "locker_zone_alarm", zone="Z1") == 1  # 12 °C: critical
    assert value(samples, "locker_refusals_total", reason="held") == 1
    assert value(samples, "locker_refusals_total", reason="unknown") == 0
    cab.clock.advance(30)
    cab.zone(fault="85")
    _, samples = scrape(cab.client)
    assert ("locker_zone_celsius", (("zone", "Z1"),)) not in samples
    assert value(samples, "locker_zone_sensor_fault", zone="Z1") == 1


def test_readings_in_a_row_are_a_sampling_period_apart(cab: Cabinet) -> None:
    """Readings seconds apart (the route and the sampler together) are one reading."""
    deposited(cab)
    cab.hold(9.5, 10 / 60, step_s=10)  # 9.5 °C at +10 s
    cab.hold(9.5, 10 / 60, step_s=10)  # and at +20 s: 10 s after, not a second reading
    assert cab.reservation()["state"] == "deposited"
    cab.hold(9.5, 5 / 60, step_s=5)  # +25 s: 15 s after the first counted one
    assert cab.reservation()["state"] == "held"


def test_answered_readings_survive_a_kill(tmp_path: Path) -> None:
    """The service killed (SIGKILL, as a power cut) right after a sample was answered:
    the reading and the zone's alarm are on disk (the simulated fridge starts again at
    3 °C: the alarm ends on the first sample)."""
    import signal

    from tests.procs import ServiceProcess

    svc = ServiceProcess(tmp_path).start()
    try:
        hand, admin = svc.client(), svc.client("demo-admin")
        assert hand.post("/api/v1/sim/zones/Z1", json={"celsius": 9.0}).status_code == 200
        svc.stop(signal.SIGKILL)
        svc.start()
        body = admin.get("/api/v1/temperatures?zone=Z1").json()
        assert any(r["celsius"] and r["celsius"] > 8.5 for r in body["readings"])
        events = [e["type"] for e in admin.get("/api/v1/events?after_seq=0&limit=100").json()]
        assert events.count("temperature.alarm") == 1
        assert events.index("temperature.alarm") < events.index("temperature.ok")
    finally:
        svc.stop()
