"""Configuration: the example is valid; every kind of mistake is named with its location."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from locker.cli import main
from locker.config import ConfigError, load_settings
from tests.helpers import EXAMPLE, ROOT
from tests.procs import free_port


def broken_copy(tmp_path: Path, old: str, new: str) -> Path:
    text = EXAMPLE.read_text()
    assert old in text
    path = tmp_path / "broken.toml"
    path.write_text(text.replace(old, new, 1))
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as err:
        load_settings(path)
    return err.value.problems


def test_example_layout() -> None:
    s = load_settings(EXAMPLE)
    assert s.locker_id == "demo" and len(s.compartments) == 12
    assert {c.column for c in s.compartments} == {0, 1, 2}
    assert sum(c.chilled for c in s.compartments) == 2
    lowest = [c.id for c in s.compartments if c.row == 0]
    assert lowest == [c.id for c in s.compartments if c.accessible] == ["A1", "B1", "C1"]
    assert {c.size for c in s.compartments} == {"S", "M", "L"}
    assert s.doors.active_high is False and s.doors.pulse_ms == 500


def test_check_config_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-config", str(EXAMPLE)]) == 0
    bad = broken_copy(tmp_path, "pulse_ms = 500", "pulse_msec = 500")
    assert main(["check-config", str(bad)]) == 1
    out = capsys.readouterr().out
    assert "doors.pulse_msec: unknown key" in out


def test_console_script_runs(tmp_path: Path) -> None:
    bad = broken_copy(tmp_path, 'size = "L"', 'size = "XL"')
    run = subprocess.run(
        [sys.executable, "-m", "locker.cli", "check-config", str(bad)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert run.returncode == 1 and "compartments.0.size" in run.stdout


def test_every_error_is_listed(tmp_path: Path) -> None:
    path = broken_copy(tmp_path, "debounce_ms = 50", "debounce_ms = 500\ncolour = 1")
    found = problems(path)
    assert any(p.startswith("doors.debounce_ms:") for p in found)
    assert any(p == "doors.colour: unknown key" for p in found)


def test_duplicate_pins_and_ids(tmp_path: Path) -> None:
    path = broken_copy(tmp_path, "reed_pin = 18", "reed_pin = 21")
    assert any("BCM pin 21 is already used by A1.reed_pin" in p for p in problems(path))
    path = broken_copy(tmp_path, 'id = "B1"', 'id = "A1"')
    assert any("compartment id 'A1' is used twice" in p for p in problems(path))


def test_field_and_layout_errors_are_listed_together(tmp_path: Path) -> None:
    text = EXAMPLE.read_text().replace('size = "L"', 'size = "XL"', 1)
    text = text.replace("reed_pin = 18", "reed_pin = 21", 1)
    path = tmp_path / "two.toml"
    path.write_text(text)
    found = problems(path)
    assert any(p.startswith("compartments.0.size:") for p in found)
    assert any("BCM pin 21 is already used" in p for p in found)


def test_lockout_floor_is_enforced(tmp_path: Path) -> None:
    path = broken_copy(tmp_path, "forgive_per_day = 1.0", "forgive_per_day = 20.0")
    assert any(p.startswith("(top level): lockout:") for p in problems(path))


def test_not_toml(tmp_path: Path) -> None:
    path = tmp_path / "x.toml"
    path.write_text("locker_id = [unclosed")
    assert "not valid TOML" in problems(path)[0]
    assert "no such file" in problems(tmp_path / "missing.toml")[0]


def test_environment_overrides_nested_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCKER_DOORS__PULSE_MS", "250")
    monkeypatch.setenv("LOCKER_LOCKER_ID", "mairie-chambeon")
    s = load_settings(EXAMPLE)
    assert s.doors.pulse_ms == 250 and s.locker_id == "mairie-chambeon"
    assert s.doors.left_open_s == 120  # the rest of [doors] still comes from the file


def test_hardware_rules(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-config", "--hardware", str(EXAMPLE)]) == 1
    assert "demo token" in capsys.readouterr().out


def test_serve_refuses_demo_tokens_outside_simulation(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--config", str(EXAMPLE)]) == 1
    assert "demo token" in capsys.readouterr().err


@pytest.fixture
def cabinet_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The example made acceptable for a real cabinet, but for its key."""
    tokens = {role: [f"{role}-token-0123456789abcdef"] for role in ("admin", "courier", "kiosk")}
    monkeypatch.setenv("LOCKER_API__TOKENS", json.dumps(tokens))
    monkeypatch.setenv("LOCKER_KIOSK__COURIER_PIN_HASHES", "[]")
    monkeypatch.setenv("LOCKER_KIOSK__STAFF_PIN_HASHES", "[]")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "does not exist"),
        (b"\n", "is empty"),
        (b"too-short\n", "at least 16"),
        (b"\x8f\x02\xff" * 11, "not text"),  # `head -c 32 /dev/urandom > locker.key`
    ],
)
def test_check_config_hardware_reads_the_key_file(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    cabinet_env: None,
    content: bytes | None,
    expected: str,
) -> None:
    key = tmp_path / "locker.key"
    if content is not None:
        key.write_bytes(content)
    monkeypatch.setenv("LOCKER_SECURITY__KEY_FILE", str(key))
    assert main(["check-config", "--hardware", str(EXAMPLE)]) == 1
    out = capsys.readouterr().out
    assert f"security: secret key file {key}" in out and expected in out, out
    key.write_text(secrets.token_urlsafe(32) + "\n")
    assert main(["check-config", "--hardware", str(EXAMPLE)]) == 0


