"""Hardware mode's pin factory: lgpio, or a one-line refusal saying what is missing."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from firmware_bridge.pin_factory import NoPinFactory, real_pin_factory
from tests.helpers import EXAMPLE, ROOT
from tests.procs import free_port

HAS_LGPIO = importlib.util.find_spec("lgpio") is not None


def _unset(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """Remove ``name`` from the environment for this test, and whatever the code sets too."""
    monkeypatch.setenv(name, "")
    monkeypatch.delenv(name)


@pytest.fixture
def no_lgpio(monkeypatch: pytest.MonkeyPatch) -> None:
    """A machine without lgpio (a PC), even where it is installed."""
    monkeypatch.setitem(sys.modules, "lgpio", None)
    monkeypatch.delitem(sys.modules, "gpiozero.pins.lgpio", raising=False)
    _unset(monkeypatch, "GPIOZERO_PIN_FACTORY")


@pytest.mark.usefixtures("no_lgpio")
def test_missing_lgpio_is_refused_in_one_line_with_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _unset(monkeypatch, "LG_WD")
    cwd = os.getcwd()
    with pytest.raises(NoPinFactory) as caught:
        real_pin_factory(tmp_path / "data")
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("no GPIO pins: lgpio could not be loaded (import of lgpio halted")
    assert "pip install '/opt/locker[pi]'" in message and "python3-lgpio" in message
    # lgpio would have made its FIFO in the database's directory, and the cwd is unchanged
    assert os.environ["LG_WD"] == str((tmp_path / "data").resolve())
    assert (tmp_path / "data").is_dir() and os.getcwd() == cwd


@pytest.mark.usefixtures("no_lgpio")
def test_an_lg_wd_set_by_the_operator_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LG_WD", "/run/locker")
    with pytest.raises(NoPinFactory):
        real_pin_factory(tmp_path / "data")
    assert os.environ["LG_WD"] == "/run/locker"
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("bogus", "GPIOZERO_PIN_FACTORY=bogus could not be loaded (gpiozero knows no pin factory"),
        ("mock", "GPIOZERO_PIN_FACTORY=mock: mock pins drive no lock; use --simulate instead"),
    ],
)
def test_a_factory_chosen_by_name_that_cannot_drive_a_lock_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, expected: str
) -> None:
    monkeypatch.setenv("GPIOZERO_PIN_FACTORY", name)
    monkeypatch.setenv("LG_WD", str(tmp_path))
    with pytest.raises(NoPinFactory, match=expected.replace("(", r"\(")):
        real_pin_factory(tmp_path)


@pytest.mark.parametrize(
    ("factory", "expected"),
    [
        pytest.param(
            None,
            "no GPIO pins: lgpio could not be loaded (No module named 'lgpio')",
            marks=pytest.mark.skipif(HAS_LGPIO, reason="lgpio is installed: a real Pi"),
        ),
        ("mock", "GPIOZERO_PIN_FACTORY=mock: mock pins drive no lock"),
    ],
)
def test_serve_in_hardware_mode_without_pins_refuses_in_one_line(
    tmp_path: Path, factory: str | None, expected: str
) -> None:
    """The real ``locker serve``, no --simulate, a valid config for a real cabinet."""
    env = {k: v for k, v in os.environ.items() if k not in ("GPIOZERO_PIN_FACTORY", "LG_WD")}
    env.update(
        {
            "LOCKER_API__TOKENS": '{"admin": ["admin-0123456789abcdef"], '
            '"courier": ["courier-0123456789abcdef"], "kiosk": ["kiosk-0123456789abcdef"]}',
            "LOCKER_KIOSK__COURIER_PIN_HASHES": "[]",
            "LOCKER_KIOSK__STAFF_PIN_HASHES": "[]",
            "LOCKER_SECURITY__SECRET_KEY": "a-real-cabinet-key-0123456789",
            "LOCKER_STORAGE__PATH": str(tmp_path / "data" / "locker.db"),
            "LOCKER_MQTT__ENABLED": "false",
        }
    )
    if factory is not None:
        env["GPIOZERO_PIN_FACTORY"] = factory
    command = [sys.executable, "-m", "locker.cli", "serve", "--config", str(EXAMPLE)]
    done = subprocess.run(
        [*command, "--port", str(free_port())],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = (done.stdout + done.stderr).strip()
    assert done.returncode == 1, output
    assert len(output.splitlines()) == 1, output
    assert output.startswith(f"locker: refusing to start: {expected}")
    assert not (tmp_path / "data" / "locker.db").exists()  # refused before touching anything
