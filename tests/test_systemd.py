"""sd_notify against a real datagram socket standing in for systemd, the real service as
a process, and the unit file checked by ``systemd-analyze verify``."""

from __future__ import annotations

import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from locker.runtime import build
from locker.systemd import Notifier, Watchdog, notify_address, watchdog_period
from tests.conftest import FAST_DOORS, NO_MQTT
from tests.helpers import ROOT, book, settings_for, wait_for
from tests.procs import ServiceProcess

UNIT = ROOT / "config" / "locker.service"


class FakeSystemd:
    """The receiving end of NOTIFY_SOCKET: a unix datagram socket bound in a tmp dir."""

    def __init__(self, address: str) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(address)
        self.received: list[str] = []

    def next(self, timeout: float = 30.0) -> str | None:
        self.sock.settimeout(timeout)
        try:
            message = self.sock.recv(4096).decode()
        except TimeoutError:
            return None
        self.received.append(message)
        return message

    def wait_for(self, line: str, timeout: float = 60.0) -> str:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            message = self.next(left)
            if message is not None and line in message.splitlines():
                return message
        raise AssertionError(f"no {line} within {timeout} s; got {self.received}")

    def drain(self) -> list[str]:
        messages = []
        while (message := self.next(0.01)) is not None:
            messages.append(message)
        return messages

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def systemd(tmp_path: Path) -> Iterator[FakeSystemd]:
    fake = FakeSystemd(str(tmp_path / "notify.sock"))
    yield fake
    fake.close()


def test_addresses_and_periods_from_the_environment() -> None:
    assert notify_address({"NOTIFY_SOCKET": "/run/systemd/notify"}) == "/run/systemd/notify"
    assert notify_address({"NOTIFY_SOCKET": "@sd-notify"}) == "\0sd-notify"
    assert notify_address({"NOTIFY_SOCKET": "vsock:2:1"}) is None
    assert notify_address({}) is None
    assert watchdog_period({"WATCHDOG_USEC": "30000000"}) == 30.0
    assert watchdog_period({"WATCHDOG_USEC": "2000000", "WATCHDOG_PID": "1"}) is None  # not us
    assert watchdog_period({"WATCHDOG_USEC": "junk"}) is None
    assert watchdog_period({}) is None
    assert Notifier({}).send("READY=1") is False  # outside systemd: nothing, no error


def test_abstract_socket(tmp_path: Path) -> None:
    name = f"locker-test-{tmp_path.name}-{time.monotonic_ns()}"
    fake = FakeSystemd("\0" + name)
    try:
        assert Notifier({"NOTIFY_SOCKET": "@" + name}).send("READY=1", "STATUS=up")
        assert fake.next(10) == "READY=1\nSTATUS=up"
    finally:
        fake.close()


def test_watchdog_pings_only_while_every_part_beats() -> None:
    now = [100.0]
    sent: list[tuple[str, ...]] = []

    class Recorder(Notifier):
        def send(self, *lines: str) -> bool:
            sent.append(lines)
            return True

    dog = Watchdog(Recorder({}), period_s=10.0, clock=lambda: now[0])
    assert not dog.ping_if_alive()  # no part has beaten yet
    dog.beat("controller")
    dog.beat("http")
    assert dog.ping_if_alive("serving") and sent == [("WATCHDOG=1", "STATUS=serving")]
    assert not dog.due() and not dog.ping_if_alive()  # at most every half period
    now[0] += 6.0
    dog.beat("controller")  # the HTTP loop stopped beating 6 s ago (> 5 s)
    assert dog.due() and not dog.ping_if_alive()
    dog.beat("http")
    assert dog.ping_if_alive() and len(sent) == 2


def test_a_hung_controller_stops_the_pings(tmp_path: Path, systemd: FakeSystemd) -> None:
    notifier = Notifier({"NOTIFY_SOCKET": str(tmp_path / "notify.sock")})
    dog = Watchdog(notifier, period_s=0.5)
    settings = settings_for(tmp_path, doors=FAST_DOORS, mqtt=NO_MQTT, tick_s=0.05)
    runtime = build(settings, simulate=True, watchdog=dog)
    runtime.start()
    try:
        for _ in range(3):
            systemd.wait_for("WATCHDOG=1", timeout=30)
        release = threading.Event()
        held = threading.Event()

        def deadlock() -> None:  # another thread takes the service lock and never lets go
            with runtime.service._lock:
                held.set()
                release.wait(60)

        thread = threading.Thread(target=deadlock)
        thread.start()
        assert held.wait(10)
        time.sleep(1.0)  # a tick that had passed the lock before may still ping once
        systemd.drain()
        quiet = systemd.next(timeout=3.0)  # six periods: systemd would have killed it
        release.set()
        thread.join(10)
        assert quiet is None, f"pinged while the controller was hung: {quiet!r}"
        systemd.wait_for("WATCHDOG=1", timeout=30)  # alive again: pings again
    finally:
        runtime.stop()


