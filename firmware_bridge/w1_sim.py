"""Simulated DS18B20 probes: ``w1_slave`` files in a fake sysfs tree, in the kernel's format.

The service reads them with w1thermsensor exactly as it reads the kernel's
files. Each read the tree is written again with the zone's set temperature
plus up to ±0.1 °C of noise, quantised as the probe does (1/16 °C), so that a
steady zone never reads as stuck (decision 31); or with the fault it is given:
``85`` (the power-on value), ``crc`` (``NO``), ``missing`` (the directory
removed), ``stuck`` (the same value, without noise, read after read).
"""

from __future__ import annotations

import random
import shutil
import tempfile
import threading
from pathlib import Path

SIM_FAULTS = ("85", "crc", "missing", "stuck")
_STEP = 0.0625  # the DS18B20's 12-bit resolution


def w1_slave(celsius: float, crc_ok: bool = True) -> str:
    """The two lines of a ``w1_slave`` file for a reading of ``celsius``."""
    raw = round(celsius / _STEP) & 0xFFFF
    data = f"{raw & 0xFF:02x} {raw >> 8:02x} 4b 46 7f ff 0c 10 1c"
    milli = round(round(celsius / _STEP) * _STEP * 1000)
    return f"{data} : crc=1c {'YES' if crc_ok else 'NO'}\n{data} t={milli}\n"


class SimulatedProbes:
    """A fake ``/sys/bus/w1/devices`` with one probe per zone, set from the sim route."""

    def __init__(
        self,
        devices: dict[str, str],
        root: Path | None = None,
        celsius: float = 3.0,
        seed: int | None = None,
    ) -> None:
        """``devices``: zone id -> probe directory name (``28-…``); ``root``: where the tree
        goes (emptied first; default a new temporary directory)."""
        if root is None:
            root = Path(tempfile.mkdtemp(prefix="locker-w1-"))
        else:
            shutil.rmtree(root, ignore_errors=True)  # a tree a killed run left behind
            root.mkdir(parents=True)
        self.root = root
        self._devices = dict(devices)
        self._celsius = {zone: celsius for zone in devices}
        self._fault: dict[str, str | None] = {zone: None for zone in devices}
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        for zone in devices:
            self._write(zone)

    def knows(self, zone: str) -> bool:
        return zone in self._devices

    def set(self, zone: str, celsius: float | None = None, fault: str | None = None) -> None:
        """The zone's temperature from now on, and its fault (None: none)."""
        with self._lock:
            if celsius is not None:
                self._celsius[zone] = celsius
            self._fault[zone] = fault
            self._write(zone)

    def state(self, zone: str) -> dict[str, object]:
        with self._lock:
            return {"zone": zone, "celsius": self._celsius[zone], "fault": self._fault[zone]}

    def refresh(self, zone: str) -> None:
        """A new conversion: written before each read, as the kernel does."""
        with self._lock:
            self._write(zone)

    def _write(self, zone: str) -> None:
        folder = self.root / self._devices[zone]
        fault = self._fault[zone]
        if fault == "missing":
            shutil.rmtree(folder, ignore_errors=True)
            return
        folder.mkdir(parents=True, exist_ok=True)
        celsius = self._celsius[zone]
        if fault == "85":
            text = w1_slave(85.0)
        elif fault == "crc":
            text = w1_slave(celsius, crc_ok=False)
        elif fault == "stuck":
            text = w1_slave(celsius)
        else:
            text = w1_slave(celsius + self._random.uniform(-0.1, 0.1))
        tmp = folder / "w1_slave.tmp"
        tmp.write_text(text)
        tmp.replace(folder / "w1_slave")

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
