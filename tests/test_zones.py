"""Focused tests of the zone rules (pure domain) and of the readings' retention."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

from locker.domain.zones import ZoneSpec, ZoneState, healthy, sampled
from locker.store.convert import utc_text
from locker.store.sqlite import open_engine
from locker.store.temperatures import BUCKET_S, KEEP_DAYS, TemperatureLog
from tests.helpers import T0

SPEC = ZoneSpec("Z1", ("B2",), limit_c=4.0, critical_c=8.0, grace_min=15, stuck_s=3600)


def walk(values: Sequence[float | None], step_s: float = 60, fault: str | None = None) -> list[str]:
    state, out = ZoneState("Z1"), []
    for i, value in enumerate(values):
        state, _, events = sampled(SPEC, state, T0 + timedelta(seconds=i * step_s), value, fault)
        out += [e.type for e in events]
    return out


def test_grace_then_one_alarm_and_hysteresis() -> None:
    assert walk([5.0] * 15) == []  # 14 minutes above: within the grace
    assert walk([5.0] * 17) == ["temperature.alarm"]
    assert walk([5.0] * 17 + [3.8] * 3 + [3.4]) == ["temperature.alarm", "temperature.ok"]
    assert walk([9.0]) == ["temperature.alarm"]  # critical: at once
    assert walk([5.0] * 10 + [3.0] + [5.0] * 10) == []  # two short excursions


def test_faults_and_their_end() -> None:
    assert walk([85.0]) == ["sensor.fault"] and walk([-31.0]) == ["sensor.fault"]
    assert walk([None, None, 3.0]) == ["sensor.fault", "sensor.ok"]
    state, reading, _ = sampled(SPEC, ZoneState("Z1"), T0, None, "crc")
    assert reading.celsius is None and reading.fault == "crc" and state.current() is None
    assert healthy(SPEC, state, T0, 100) == "the sensor of zone Z1 is faulty (crc)"


def test_a_stuck_value_is_a_fault_a_drifting_one_is_not() -> None:
    assert walk([3.0] * 62) == ["sensor.fault"]  # the same value for more than stuck_s
    assert walk([3.0, 3.0625] * 40) == []


def test_a_stale_zone_is_not_healthy() -> None:
    state, _, _ = sampled(SPEC, ZoneState("Z1"), T0, 3.0, None)
    assert healthy(SPEC, state, T0 + timedelta(seconds=90), 95) is None
    assert healthy(SPEC, state, T0 + timedelta(seconds=100), 95) == "zone Z1 has no recent reading"
    assert healthy(SPEC, None, T0, 95) == "zone Z1 has no reading yet"


def test_readings_past_a_week_are_merged_and_past_the_retention_dropped(tmp_path: Path) -> None:
    engine = open_engine(tmp_path / "db.sqlite")
    rows = [
        ("Z1", utc_text(T0 + timedelta(seconds=30 * i)), 3.0 + (i % 3) * 0.5, None)
        for i in range(40)  # 20 minutes: four 5-minute slots
    ] + [("Z1", utc_text(T0 + timedelta(minutes=20, seconds=30)), None, "crc")]
    rows += [("Z1", utc_text(T0 - timedelta(days=KEEP_DAYS + 1)), 3.0, None)]
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO temperature (zone, at, celsius, fault, min_c, max_c, samples, bucket_s)"
            " VALUES (?, ?, ?, ?, NULL, NULL, 1, 0)",
            rows,
        )
    log = TemperatureLog(engine)
    assert log.compact(T0 + timedelta(days=3)) == 1  # only the one past the retention
    while log.compact(T0 + timedelta(days=8), batch=7):
        pass
    kept = log.readings("Z1", T0 - timedelta(days=1), T0 + timedelta(days=1))
    assert [r.samples for r in kept] == [10, 10, 10, 10, 1]
    assert all(r.min_c == 3.0 and r.max_c == 4.0 for r in kept[:4])
    assert all((r.at - T0).total_seconds() % BUCKET_S == 0 for r in kept)
    assert kept[-1].celsius is None and kept[-1].fault == "crc"
    assert sum(r.samples for r in kept) == 41  # every sample is still accounted for
    engine.dispose()
