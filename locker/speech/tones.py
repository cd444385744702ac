"""The short sounds of the kiosk, made once at start as WAV bytes (no file, no library).

``unlock``: two rising notes when a door unlocks (every person hears it, with
or without speech: a second sense beside the screen). ``key``: a short tick
for each key typed in audio mode, since speech never says the digits.
"""

from __future__ import annotations

import io
import math
import struct
import wave

RATE = 22_050


def _notes(notes: list[tuple[float, float]], volume: float = 0.5) -> bytes:
    """``notes``: (frequency Hz, seconds); each with 5 ms fades, so nothing clicks."""
    frames = bytearray()
    fade = int(RATE * 0.005)
    for freq, seconds in notes:
        n = int(RATE * seconds)
        for i in range(n):
            envelope = min(1.0, i / fade, (n - 1 - i) / fade) if fade else 1.0
            sample = 0.0 if freq == 0 else math.sin(2 * math.pi * freq * i / RATE)
            frames += struct.pack("<h", int(32767 * volume * envelope * sample))
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(bytes(frames))
    return out.getvalue()


TONES: dict[str, bytes] = {
    "unlock": _notes([(660.0, 0.12), (0.0, 0.04), (990.0, 0.18)]),
    "key": _notes([(1200.0, 0.04)], volume=0.3),
}
