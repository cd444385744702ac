"""espeak-ng, to WAV, cached per phrase: the controller's voice.

One synthesis at a time, at the lowest CPU priority (``chrt --idle``),
on a worker thread: a phrase is asked for after the door's unlock was
answered, and its synthesis never competes with the next unlock. A WAV is
kept on disk by the hash of its voice, rate and text, so a phrase costs its
synthesis once (``MAX_FILES`` kept, the oldest removed first).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import os
import shutil
import subprocess
import threading
import time
import wave
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

VOICES = {"fr": "fr", "en": "en"}  # espeak-ng voice per page language
RATE_WPM = 150  # espeak-ng's default is 175: a little slower, for everyone
MAX_FILES = 512
TIMEOUT_S = 15.0


class NoVoice(RuntimeError):
    """espeak-ng is not installed (the kiosk says so, decision 30)."""


@dataclass(frozen=True)
class Spoken:
    data: bytes  # the WAV
    voice: str
    text: str
    duration_s: float
    synthesised_s: float | None  # None: from the cache


def wav_duration(data: bytes) -> float:
    with wave.open(io.BytesIO(data), "rb") as w:
        return w.getnframes() / float(w.getframerate())


class Voice:
    def __init__(self, cache_dir: Path, binary: str | None = None) -> None:
        self.cache_dir = cache_dir
        self.binary = binary or shutil.which("espeak-ng")
        self._lock = threading.Lock()  # one synthesis at a time; a cached phrase never waits
        self.synthesised = 0  # for the metrics: phrases made, not served from the cache
        self.cached = 0

    @property
    def available(self) -> bool:
        return self.binary is not None

    def key(self, voice: str, text: str) -> str:
        return hashlib.sha256(f"{voice}|{RATE_WPM}|{text}".encode()).hexdigest()[:32]

    def say(self, text: str, lang: str) -> Spoken:
        """The WAV of ``text`` in ``lang``'s voice: from the cache, or made now."""
        if self.binary is None:
            raise NoVoice("espeak-ng is not installed: no speech")
        voice = VOICES[lang]
        path = self.cache_dir / f"{self.key(voice, text)}.wav"
        found = _read(path)
        if found is not None:
            self.cached += 1
            with contextlib.suppress(OSError):
                os.utime(path)  # the phrases in use are the last to be trimmed
            return Spoken(found[0], voice, text, found[1], None)
        with self._lock:
            found = _read(path)  # made meanwhile, for another screen
            took = None
            if found is None:
                started = time.monotonic()
                self._synthesise(voice, text, path)
                took = time.monotonic() - started
                self.synthesised += 1
                self._trim(path.parent)
                found = _read(path)
        if found is None:
            raise NoVoice("espeak-ng made no usable sound")
        return Spoken(found[0], voice, text, found[1], took)

    def _synthesise(self, voice: str, text: str, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        part = path.with_suffix(".part")
        assert self.binary is not None
        cmd = [self.binary, "-v", voice, "-s", str(RATE_WPM), "-w", str(part), "--stdin"]
        # Below the service: SCHED_IDLE runs espeak-ng only on a core nothing else wants,
        # so a phrase never takes the CPU from an unlock (nice 19 where chrt is missing).
        chrt, nice = shutil.which("chrt"), shutil.which("nice")
        if chrt:
            cmd = [chrt, "--idle", "0", *cmd]
        elif nice:
            cmd = [nice, "-n", "19", *cmd]
        try:
            subprocess.run(  # noqa: S603 - our own binary, the text on stdin
                cmd, input=text.encode(), check=True, timeout=TIMEOUT_S, capture_output=True
            )
            with part.open("rb") as f:
                os.fsync(f.fileno())  # a power cut leaves the WAV whole, or none
            os.replace(part, path)
        except (subprocess.SubprocessError, OSError) as err:
            part.unlink(missing_ok=True)
            said = getattr(err, "stderr", b"") or b""
            log.error(
                "espeak-ng failed (%s%s): no speech for this phrase",
                type(err).__name__,
                f": {said.decode(errors='replace').strip()[:200]}" if said else "",
            )
            raise NoVoice("espeak-ng failed") from err

    def _trim(self, folder: Path) -> None:
        files = []
        for p in folder.glob("*.wav"):
            with contextlib.suppress(OSError):
                files.append((p.stat().st_mtime, p))
        files.sort()
        for _, old in files[: max(0, len(files) - MAX_FILES)]:
            old.unlink(missing_ok=True)


def _read(path: Path) -> tuple[bytes, float] | None:
    """A cached WAV and its length in seconds; None when missing, and a broken one is
    removed (made again by the next request)."""
    try:
        data = path.read_bytes()
        return data, wav_duration(data)
    except FileNotFoundError:
        return None
    except (OSError, EOFError, wave.Error):
        log.warning("a cached phrase was unreadable: made again")
        path.unlink(missing_ok=True)
        return None
