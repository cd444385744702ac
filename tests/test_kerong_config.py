"""Choosing the door hardware: ``doors.hardware``, ``[kerong]`` and each compartment's lock."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from locker.cli import main
from locker.config import ConfigError, Settings, load_settings
from tests.helpers import EXAMPLE

KERONG = {"hardware": "kerong"}


def layout(n: int, **extra: dict[str, Any]) -> list[dict[str, Any]]:
    """``n`` small compartments without pins, ``extra`` fields by id."""
    return [{"id": f"K{i}", "size": "S", "column": i, **extra.get(f"K{i}", {})} for i in range(n)]


def kerong(compartments: list[dict[str, Any]]) -> Settings:
    slow = {"forgive_per_day": 0.5}  # the brute-force floor, for 20 compartments too
    return load_settings(None, locker_id="k", doors=KERONG, compartments=compartments, lockout=slow)


def problems_of(compartments: list[dict[str, Any]]) -> list[str]:
    with pytest.raises(ConfigError) as err:
        kerong(compartments)
    return err.value.problems


def test_gpio_by_default_and_the_example_on_kerong() -> None:
    assert load_settings(EXAMPLE).doors.hardware == "gpio"
    s = load_settings(EXAMPLE, doors=KERONG)
    assert s.doors.hardware == "kerong" and s.doors.pulse_ms == 500  # the rest of [doors] kept
    assert s.kerong.baudrate == 19200 and s.kerong.port == "/dev/ttyUSB0"
    locks = s.kerong_locks()
    assert locks["A1"] == (0, 1) and locks["B1"] == (0, 2) and locks["C4"] == (0, 12)


def test_locks_by_order_in_the_layout_spill_onto_the_next_board() -> None:
    locks = kerong(layout(20)).kerong_locks()
    assert locks["K0"] == (0, 1) and locks["K15"] == (0, 16)
    assert locks["K16"] == (1, 1) and locks["K19"] == (1, 4)


def test_given_locks_are_kept() -> None:
    locks = kerong(layout(3, K1={"board": 4, "lock": 9})).kerong_locks()
    assert locks == {"K0": (0, 1), "K1": (4, 9), "K2": (0, 3)}


def test_two_compartments_on_one_lock_are_refused() -> None:
    found = problems_of(layout(3, K0={"board": 2, "lock": 5}, K2={"board": 2, "lock": 5}))
    assert "(top level): K2: Kerong board 2 lock 5 is already used by K0" in found
    # a given lock that takes the one a later compartment gets by its order
    found = problems_of(layout(3, K0={"board": 0, "lock": 2}))
    assert any("K1: Kerong board 0 lock 2 (by its order in the layout)" in p for p in found)


def test_board_and_lock_go_together_and_stay_in_range() -> None:
    assert any("board and lock go together" in p for p in problems_of(layout(2, K1={"lock": 3})))
    found = problems_of(layout(2, K0={"board": 16, "lock": 17}))
    assert any(p.startswith("compartments.0.board:") for p in found)
    assert any(p.startswith("compartments.0.lock:") for p in found)


def test_gpio_ignores_locks_and_kerong_needs_no_pins() -> None:
    doubled = layout(2, K0={"board": 0, "lock": 1}, K1={"board": 0, "lock": 1})
    gpio = load_settings(None, locker_id="k", compartments=doubled)  # not used: not checked
    assert any("relay_pin and reed_pin are required" in p for p in gpio.hardware_problems())
    pinless = kerong(layout(2))
    assert not any("pin" in p for p in pinless.hardware_problems())


def test_check_config_with_the_doors_override(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check-config", "--doors", "kerong", str(EXAMPLE)]) == 0
    assert "doors kerong" in capsys.readouterr().out
    clash = tmp_path / "clash.toml"
    clash.write_text(EXAMPLE.read_text().replace('id = "C4"', 'id = "C4"\nboard = 0\nlock = 1'))
    assert main(["check-config", str(clash)]) == 0  # gpio: board and lock are not used
    assert main(["check-config", "--doors", "kerong", str(clash)]) == 1
    assert "C4: Kerong board 0 lock 1 is already used by A1" in capsys.readouterr().out