def test_a_key_that_is_not_text_is_refused_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    key = tmp_path / "locker.key"
    key.write_bytes(b"\x8f\x02\xff" * 11)
    monkeypatch.setenv("LOCKER_SECURITY__KEY_FILE", str(key))
    monkeypatch.setenv("LOCKER_STORAGE__PATH", str(tmp_path / "locker.db"))
    monkeypatch.setenv("LOCKER_MQTT__ENABLED", "false")
    argv = ["serve", "--simulate", "--config", str(EXAMPLE), "--port", str(free_port())]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("locker: refusing to start: secret key file") and "not text" in err


def test_a_config_that_cannot_be_read_is_an_error_not_a_traceback(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # e.g. /etc/locker/locker.toml (0640 root:locker) read by a user outside the group;
    # /proc/self/mem is a regular file whose first bytes cannot be read, even by root
    unreadable = Path("/proc/self/mem")
    assert unreadable.is_file()
    with pytest.raises(ConfigError) as err:
        load_settings(unreadable)
    assert err.value.problems[0].startswith(f"{unreadable}: cannot be read")
    assert main(["check-config", str(unreadable)]) == 1
    assert "cannot be read" in capsys.readouterr().out
    assert main(["serve", "--config", str(unreadable), "--port", str(free_port())]) == 1
    assert "cannot be read" in capsys.readouterr().err


def test_chilled_zones_are_checked(tmp_path: Path) -> None:
    s = load_settings(EXAMPLE)
    assert [z.id for z in s.zones] == ["Z1"] and s.zones[0].compartments == ["B2", "B3"]
    assert s.zones[0].spec().critical_c == 8.0 and s.cold_chain.w1_pin == 4
    found = problems(broken_copy(tmp_path, 'compartments = ["B2", "B3"]', 'compartments = ["B2"]'))
    assert "(top level): compartment B3: chilled, but in no zone (add it to a [[zones]])" in found
    more = 'compartments = ["B2", "B3", "C4", "Q9"]'
    found = problems(broken_copy(tmp_path, 'compartments = ["B2", "B3"]', more))
    assert "(top level): zones.0 (Z1): compartment C4 is not chilled" in found
    assert "(top level): zones.0 (Z1): no compartment Q9" in found
    found = problems(broken_copy(tmp_path, "w1_pin = 4 ", "w1_pin = 17"))
    clash = "cold_chain.w1_pin: BCM 17 is the 1-Wire data line and compartment B1"
    assert any(clash in p for p in found)
    found = problems(broken_copy(tmp_path, 'on_broken = "hold"', 'on_broken = "warn"'))
    assert any("on_broken = 'warn' is refused for a zone at or below 4 °C" in p for p in found)
    found = problems(broken_copy(tmp_path, "sample_s = 30 ", "sample_s = 90 "))
    assert any(p.startswith("cold_chain.sample_s:") for p in found)
    found = problems(broken_copy(tmp_path, 'sensor = "28-0316a2b4c5d6"', 'sensor = "probe-1"'))
    assert any(p.startswith("zones.0.sensor:") for p in found)
    moved = broken_copy(tmp_path, "relay_pin = 2 ", "relay_pin = 4 ")
    clash = "BCM 4 is the 1-Wire data line and compartment A1's relay_pin"
    assert any(clash in p for p in problems(moved))


@pytest.mark.parametrize("key", ["5", "L", ":", "Enter", "Backspace"])
def test_a_speech_key_that_types_codes_is_refused(key: str) -> None:
    with pytest.raises(ConfigError, match=r"kiosk\.speech_key: .* is used to type codes"):
        load_settings(EXAMPLE, kiosk={"speech_key": key})
    assert load_settings(EXAMPLE, kiosk={"speech_key": "F1"}).kiosk.speech_key == "F1"
