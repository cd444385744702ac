"""The kernel's clock state, read on every pickup and every tick of a real cabinet; the
simulated clock (LOCKER_SIM_CLOCK) of a simulated one."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from locker.clock import (
    SIM_CLOCK_ENV,
    SimClockError,
    SimulatedClock,
    SystemClock,
    kernel_clock_synchronised,
    sim_clock_from_env,
)
from locker.runtime import build
from tests.helpers import EXAMPLE, ROOT, settings_for

WEEKDAYS = {d: ["09:00-12:00", "14:00-18:00"] for d in ("mon", "tue", "wed", "thu", "fri")}


def test_the_kernel_clock_is_read_without_starting_a_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # NOTE: trusted() runs under the service lock on every pickup (trust = "ntp", the
    # default on a real cabinet) and 4 times a second in the ticker.
    started: list[Any] = []

    class Spy(subprocess.Popen):  # type: ignore[type-arg]
        def __init__(self, args: Any, *rest: Any, **kw: Any) -> None:
            started.append(args)
            super().__init__(args, *rest, **kw)

    monkeypatch.setattr(subprocess, "Popen", Spy)
    clock = SystemClock("ntp")
    answers = {clock.trusted() for _ in range(50)}
    assert started == []
    assert answers == {kernel_clock_synchronised()}  # one steady answer, a bool
    assert SystemClock("always").trusted() is True


# ---- LOCKER_SIM_CLOCK: a simulated cabinet's clock from a chosen instant ----

SATURDAY_EVENING = "2027-03-13T19:00:00+01:00"


class Ticks:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.value = 1000.0

    def __call__(self) -> float:
        return self.value


def test_the_simulated_clock_starts_at_its_instant_and_runs_at_the_real_rate() -> None:
    ticks = Ticks()
    start = datetime.fromisoformat(SATURDAY_EVENING)
    clock = SimulatedClock(start, monotonic=ticks)
    assert clock.now() == start and clock.now().tzinfo is UTC  # as the system clock answers
    ticks.value += 90.5
    assert clock.now() == start + timedelta(seconds=90.5)
    assert clock.trusted() is True


def test_the_simulated_clock_follows_monotonic_time_not_the_wall() -> None:
    clock = SimulatedClock.parse(SATURDAY_EVENING)
    first = clock.now()
    time.sleep(0.05)
    later = clock.now()
    assert timedelta(seconds=0.04) <= later - first < timedelta(hours=1)


def test_locker_sim_clock_in_simulation() -> None:
    clock = sim_clock_from_env({SIM_CLOCK_ENV: " 2026-07-14T10:00:00+02:00 "}, simulate=True)
    assert clock is not None
    assert clock.start == datetime(2026, 7, 14, 8, 0, tzinfo=UTC)
    zulu = sim_clock_from_env({SIM_CLOCK_ENV: "2026-07-14T08:00Z"}, simulate=True)
    assert zulu is not None and zulu.start == clock.start
    assert sim_clock_from_env({}, simulate=True) is None
    assert sim_clock_from_env({}, simulate=False) is None


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("2026-07-14T10:00:00", "needs a UTC offset"),
        ("2026-07-14", "needs a UTC offset"),
        ("tomorrow 10am", "is not an ISO-8601 instant"),
        ("2026-02-30T10:00:00+01:00", "is not an ISO-8601 instant"),
        ("", "is not an ISO-8601 instant"),
    ],
)
def test_a_malformed_sim_clock_is_refused(value: str, says: str) -> None:
    with pytest.raises(SimClockError, match=says) as err:
        sim_clock_from_env({SIM_CLOCK_ENV: value}, simulate=True)
    assert SIM_CLOCK_ENV in str(err.value) and "2026-07-14T10:00:00+02:00" in str(err.value)


def test_the_sim_clock_is_refused_outside_simulation() -> None:
    for value in (SATURDAY_EVENING, "garbage", ""):  # even empty: set means asked for
        with pytest.raises(SimClockError, match="only accepted in simulation"):
            sim_clock_from_env({SIM_CLOCK_ENV: value}, simulate=False)


def test_build_runs_the_service_on_the_sim_clock(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = settings_for(tmp_path, mqtt={"enabled": False}, hours={"weekly": WEEKDAYS})
    env = {SIM_CLOCK_ENV: SATURDAY_EVENING}
    with caplog.at_level(logging.INFO, logger="locker.runtime"):
        runtime = build(settings, simulate=True, environ=env)
    try:
        service = runtime.service
        assert abs(service.clock_now() - datetime.fromisoformat(SATURDAY_EVENING)) < timedelta(
            minutes=5
        )
        assert service.clock_trusted()
        monday_9 = datetime(2027, 3, 15, 9, 0, tzinfo=ZoneInfo("Europe/Paris"))
        assert service.site() == (False, monday_9)
    finally:
        runtime.stop()
    said = [r.getMessage() for r in caplog.records if "simulated clock" in r.getMessage()]
    assert said == [
        "simulated clock (LOCKER_SIM_CLOCK): starts at 2027-03-13T19:00:00+01:00 and runs at "
        "the real rate, trusted"
    ]


def test_build_refuses_the_sim_clock_on_a_real_cabinet_before_opening_anything(
    tmp_path: Path,
) -> None:
    settings = settings_for(tmp_path, mqtt={"enabled": False})
    with pytest.raises(SimClockError, match="only accepted in simulation"):
        build(settings, simulate=False, environ={SIM_CLOCK_ENV: SATURDAY_EVENING})
    assert not (tmp_path / "locker.db").exists()


def test_serve_refuses_a_malformed_sim_clock_with_a_clear_error(tmp_path: Path) -> None:
    env = {
        **os.environ,
        SIM_CLOCK_ENV: "2026-07-14 10h",
        "LOCKER_STORAGE__PATH": str(tmp_path / "locker.db"),
        "LOCKER_SECURITY__KEY_FILE": str(tmp_path / "locker.key"),
        "LOCKER_MQTT__ENABLED": "false",
    }
    cmd = [sys.executable, "-m", "locker.cli", "serve", "--simulate", "--port", "9"]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 1
    assert "locker: refusing to start:" in done.stderr
    assert "LOCKER_SIM_CLOCK: '2026-07-14 10h' is not an ISO-8601 instant" in done.stderr
    # outside simulation, said with the other problems of a real cabinet
    env[SIM_CLOCK_ENV] = SATURDAY_EVENING
    real = [*cmd[:4], "--config", str(EXAMPLE), "--port", "9"]
    done = subprocess.run(real, env=env, capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 1
    assert "LOCKER_SIM_CLOCK is only accepted in simulation" in done.stderr
    assert not (tmp_path / "locker.db").exists()
