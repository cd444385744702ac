"""Start, cut and unmount the power-cut filesystem (:mod:`tests.reliability.cutfs`)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.helpers import ROOT

FUSERMOUNT = "fusermount3"


def unavailable() -> str | None:
    """Why no FUSE mount can be made here, or None."""
    if shutil.which(FUSERMOUNT) is None:
        return "no fusermount3 (Debian fuse3)"
    if not os.access("/dev/fuse", os.R_OK | os.W_OK):
        return "no access to /dev/fuse"
    return None


class Mount:
    """``disk`` (a real directory) seen through the filesystem at ``point``."""

    def __init__(self, disk: Path, point: Path) -> None:
        self.disk, self.point = disk, point
        self.grave = disk.parent / f"{disk.name}.grave"
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = disk.parent / f"{disk.name}.cutfs.log"
        self.marker = disk.parent / f"{disk.name}.sprung"  # cutfs writes it as a trap goes

    def start(self) -> Mount:
        self.marker.unlink(missing_ok=True)
        for folder in (self.disk, self.point, self.grave):
            folder.mkdir(parents=True, exist_ok=True)
        argv = [sys.executable, "-m", "tests.reliability.cutfs"]
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [*argv, str(self.disk), str(self.grave), str(self.point)],
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 30
        while not os.path.ismount(self.point):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise AssertionError(f"cutfs did not mount: {self.log.read_text()[-2000:]}")
            time.sleep(0.02)
        return self

    def held_back(self) -> tuple[int, int]:
        """What a cut would lose now: dirty pages, and name changes."""
        found = self._state()
        return sum(found["dirty_pages"].values()), len(found["pending_names"])

    def _state(self) -> dict[str, Any]:
        found: dict[str, Any] = json.loads((self.point / ".cutfs").read_text())
        return found

    def trap(self, suffix: str, torn_seed: int | None = None) -> None:
        """The power goes at the next fsync of a file named ``*suffix`` (mid-commit)."""
        order = f"trap sync {suffix}" + ("" if torn_seed is None else f" {torn_seed}")
        with (self.point / ".cutfs").open("w") as control:
            control.write(order)

    def sprung(self) -> bool:
        """Whether a trap went off (the fsync is held: kill the service, then ask)."""
        return self.marker.exists()

    def lost(self) -> dict[str, int]:
        """After a cut: the dirty pages it lost by kind of file, and the names."""
        found: dict[str, int] = self._state()["lost"]
        return found

    def cut(self, torn_seed: int | None = None) -> dict[str, int]:
        """Lose what is held back (all of it, or a random part of it), then unmount;
        answer what was lost."""
        order = "cut all" if torn_seed is None else f"cut torn {torn_seed}"
        with (self.point / ".cutfs").open("w") as control:
            control.write(order)
        lost = self.lost()
        self.stop()
        return lost

    def stop(self) -> None:
        """Unmount (nothing held back is written) and wait for the daemon to end."""
        if self.proc is not None:
            # NOTE: not only when os.path.ismount: after a cut its stat fails (EIO)
            subprocess.run(
                [FUSERMOUNT, "-u", "-z", str(self.point)], check=False, capture_output=True
            )
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=20)
            self.proc = None
