"""Compartment layouts: the example's, or columns x rows with pins given automatically."""

from __future__ import annotations

import math
import string
from pathlib import Path
from typing import Any

from locker.config import LockoutConfig, either_first
from locker.domain.lockout import FLOOR_YEARS

# NOTE: BCM 0 and 1 are the HAT ID EEPROM's I2C lines (the Pi's documentation keeps
# them free); the 1-Wire line of the fridge probes (cold_chain.w1_pin) is taken out too.
RESERVED_PINS = frozenset({0, 1})
BCM_PINS = range(28)
KERONG_LOCKS = 16 * 16  # 16 boards of 16 locks on one bus
PROBE_GLOB = "28-*"  # DS18B20 probes under /sys/bus/w1/devices


def free_pins(w1_pin: int) -> list[int]:
    return [p for p in BCM_PINS if p not in RESERVED_PINS and p != w1_pin]


def grid(
    columns: int, rows: int, sizes: list[str], hardware: str, w1_pin: int
) -> list[dict[str, Any]]:
    """Row 0 at the bottom (reachable from a wheelchair), ids A1, B1 … from the bottom
    left, listed row by row (so Kerong locks 1, 2 … go A1, B1 …, as in the example).
    With GPIO, relays take the first free BCM pins in order and reed switches the next."""
    count = columns * rows
    pins = free_pins(w1_pin)
    if hardware == "gpio" and 2 * count > len(pins):
        raise ValueError(
            f"{columns}x{rows} is {count} doors: with GPIO each needs two BCM pins and a Pi "
            f"has {len(pins)} free ones (at most {len(pins) // 2} doors): use Kerong boards "
            "(hardware kerong)"
        )
    if count > KERONG_LOCKS:
        raise ValueError(f"{count} doors: one RS-485 bus holds {KERONG_LOCKS} locks at most")
    doors: list[dict[str, Any]] = []
    for row in range(rows):
        for column in range(columns):
            door: dict[str, Any] = {
                "id": f"{string.ascii_uppercase[column]}{row + 1}",
                "size": sizes[row],
            }
            if row == 0:
                door["accessible"] = True
            door["column"], door["row"] = column, row
            if hardware == "gpio":
                door["relay_pin"] = pins[len(doors)]
                door["reed_pin"] = pins[count + len(doors)]
            doors.append(door)
    return doors


def repin(doors: list[dict[str, Any]], w1_pin: int) -> list[dict[str, Any]]:
    """Pins for the doors that have none (a Kerong layout moved to GPIO), from the free ones."""
    used = {d[k] for d in doors for k in ("relay_pin", "reed_pin", "led_pin") if k in d}
    spare = iter(p for p in free_pins(w1_pin) if p not in used)
    missing = sum(("relay_pin" not in d) + ("reed_pin" not in d) for d in doors)
    if missing > len(free_pins(w1_pin)) - len(used):
        raise ValueError(
            f"{len(doors)} doors need more BCM pins than a Pi has: use Kerong boards "
            "(hardware kerong)"
        )
    for door in doors:
        for kind in ("relay_pin", "reed_pin"):
            if kind not in door:
                door[kind] = next(spare)
    return doors


def probes(root: Path) -> list[str]:
    """DS18B20 probe ids the kernel lists (``dtoverlay=w1-gpio``), sorted."""
    where = root / "sys" / "bus" / "w1" / "devices"
    return sorted(p.name for p in where.glob(PROBE_GLOB)) if where.is_dir() else []


def floor_forgive(doors: int, staff_pins: int, lockout: dict[str, Any]) -> float | None:
    """A lower ``lockout.forgive_per_day`` that keeps the brute-force floor for this many
    doors (the config's own rule: a carer's code in each, decision 27), or None when the
    current one does."""
    policy = LockoutConfig(**lockout).policy()
    years = policy.expected_years_to_open(2 * doors)
    if staff_pins:
        years = either_first(years, policy.expected_years_to_open(staff_pins))
    if years >= FLOOR_YEARS:
        return None
    return math.floor(policy.forgive_per_day * years / FLOOR_YEARS * 100) / 100
