"""The Kerong driver against simulated boards, over a real pseudo-terminal, byte for byte."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from firmware_bridge.kerong import KerongDoors, KerongLock
from firmware_bridge.kerong_bus import BusTiming
from firmware_bridge.kerong_frames import STATUS, UNLOCK
from firmware_bridge.kerong_sim import KerongCabinet, KerongSimulator
from tests.helpers import wait_for

LOCKS = [
    KerongLock("A1", 0, 1),
    KerongLock("A2", 0, 16),
    KerongLock("B6", 1, 6),
    KerongLock("C16", 2, 16),
]
# Generous for a loaded machine: a pty answer takes a few ms, the timeout allows 300.
FAST = BusTiming(poll_interval_s=0.05, timeout_s=0.3, retries=2)
SLOW_POLLS = BusTiming(poll_interval_s=60, timeout_s=0.3, retries=2)


class Bus:
    """Simulated boards, the driver on their pty, and what the driver reported."""

    def __init__(self, timing: BusTiming = FAST, **sim: Any) -> None:
        self.sim = KerongSimulator({lk.board for lk in LOCKS}, **sim)
        self.hand = KerongCabinet(self.sim, LOCKS)
        self.doors = KerongDoors(LOCKS, self.sim.port, 19200, timing)
        self.seen: list[tuple[str, bool]] = []
        self.doors.listen(lambda cid, is_open: self.seen.append((cid, is_open)))

    def board(self, board: int) -> dict[str, Any]:
        return self.board_of(self.doors, board)

    @staticmethod
    def board_of(doors: KerongDoors, board: int) -> dict[str, Any]:
        boards: dict[str, dict[str, Any]] = doors.health()["boards"]  # type: ignore[assignment]
        return boards[str(board)]

    def wait_seen(self, change: tuple[str, bool], what: str = "") -> None:
        wait_for(lambda: change in self.seen, what=what or f"{change} reported")

    def close(self) -> None:
        self.doors.close()
        self.hand.close()


@pytest.fixture
def bus() -> Iterator[Bus]:
    b = Bus()
    yield b
    b.close()


@pytest.fixture
def make_bus() -> Iterator[Callable[..., Bus]]:
    made: list[Bus] = []

    def make(timing: BusTiming = FAST, **sim: Any) -> Bus:
        made.append(Bus(timing, **sim))
        return made[-1]

    yield make
    for b in made:
        b.close()


def test_unlock_is_seen_open_by_polling_then_shut_by_hand(bus: Bus) -> None:
    assert not bus.doors.is_open("B6")
    bus.doors.unlock("B6")
    bus.wait_seen(("B6", True), "the popped hook read by a status poll")
    assert bus.doors.is_open("B6") and bus.hand.relay_pulses("B6") == 1
    assert bus.sim.requests[1, UNLOCK] == 1  # one unlock frame: 02 15 31 03 4B
    bus.hand.set_door("B6", is_open=False)  # pushed shut: the hook latches
    bus.wait_seen(("B6", False))
    assert not bus.doors.is_open("B6")
    assert bus.seen == [("B6", True), ("B6", False)]  # nothing about the other doors


def test_a_change_the_service_could_not_record_is_reported_again(bus: Bus) -> None:
    """A door change whose commit failed (a disk hiccup) is not lost: the next poll
    reports it again, as the GPIO debouncer does."""
    refused: list[tuple[str, bool]] = []

    def listener(cid: str, is_open: bool) -> None:
        if not refused:
            refused.append((cid, is_open))
            raise OSError("disk I/O error")
        bus.seen.append((cid, is_open))

    bus.doors.listen(listener)
    bus.doors.unlock("B6")
    bus.wait_seen(("B6", True), "the opening reported again after the failure")
    assert refused == [("B6", True)] and bus.seen == [("B6", True)]
    bus.hand.set_door("B6", is_open=False)
    bus.wait_seen(("B6", False))
    assert bus.seen == [("B6", True), ("B6", False)]


def test_several_boards_on_one_bus(bus: Bus) -> None:
    bus.sim.set_item(0, 16, present=True)
    bus.hand.set_door("C16", is_open=True)  # board 2, lock 16: the last bit of D2
    bus.wait_seen(("C16", True))
    wait_for(lambda: bus.doors.item_present("A2"), what="item sensor of board 0 lock 16")
    assert bus.doors.item_present("A1") is False
    assert not bus.doors.is_open("A1") and not bus.doors.is_open("B6")
    for board in (0, 1, 2):
        assert bus.sim.requests[board, STATUS] >= 1
        assert bus.board(board)["reachable"] is True
    assert bus.doors.health()["ok"] is True


@pytest.mark.parametrize("reply_addr", ["board", "echo"])
def test_a_status_reply_to_the_unlock_is_read_whatever_its_addr(
    make_bus: Callable[..., Bus], reply_addr: str
) -> None:
    # Polls a minute apart: the door can only be learnt from the reply to 0x31,
    # whose ADDR is 0x10 (board << 4) or 0x15 (the request's): the board nibble matches.
    b = make_bus(SLOW_POLLS, unlock_reply="status", reply_addr=reply_addr)
    b.doors.unlock("B6")
    b.wait_seen(("B6", True), "door learnt from the unlock's reply")
    assert b.sim.requests[1, STATUS] == 1  # the first round only


def test_an_unlock_without_reply_is_confirmed_by_the_next_poll(
    make_bus: Callable[..., Bus],
) -> None:
    b = make_bus(unlock_reply="none")
    polls = b.sim.requests[1, STATUS]
    b.doors.unlock("B6")
    b.wait_seen(("B6", True), "the opening confirmed by a poll")
    assert b.sim.requests[1, STATUS] > polls
    assert b.sim.requests[1, UNLOCK] == 1  # silence is an answer: the unlock is not repeated
    assert b.board(1)["reachable"] is True


def test_bad_checksums_are_refused_and_the_driver_recovers(
    bus: Bus, caplog: pytest.LogCaptureFixture
) -> None:
    refused = bus.doors.health()["refused_frames"]
    bus.sim.fail_next(1, "bad_checksum", times=3)  # every try of one poll: 1 + 2 retries
    wait_for(lambda: bus.board(1)["reachable"] is False, what="bad frames are no answer")
    assert bus.doors.health()["refused_frames"] > refused  # type: ignore[operator]
    assert any(
        r.levelno == logging.CRITICAL and "board 1 unreachable" in r.getMessage()
        for r in caplog.records
    )
    wait_for(lambda: bus.board(1)["reachable"] is True, what="the next good frame")
    bus.hand.set_door("B6", is_open=True)
    bus.wait_seen(("B6", True))


def test_garbage_and_a_partial_frame_do_not_lose_the_status(
    make_bus: Callable[..., Bus],
) -> None:
    # the partial frame's pause (0.3 s) is far above the 50 ms gap and within the timeout
    b = make_bus(BusTiming(poll_interval_s=0.05, timeout_s=1.5, retries=2))
    b.sim.fail_next(2, "garbage", times=3)
    b.hand.set_door("C16", is_open=True)
    b.wait_seen(("C16", True))
    b.sim.fail_next(2, "partial")
    b.hand.set_door("C16", is_open=False)
    b.wait_seen(("C16", False))
    wait_for(lambda: not b.sim.faults_pending(2), what="faults spent")
    assert b.board(2)["reachable"] is True and b.board(2)["unanswered"] == 0


def test_timeouts_are_retried_then_the_board_is_unreachable_then_back(
    bus: Bus, caplog: pytest.LogCaptureFixture
) -> None:
    bus.sim.fail_next(0, "silence", times=2)  # two timeouts: the third try answers
    wait_for(lambda: not bus.sim.faults_pending(0), what="silences spent")
    wait_for(lambda: bus.board(0)["unanswered"] >= 2, what="timeouts counted")
    assert bus.board(0)["reachable"] is True

    bus.sim.absent.add(0)  # the board's cable is cut
    wait_for(lambda: bus.board(0)["reachable"] is False, what="board 0 unreachable")
    assert bus.doors.health()["ok"] is False
    assert any("ALARM kerong board 0 unreachable" in r.getMessage() for r in caplog.records)
    bus.doors.unlock("A1")  # sent once into the void: nothing breaks
    bus.hand.set_door("B6", is_open=True)  # the other boards are still polled
    bus.wait_seen(("B6", True))
    assert bus.hand.relay_pulses("A1") == 0  # the domain pulses again, then reports a jam

    bus.sim.absent.discard(0)
    wait_for(lambda: bus.board(0)["reachable"] is True, what="board 0 answers again")
    assert bus.doors.health()["ok"] is True
    bus.doors.unlock("A1")
    bus.wait_seen(("A1", True))


def test_a_missing_port_is_reported_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    doors = KerongDoors(LOCKS, "/dev/nonexistent-rs485", 19200, FAST)
    try:
        health = doors.health()
        assert health["ok"] is False and "nonexistent" in str(health["port_error"])
        assert not doors.is_open("A1")
        doors.unlock("A1")  # logged, not raised
        assert any(r.levelno == logging.CRITICAL for r in caplog.records)
    finally:
        doors.close()


def test_a_board_still_silent_when_the_port_comes_back_raises_its_alarm(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    link = tmp_path / "ttyUSB0"  # the adapter is not plugged in yet
    doors = KerongDoors(LOCKS, str(link), 19200, FAST)
    sim = KerongSimulator({0, 1, 2})
    try:
        assert doors.health()["port_error"] is not None
        sim.absent.add(1)  # board 1 lost its power meanwhile
        link.symlink_to(sim.port)  # plugged in
        boards = doors.health
        wait_for(lambda: boards()["port_error"] is None, timeout=30, what="port open again")
        wait_for(
            lambda: any(
                "ALARM kerong board 1 unreachable" in r.getMessage() for r in caplog.records
            ),
            what="the alarm of the board that does not answer",
        )
        wait_for(lambda: Bus.board_of(doors, 0)["reachable"] is True, what="board 0 answers")
        assert Bus.board_of(doors, 1)["reachable"] is False
        assert not any("board 0 unreachable" in r.getMessage() for r in caplog.records)
    finally:
        doors.close()
        sim.close()


def test_doors_of_a_board_silent_at_start_are_unknown_until_it_answers() -> None:
    """Not shut: unknown. Their first reading is no change for the listener (the
    service reads them with is_open once they leave unknown())."""
    sim = KerongSimulator({0, 1, 2})
    sim.absent.add(1)
    hand = KerongCabinet(sim, LOCKS)
    doors = KerongDoors(LOCKS, sim.port, 19200, FAST)
    seen: list[tuple[str, bool]] = []
    doors.listen(lambda cid, is_open: seen.append((cid, is_open)))
    try:
        assert doors.unknown() == {"B6"}  # board 1, lock 6
        assert Bus.board_of(doors, 1)["reachable"] is False and doors.health()["ok"] is False
        hand.set_door("B6", is_open=True)  # open while nobody can read it
        sim.absent.clear()
        wait_for(lambda: not doors.unknown(), what="board 1 read at last")
        assert doors.is_open("B6") and seen == []  # the first reading: no change reported
        hand.set_door("B6", is_open=False)
        wait_for(lambda: ("B6", False) in seen, what="a change after the first reading")
        assert seen == [("B6", False)]
    finally:
        doors.close()
        hand.close()
