"""Kerong KR-CU16 frames: the published example bytes, status bits, and the deframer's rules."""

from __future__ import annotations

import pytest

from firmware_bridge.kerong_frames import (
    STATUS_REPLY,
    Deframer,
    Frame,
    Status,
    encode,
    status_request,
    unlock_request,
)

SHUT = (True,) * 16
EMPTY = (False,) * 16


def test_the_example_frames_of_the_hardware_notes() -> None:
    assert status_request(0) == bytes.fromhex("02 00 30 03 35")
    assert unlock_request(0, 1) == bytes.fromhex("02 00 31 03 36")
    assert unlock_request(1, 6) == bytes.fromhex("02 15 31 03 4B")
    assert status_request(15) == bytes.fromhex("02 F0 30 03 25")  # 0x125: the low byte only


@pytest.mark.parametrize(("board", "lock"), [(-1, 1), (16, 1), (0, 0), (0, 17)])
def test_addresses_out_of_range_are_refused(board: int, lock: int) -> None:
    with pytest.raises(ValueError, match="board 0-15 and lock 1-16"):
        unlock_request(board, lock)


def test_status_bits_lock_1_is_bit_0_of_d1() -> None:
    locked = (False,) + (True,) * 7 + (True,) * 7 + (False,)  # lock 1 and lock 16 open
    items = (False,) * 8 + (True,) + (False,) * 7  # something in compartment 9
    frame = Status(3, locked, items).reply()
    assert frame == bytes.fromhex("02 30 35 FE 7F 00 01 03") + bytes([sum(frame[:-1]) & 0xFF])
    [decoded] = Deframer(0.05).feed(frame, 0.0)
    assert Status.of(decoded) == Status(3, locked, items)


def test_data_bytes_that_look_like_stx_or_etx_are_data() -> None:
    frame = encode(0x10, STATUS_REPLY, bytes([0x02, 0x03, 0x03, 0x02]))
    assert Deframer(0.05).feed(frame, 0.0) == [Frame(0x10, STATUS_REPLY, b"\x02\x03\x03\x02")]


def test_noise_before_a_frame_is_dropped() -> None:
    d = Deframer(0.05)
    frames = d.feed(b"\x00\xff\x7e" + status_request(2), 0.0)
    assert frames == [Frame(0x20, 0x30)] and d.dropped == 3 and d.refused == 0


def test_bad_checksum_is_refused_and_the_next_frame_read() -> None:
    good = Status(1, SHUT, EMPTY).reply()
    bad = good[:-1] + bytes([(good[-1] + 1) & 0xFF])
    d = Deframer(0.05)
    assert d.feed(bad, 0.0) == []
    assert d.refused == 1
    assert d.feed(good, 0.001) == [Frame(0x10, STATUS_REPLY, b"\xff\xff\x00\x00")]


def test_resync_on_the_stx_inside_a_broken_frame() -> None:
    good = unlock_request(1, 6)
    d = Deframer(0.05)
    # a reply cut short by a glitch, and the next frame right behind it
    assert d.feed(bytes.fromhex("02 00 35 FF") + good, 0.0) == [Frame(0x15, 0x31)]
    assert d.refused == 1


def test_unknown_command_is_refused() -> None:
    d = Deframer(0.05)
    assert d.feed(encode(0x00, 0x37, b"\x00\x32") + status_request(0), 0.0) == [Frame(0, 0x30)]
    assert d.refused == 1


def test_a_frame_split_over_two_reads_is_joined() -> None:
    frame = Status(0, SHUT, EMPTY).reply()
    d = Deframer(0.05)
    assert d.feed(frame[:4], 10.0) == []
    assert d.feed(frame[4:], 10.01) == [Frame(0x00, STATUS_REPLY, b"\xff\xff\x00\x00")]


def test_a_partial_frame_is_discarded_after_a_silence() -> None:
    frame = Status(0, SHUT, EMPTY).reply()
    d = Deframer(0.05)
    assert d.feed(frame[:6], 10.0) == []
    # the board went quiet mid-frame; what comes next is a new frame, not the rest
    assert d.feed(frame, 10.5) == [Frame(0x00, STATUS_REPLY, b"\xff\xff\x00\x00")]
    assert d.dropped == 6 and d.refused == 0
