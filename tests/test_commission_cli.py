"""``locker commission`` in a terminal against the real service in simulation: the test
types at the prompt and plays the cabinet through the simulation routes."""

from __future__ import annotations

import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest

from tests.helpers import ROOT, wait_for
from tests.procs import ServiceProcess


@pytest.fixture
def service(tmp_path: Path) -> Iterator[ServiceProcess]:
    proc = ServiceProcess(tmp_path)
    yield proc.start()
    proc.stop(signal.SIGKILL)


class Terminal:
    def __init__(self, argv: list[str]) -> None:
        self.proc = subprocess.Popen(
            argv,
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        assert self.proc.stdout is not None
        threading.Thread(target=self._read, args=(self.proc.stdout,), daemon=True).start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self.lines.put(line.rstrip("\n"))

    def expect(self, text: str, timeout: float = 30.0) -> str:
        def found() -> str | None:
            while not self.lines.empty():
                self.seen.append(self.lines.get())
            return next((line for line in self.seen if text in line), None)

        return wait_for(found, timeout=timeout, what=f"{text!r} in {self.seen}")

    def type(self, text: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(text + "\n")
        self.proc.stdin.flush()


def pulses(svc: ServiceProcess, cid: str) -> int:
    doors = svc.client().get("/api/v1/sim/doors").json()
    return int(next(d for d in doors if d["id"] == cid)["relay_pulses"])


def pull_and_shut(svc: ServiceProcess, door: str) -> None:
    """Open the door, wait for the service to read it open (past the debounce), shut it,
    and wait for it to read shut."""
    svc.client().post(f"/api/v1/sim/doors/{door}/open")
    admin = svc.client("demo-admin")

    def read_open() -> bool:
        comps = admin.get("/api/v1/compartments").json()
        return any(c["id"] == door and c["door_open"] for c in comps)

    wait_for(read_open, what=f"{door} read open")
    svc.client().post(f"/api/v1/sim/doors/{door}/close")
    # and read shut again (past the debounce) before the person answers: a door still
    # open when its own turn comes waits to read shut first, and takes no answer then
    wait_for(lambda: not read_open(), what=f"{door} read shut")


def test_a_run_from_the_terminal(service: ServiceProcess) -> None:
    argv = [sys.executable, "-m", "locker.cli", "commission", "--url", service.url]
    term = Terminal([*argv, "--token", "demo-admin", "--only", "A1,B1,C1"])
    try:
        term.expect("[1/3] A1")
        wait_for(lambda: pulses(service, "A1") == 1, what="A1 pulsed")
        pull_and_shut(service, "A1")
        assert "ok" in term.expect("-> A1")
        term.expect("[2/3] B1")
        wait_for(lambda: pulses(service, "B1") == 1, what="B1 pulsed")
        pull_and_shut(service, "C1")  # B1's relay is wired to C1's lock
        term.expect("Which door really opened?")
        term.type("zz")  # a typo: said, and asked again
        term.expect("no compartment")
        term.type("c1")
        swapped = term.expect("-> B1")
        assert "other_door" in swapped and "give C1 relay_pin = 17, reed_pin = 23" in swapped
        term.expect("[3/3] C1")
        term.type("n")  # nothing opened
        assert "no_door" in term.expect("-> C1")
        term.expect("2 failed")
        assert term.proc.wait(timeout=30) == 1
    finally:
        if term.proc.poll() is None:
            term.proc.kill()
            term.proc.wait()
    assert "locker commission --only B1,C1" in "\n".join(term.seen)
    comps = service.client("demo-admin").get("/api/v1/compartments").json()
    assert {c["id"]: c["commission"] for c in comps if c["id"] in ("A1", "B1", "C1")} == {
        "A1": "ok",
        "B1": "other_door",
        "C1": "no_door",
    }


def test_a_second_run_is_refused_and_said_so(service: ServiceProcess) -> None:
    admin = service.client("demo-admin")
    assert admin.post("/api/v1/staff/commissioning", json={"compartments": ["A1"]}).is_success
    argv = [sys.executable, "-m", "locker.cli", "commission", "--url", service.url]
    out = subprocess.run(
        [*argv, "--token", "demo-admin"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert out.returncode == 2
    assert "409" in out.stderr and "already going on" in out.stderr


def test_a_dropped_session_stops_the_run(service: ServiceProcess) -> None:
    """An SSH session that drops (SIGHUP) must not leave doors popping at the cabinet."""
    argv = [sys.executable, "-m", "locker.cli", "commission", "--url", service.url]
    term = Terminal([*argv, "--token", "demo-admin"])
    try:
        term.expect("[1/")
        term.proc.send_signal(signal.SIGHUP)
        assert term.proc.wait(timeout=30) == 2
    finally:
        if term.proc.poll() is None:
            term.proc.kill()
            term.proc.wait()
    run = service.client("demo-admin").get("/api/v1/staff/commissioning").json()
    assert run["active"] is False and run["stopped"] == "staff"
