"""Kerong KR-CU16 frames: ``STX ADDR CMD [DATA…] ETX SUM``, encoded and decoded. No I/O.

``SUM`` is the low byte of the sum of every byte before it, STX included.
``ADDR`` carries the board (DIP switches, 0-15) in its high nibble and the
lock index on the wire (lock 1 = index 0) in its low nibble. The facts and
the points left open are in shared/hardware/kerong-cu16.md.
"""

from __future__ import annotations

from dataclasses import dataclass

STX = 0x02
ETX = 0x03
STATUS = 0x30  # query one board's status
UNLOCK = 0x31  # unlock one lock
STATUS_REPLY = 0x35  # D1 D2 lock bits, D3 D4 item sensors
BOARDS = 16
LOCKS = 16
# DATA length by command. A frame of any other command is refused: its length
# is unknown (0x37's reply is an open point), so it cannot be framed safely.
DATA_LENGTHS = {0x30: 0, 0x31: 0, 0x32: 0, 0x33: 0, 0x35: 4, 0x36: 4}


def checksum(data: bytes | bytearray) -> int:
    return sum(data) & 0xFF


def encode(addr: int, cmd: int, data: bytes = b"") -> bytes:
    if not (0 <= addr <= 0xFF and 0 <= cmd <= 0xFF):
        raise ValueError("ADDR and CMD are single bytes")
    body = bytes([STX, addr, cmd, *data, ETX])
    return body + bytes([checksum(body)])


def lock_addr(board: int, lock: int) -> int:
    """ADDR of ``lock`` (1-16, as printed on the board) on ``board`` (0-15)."""
    if not (0 <= board < BOARDS and 1 <= lock <= LOCKS):
        raise ValueError(f"board 0-{BOARDS - 1} and lock 1-{LOCKS}, not {board}/{lock}")
    return board << 4 | (lock - 1)


def status_request(board: int) -> bytes:
    return encode(lock_addr(board, 1), STATUS)


def unlock_request(board: int, lock: int) -> bytes:
    return encode(lock_addr(board, lock), UNLOCK)


@dataclass(frozen=True)
class Frame:
    addr: int
    cmd: int
    data: bytes = b""

    @property
    def board(self) -> int:
        return self.addr >> 4

    def encode(self) -> bytes:
        return encode(self.addr, self.cmd, self.data)


def _bits(low: int, high: int) -> tuple[bool, ...]:
    word = low | high << 8
    return tuple(bool(word >> i & 1) for i in range(LOCKS))


def _bytes(bits: tuple[bool, ...] | list[bool]) -> bytes:
    word = sum(1 << i for i, bit in enumerate(bits) if bit)
    return bytes([word & 0xFF, word >> 8])


@dataclass(frozen=True)
class Status:
    """One board's status; index 0 is lock 1."""

    board: int
    locked: tuple[bool, ...]  # hook latched (door shut); False: unlocked or open
    items: tuple[bool, ...]  # infrared item sensor sees something (0 on boards without)

    @classmethod
    def of(cls, frame: Frame) -> Status:
        if frame.cmd != STATUS_REPLY or len(frame.data) != 4:
            raise ValueError(f"not a status reply: CMD {frame.cmd:#04x}, {len(frame.data)} bytes")
        d1, d2, d3, d4 = frame.data
        return cls(frame.board, _bits(d1, d2), _bits(d3, d4))

    def reply(self, addr: int | None = None) -> bytes:
        """The 9-byte ``0x35`` frame; ``addr`` defaults to ``board << 4``."""
        data = _bytes(self.locked) + _bytes(self.items)
        return encode(self.board << 4 if addr is None else addr, STATUS_REPLY, data)


class Deframer:
    """Cuts a byte stream into checked frames.

    Bytes before an STX are dropped; a frame with a wrong checksum, no ETX
    where its command says, or a command of unknown length is refused, and
    the search starts again at the next STX after its start. A partial frame
    is discarded when no byte came for ``gap_s`` (a board that went quiet
    mid-frame). Times are passed in, so the class does no I/O.
    """

    def __init__(self, gap_s: float) -> None:
        self.gap_s = gap_s
        self._buffer = bytearray()
        self._last = 0.0
        self.refused = 0  # frames with a bad checksum or framing
        self.dropped = 0  # bytes thrown away: noise, partial and refused frames

    def reset(self) -> None:
        self.dropped += len(self._buffer)
        self._buffer.clear()

    def feed(self, data: bytes, now: float) -> list[Frame]:
        if self._buffer and now - self._last > self.gap_s:
            self.reset()
        if data:
            self._last = now
            self._buffer += data
        frames: list[Frame] = []
        while (frame := self._next()) is not None:
            frames.append(frame)
        return frames

    def _skip_to_stx(self, start: int) -> None:
        cut = self._buffer.find(STX, start)
        cut = len(self._buffer) if cut < 0 else cut
        self.dropped += cut
        del self._buffer[:cut]

    def _refuse(self) -> None:
        self.refused += 1
        self._skip_to_stx(1)

    def _next(self) -> Frame | None:
        while True:
            self._skip_to_stx(0)
            buf = self._buffer
            if len(buf) < 3:
                return None
            size = DATA_LENGTHS.get(buf[2])
            if size is None:  # a command we cannot frame: not ours to read
                self._refuse()
                continue
            end = 3 + size + 1  # index of SUM
            if len(buf) <= end:
                return None
            if buf[end - 1] != ETX or buf[end] != checksum(buf[:end]):
                self._refuse()
                continue
            frame = Frame(buf[1], buf[2], bytes(buf[3 : end - 1]))
            del buf[: end + 1]
            return frame
