"""A serial QR scanner on a real pseudo-terminal, feeding the pickup flow of a real runtime."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.live import LiveHub
from firmware_bridge.ptys import PtyPair
from firmware_bridge.scanner import PARTIAL_IDLE_S, ScanLines
from locker.runtime import Runtime, build
from locker.scans import Outcome
from tests.conftest import FAST_DOORS, NO_MQTT
from tests.helpers import book, settings_for, wait_for


class Scanner:
    """The far end of the scanner's serial line, behind a symlink that can be moved
    (the device path coming and going as the scanner is unplugged and plugged in)."""

    def __init__(self, link: Path) -> None:
        self.link = link
        self.pty = PtyPair()
        link.symlink_to(self.pty.path)

    def send(self, data: bytes) -> None:
        self.pty.write(data)

    def unplug(self) -> None:
        self.pty.close()
        self.link.unlink()

    def plug_in(self) -> None:
        self.pty = PtyPair()
        self.link.symlink_to(self.pty.path)


class Box:
    def __init__(self, tmp: Path) -> None:
        self.scanner = Scanner(tmp / "ttyACM0")
        port = {"enabled": True, "port": str(self.scanner.link), "max_line": 64}
        settings = settings_for(tmp, doors=FAST_DOORS, mqtt=NO_MQTT, scanner=port)
        self.runtime: Runtime = build(settings, simulate=True)
        assert self.runtime.scans is not None and self.runtime.scanner is not None
        self.outcomes: list[Outcome] = []
        self.runtime.scans.subscribe(self.outcomes.append)
        self.runtime.start()
        wait_for(self.connected, what="scanner port open")

    def connected(self) -> bool:
        assert self.runtime.scanner is not None
        return bool(self.runtime.scanner.health()["connected"])

    def deposited(self, rid: str = "R-1") -> tuple[str, str]:
        """A parcel in its compartment: ``(compartment, pickup code)``."""
        service, sim = self.runtime.service, self.runtime.sim
        assert sim is not None
        book(service, datetime.now(UTC), rid=rid)
        cid = service.deposit_by_courier(rid)
        sim.set_door(cid, is_open=True)
        wait_for(lambda: service.compartments_by_id()[cid].door_open, what="door seen open")
        sim.set_door(cid, is_open=False)
        wait_for(lambda: service.reservation(rid).state.value == "deposited")  # type: ignore[union-attr]
        res = service.reservation(rid)
        assert res is not None
        return cid, service.codes_of(res)["pickup_code"]

    def wait_outcomes(self, n: int) -> list[Outcome]:
        wait_for(lambda: len(self.outcomes) >= n, what=f"{n} scan outcomes")
        return self.outcomes[:n]


@pytest.fixture
def box(tmp_path: Path) -> Iterator[Box]:
    b = Box(tmp_path)
    yield b
    b.runtime.stop()
    b.scanner.pty.close()


def test_a_scanned_qr_code_opens_its_compartment(box: Box) -> None:
    cid, code = box.deposited()
    sim = box.runtime.sim
    assert sim is not None and sim.relay_pulses(cid) == 1
    box.scanner.send(f"LKR1:demo:{code}\r\n".encode())
    assert box.wait_outcomes(1) == [{"ok": True, "compartment": cid, "purpose": "pickup"}]
    wait_for(lambda: sim.relay_pulses(cid) == 2, what="the pickup's relay pulse")


def test_scanned_again_for_the_bag_left_behind(box: Box) -> None:
    cid, code = box.deposited()
    sim = box.runtime.sim
    assert sim is not None
    box.scanner.send(f"LKR1:demo:{code}\r\n".encode())
    wait_for(lambda: sim.relay_pulses(cid) == 2, what="the pickup's relay pulse")
    sim.set_door(cid, is_open=True)
    wait_for(lambda: box.runtime.service.compartments_by_id()[cid].door_open, what="open")
    sim.set_door(cid, is_open=False)
    wait_for(lambda: box.runtime.service.reservation("R-1").state.value == "collected")  # type: ignore[union-attr]
    box.scanner.send(f"LKR1:demo:{code}\r\n".encode())  # the same scanner, within 60 s
    again = {"ok": True, "compartment": cid, "purpose": "pickup", "reopen": True}
    assert box.wait_outcomes(2)[1] == again  # the screen shows the pickup's open door
    wait_for(lambda: sim.relay_pulses(cid) == 3, what="the door opened again")


def test_wrong_scans_are_refused_counted_and_never_logged(
    box: Box, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    # CR, LF and CRLF all end a scan; CRLF is one end, not two
    box.scanner.send(b"11111111\r22222222\n33333333\r\n44444444\r\n55555555\r\n66666666\n")
    outcomes = box.wait_outcomes(6)
    assert outcomes[:4] == [{"ok": False, "reason": "unknown"}] * 4
    assert [o["reason"] for o in outcomes[4:]] == ["locked", "locked"]  # the 5th wrong code
    assert all(int(str(o["retry_after_s"])) > 0 for o in outcomes[4:])
    terminal = f"scanner:{box.scanner.link}"
    assert box.runtime.service.lockouts()[terminal] is not None  # the scanner is locked out
    assert f"{terminal}: scan refused (unknown)" in caplog.text
    for digit in "123456":
        assert digit * 8 not in caplog.text


def test_garbage_does_not_stop_the_reader(box: Box, caplog: pytest.LogCaptureFixture) -> None:
    cid, code = box.deposited()
    box.scanner.send(b"\xff\xfe\xc3(\r\n")  # not UTF-8
    box.scanner.send(b"\x00\x01\x1b[2J\n")  # control characters
    scanner = box.runtime.scanner
    assert scanner is not None
    box.scanner.send(b"9" * 500)  # over max_line, and no end yet ...
    wait_for(lambda: scanner.health()["dropped"] == 3, what="overlong line dropped")
    box.scanner.send(b"99\r\n")  # ... its end is dropped with it, not taken for a scan
    box.scanner.send(b"LKR1:nowhere\n")  # well-formed text, not a locker code
    box.scanner.send(f"LKR1:demo:{code}\n".encode())
    wait_for(lambda: len(box.outcomes) == 2, what="two outcomes")
    assert box.outcomes == [
        {"ok": False, "reason": "invalid"},  # malformed: not counted toward the lockout
        {"ok": True, "compartment": cid, "purpose": "pickup"},
    ]
    assert scanner.health()["dropped"] == 3
    assert "not UTF-8" in caplog.text and "control characters" in caplog.text
    assert "a line over 64 bytes" in caplog.text


def test_the_scanner_unplugged_and_plugged_in_again(
    box: Box, caplog: pytest.LogCaptureFixture
) -> None:
    cid, code = box.deposited()
    box.scanner.unplug()
    scanner = box.runtime.scanner
    assert scanner is not None
    wait_for(lambda: not box.connected(), what="the reader notices the port is gone")
    assert scanner.health()["port_error"] and "failed" in caplog.text
    box.scanner.plug_in()
    wait_for(box.connected, timeout=30, what="the reader opens the port again")
    box.scanner.send(f"{code}\r".encode())  # 8 bare digits, as typed on a keypad
    assert box.wait_outcomes(1) == [{"ok": True, "compartment": cid, "purpose": "pickup"}]


def test_the_kiosk_stream_tells_the_outcome_without_the_code(box: Box) -> None:
    cid, code = box.deposited()
    app = create_app(box.runtime, manage_runtime=False)
    health = TestClient(app).get("/healthz").json()["scanner"]
    assert health["connected"] is True and health["port"] == str(box.scanner.link)
    hub: LiveHub = app.state.live

    async def next_scan() -> str:
        stream = hub.stream()
        assert (await anext(stream)).startswith("event: hello")
        box.scanner.send(f"LKR1:demo:{code}\n".encode())
        while not (message := await asyncio.wait_for(anext(stream), 10)).startswith("event: scan"):
            pass
        await stream.aclose()
        return message

    message = asyncio.run(next_scan())
    assert message == (
        f'event: scan\ndata: {{"ok":true,"compartment":"{cid}","purpose":"pickup"}}\n\n'
    )
    assert code not in message


def test_an_overlong_line_ended_by_silence_does_not_swallow_the_next_scan() -> None:
    lines = ScanLines(max_line=64, where="test")
    assert lines.feed(b"9" * 500) == []  # one burst of noise, no line end, then silence
    assert lines.dropped == 1
    assert lines.pending()  # the reader's silence rule applies to it as to a partial line
    lines.drop_partial("silence")
    assert lines.dropped == 1  # already counted once
    assert lines.feed(b"12345678\r\n") == ["12345678"]


def test_a_scan_after_a_burst_of_noise_and_a_pause_is_read(box: Box) -> None:
    cid, code = box.deposited()
    scanner = box.runtime.scanner
    assert scanner is not None
    box.scanner.send(b"\x7f" * 300)  # noise over max_line, without a line end
    wait_for(lambda: scanner.health()["dropped"] == 1, what="noise dropped")
    time.sleep(3 * PARTIAL_IDLE_S)  # the resident walks up: silence on the line
    box.scanner.send(f"LKR1:demo:{code}\r\n".encode())
    assert box.wait_outcomes(1) == [{"ok": True, "compartment": cid, "purpose": "pickup"}]