def test_service_notifies_ready_watchdog_and_stopping(tmp_path: Path, systemd: FakeSystemd) -> None:
    env = {
        "NOTIFY_SOCKET": str(tmp_path / "notify.sock"),
        "WATCHDOG_USEC": "2000000",
        "WATCHDOG_PID": "",  # systemd would name the service's pid, unknown before it starts
    }
    svc = ServiceProcess(tmp_path, extra_env=env)
    try:
        svc.start(wait=False)
        ready = systemd.wait_for("READY=1", timeout=60)
        # READY=1 comes once requests are answered, not merely once the process runs
        health = httpx.get(f"{svc.url}/healthz", timeout=10)
        assert health.status_code == 200 and health.json()["ok"] is True
        assert "STATUS=serving locker demo on http://" in ready
        assert systemd.received[0].startswith("STATUS=starting")
        for _ in range(3):
            ping = systemd.wait_for("WATCHDOG=1", timeout=30)
        assert "STATUS=serving; broker off; " in ping
        assert svc.proc is not None
        svc.proc.send_signal(signal.SIGTERM)
        assert "STATUS=stopping" in systemd.wait_for("STOPPING=1", timeout=30)
        # uvicorn re-raises the SIGTERM after its clean shutdown; systemd counts it a success
        assert svc.proc.wait(timeout=30) in (0, -signal.SIGTERM)
        assert "Application shutdown complete" in svc.log_path.read_text()
    finally:
        svc.stop()


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
def test_unit_file_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    # The venv is not in /opt/locker here: point ExecStart at this checkout's venv,
    # check everything else as shipped.
    text = UNIT.read_text()
    locker = Path(sys.executable).parent / "locker"
    unit = tmp_path / "locker.service"
    unit.write_text(text.replace("/opt/locker/.venv/bin/locker", str(locker)))
    out = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", str(unit)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0 and out.stderr.strip() == "", out.stderr
    fields = dict(
        line.split("=", 1) for line in text.splitlines() if "=" in line and line[0] != "#"
    )
    assert fields["ExecStart"] == (
        "/opt/locker/.venv/bin/locker serve --config /etc/locker/locker.toml"
    )
    assert (fields["Type"], fields["WatchdogSec"], fields["User"]) == ("notify", "30", "locker")
    assert fields["SupplementaryGroups"] == "gpio dialout"


def test_a_database_write_that_never_ends_stops_the_pings(
    tmp_path: Path, systemd: FakeSystemd
) -> None:
    """A hung disk: a commit does not come back. Reads still answer from the cache (and
    in WAL mode a stuck writer holds nothing a reader needs), so the probe's read alone
    does not see it. Stand-in: another process holds SQLite's write lock."""
    notifier = Notifier({"NOTIFY_SOCKET": str(tmp_path / "notify.sock")})
    dog = Watchdog(notifier, period_s=1.0)
    settings = settings_for(tmp_path, doors=FAST_DOORS, mqtt=NO_MQTT, tick_s=0.05)
    runtime = build(settings, simulate=True, watchdog=dog)
    runtime.start()
    blocker = sqlite3.connect(tmp_path / "locker.db", isolation_level=None)
    try:
        for _ in range(2):
            systemd.wait_for("WATCHDOG=1", timeout=30)
        blocker.execute("BEGIN EXCLUSIVE")
        writer = threading.Thread(target=book, args=(runtime.service, datetime.now(UTC)))
        writer.start()  # answers once its booking is on disk: not while the lock is held
        wait_for(lambda: runtime.service.probe() > 0, what="the booking's write under way")
        time.sleep(1.5)  # a ping decided before the write stalled may still come
        systemd.drain()
        quiet = systemd.next(timeout=3.0)  # three periods: systemd would have killed it
        blocker.rollback()
        writer.join(30)
        assert quiet is None, f"pinged while a write hung: {quiet!r}"
        # (the ticker may be waiting on the hung write itself: no ping either way)
        systemd.wait_for("WATCHDOG=1", timeout=30)  # written at last: pings again
    finally:
        blocker.close()
        runtime.stop()
