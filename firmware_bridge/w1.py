"""DS18B20 probes on the Pi's 1-Wire bus, read through w1thermsensor.

The kernel (``dtoverlay=w1-gpio``) lists each probe as
``<devices>/28-<id>/w1_slave``; w1thermsensor reads that file. A read answers a
temperature in °C or the fault that stood for it (``../shared/hardware/ds18b20.md``):
``85`` (the power-on value: no conversion happened), ``crc`` (``NO`` on the
first line, after retries), ``missing`` (no device, or its file cannot be read).
Range and stuck values are judged by the domain (:mod:`locker.domain.zones`).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

# NOTE: the service never loads kernel modules: the boot overlay does (WIRING.md).
os.environ.setdefault("W1THERMSENSOR_NO_KERNEL_MODULE", "1")

from w1thermsensor import Sensor, W1ThermSensor
from w1thermsensor.errors import (
    NoSensorFoundError,
    ResetValueError,
    SensorNotReadyError,
    W1ThermSensorError,
)

CRC_TRIES = 3  # a noisy line: read again before calling it a fault
CRC_PAUSE_S = 0.1

Sample = tuple[float | None, str | None]  # (celsius, fault): one of them is None


class ProbeBus:
    """The probes under one devices directory (the kernel's, or a simulated tree)."""

    def __init__(self, devices: Path) -> None:
        self.devices = Path(devices)
        # w1thermsensor looks in a class attribute: one subclass per bus.
        self._sensor = type("BusSensor", (W1ThermSensor,), {"BASE_DIRECTORY": self.devices})

    def read(self, device: str) -> Sample:
        """One read of ``device`` (``28-…``): blocks about 750 ms on a real probe."""
        sensor_id = device.removeprefix("28-")
        for attempt in range(CRC_TRIES):
            try:
                sensor = self._sensor(Sensor.DS18B20, sensor_id)
                return float(sensor.get_temperature()), None
            except ResetValueError:
                return None, "85"
            except SensorNotReadyError:
                if attempt + 1 < CRC_TRIES:
                    time.sleep(CRC_PAUSE_S)
            except (NoSensorFoundError, OSError, IndexError, ValueError):
                return None, "missing"  # gone, or a half-written file
            except W1ThermSensorError:
                return None, "missing"
        return None, "crc"
