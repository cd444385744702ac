"""``locker setup`` into a throwaway root (``--root``): the real ``locker`` command, the
system's own useradd/groupadd/systemctl, every file's owner and mode checked, run twice."""

from __future__ import annotations

import difflib
import hashlib
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from locker.cli import main
from locker.config import Settings, load_settings
from locker.setup import document
from locker.setup.layouts import grid
from locker.setup.shipped import EXAMPLE, shipped

LOCKER = Path(sys.executable).parent / "locker"
PASSWORD_ENV = "LOCKER_SETUP_MQTT_PASSWORD"
SETUP = f"sudo {Path(sys.executable).parent / 'locker'} setup"  # sudo's PATH lacks the venv
# A Raspberry Pi OS system's account files, cut down: gpio and dialout exist, with pi in them.
PASSWD = "root:x:0:0:root:/root:/bin/bash\npi:x:1000:1000:,,,:/home/pi:/bin/bash\n"
GROUP = "root:x:0:\ndialout:x:20:pi\npi:x:1000:\ngpio:x:997:pi\n"
SHADOW = "root:*:19000:0:99999:7:::\npi:*:19000:0:99999:7:::\n"
GSHADOW = "root:*::\ndialout:!::pi\npi:!::\ngpio:!::pi\n"
FIRST = ["--non-interactive", "--locker-id", "mairie-chambeon", "--phone", "04 75 12 34 56"]


def seed(root: Path, group: str = GROUP, gshadow: str = GSHADOW) -> Path:
    etc = root / "etc"
    etc.mkdir(parents=True)
    for name, text, mode in (
        ("passwd", PASSWD, 0o644),
        ("group", group, 0o644),
        ("shadow", SHADOW, 0o640),
        ("gshadow", gshadow, 0o640),
    ):
        (etc / name).write_text(text)
        (etc / name).chmod(mode)
    return root


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return seed(tmp_path / "root")


def setup(
    root: Path, *args: str, answers: str | None = None, password: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCKER_")}
    if password is not None:
        env[PASSWORD_ENV] = password
    return subprocess.run(
        [str(LOCKER), "setup", "--root", str(root), *args],
        input=answers if answers is not None else "",
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def tool(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)


def ids(root: Path, table: str, name: str) -> int:
    for line in (root / "etc" / table).read_text().splitlines():
        fields = line.split(":")
        if fields[0] == name:
            return int(fields[2])
    raise AssertionError(f"no {name} in {table}")


def owned(root: Path, target: str) -> tuple[str, str, str]:
    """(mode, user, group) of a path under root, named from root's own account files."""
    st = (root / target.lstrip("/")).lstat()
    users = {ids(root, "passwd", n): n for n in ("root", "locker")}
    groups = {ids(root, "group", n): n for n in ("root", "locker")}
    return f"{stat.S_IMODE(st.st_mode):04o}", users[st.st_uid], groups[st.st_gid]


def check_installed(root: Path) -> None:
    assert owned(root, "/etc/locker") == ("0750", "root", "locker")
    assert owned(root, "/etc/locker/locker.toml") == ("0640", "root", "locker")
    assert owned(root, "/etc/locker/locker.key") == ("0640", "root", "locker")
    assert owned(root, "/var/lib/locker") == ("0750", "locker", "locker")
    assert owned(root, "/etc/systemd/system/locker.service") == ("0644", "root", "root")
    passwd = (root / "etc/passwd").read_text()
    assert "locker:x:" in passwd and ":/var/lib/locker:/usr/sbin/nologin" in passwd
    enabled = tool("systemctl", "--root", str(root), "is-enabled", "locker")
    assert enabled.stdout.strip() == "enabled", enabled
    settings = loaded(root)
    assert settings.hardware_problems() == [] and settings.file_problems() == []
    assert str(settings.storage.path) == "/var/lib/locker/locker.db"


def loaded(root: Path) -> Settings:
    """The written config as the service would load it, its key looked for under root."""
    path = root / "etc/locker/locker.toml"
    return load_settings(path, security={"key_file": root / "etc/locker/locker.key"})


def secrets_shown(out: str) -> list[str]:
    shown = []
    for line in out.partition("write them down now.\n")[2].splitlines():
        if not line.startswith("  "):
            break
        shown.append(line.split()[-1])
    return shown


def tree(root: Path) -> dict[str, tuple[int, int, int, str]]:
    found = {}
    for path in sorted(root.rglob("*")):
        st = path.lstat()
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""
        found[str(path)] = (st.st_mode, st.st_uid, st.st_gid, digest)
    return found


def groups_of(root: Path, user: str) -> set[str]:
    rows = [line.split(":") for line in (root / "etc/group").read_text().splitlines()]
    return {r[0] for r in rows if user in r[3].split(",")}


def test_non_interactive_twice_keeps_the_key_and_secrets(root: Path) -> None:
    first = setup(root, *FIRST, "--broker", "broker.example.org:8883", password="locker-pass-0123")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "check-config --hardware /etc/locker/locker.toml: ok (12 compartments" in first.stdout
    check_installed(root)
    shown = secrets_shown(first.stdout)
    assert len(shown) == 5  # three tokens, the courier PIN, the staff PIN
    config = (root / "etc/locker/locker.toml").read_text()
    key = (root / "etc/locker/locker.key").read_bytes()
    doc = document.parse(config)
    assert document.get(doc, "mqtt.host") == "broker.example.org"
    assert (document.get(doc, "mqtt.port"), document.get(doc, "mqtt.tls")) == (8883, True)
    assert document.get(doc, "mqtt.username") == "mairie-chambeon"
    assert document.get(doc, "mqtt.password") == "locker-pass-0123"
    assert "locker-pass-0123" not in first.stdout + first.stderr
    for token in shown[:3]:
        assert token in config  # the tokens are in the file (root only), the PINs are not
    for pin in shown[3:]:
        assert pin not in config and pin.isdigit()
    assert len(shown[3]) == 6 and len(shown[4]) == 8
    assert groups_of(root, "locker") == {"gpio", "dialout"}

    again = setup(root, "--non-interactive")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "shown this once" not in again.stdout and not any(s in again.stdout for s in shown)
    assert "+ " not in again.stdout  # nothing to do
    assert (root / "etc/locker/locker.toml").read_text() == config
    assert (root / "etc/locker/locker.key").read_bytes() == key
    check_installed(root)

    phone = setup(root, "--non-interactive", "--phone", "04 75 99 88 77")
    assert phone.returncode == 0, phone.stdout + phone.stderr
    changed = [
        line
        for line in difflib.unified_diff(
            config.splitlines(), (root / "etc/locker/locker.toml").read_text().splitlines(), n=0
        )
        if line[:1] in "+-" and line[:3] not in ("+++", "---")
    ]
    assert changed == ['-phone = "04 75 12 34 56"', '+phone = "04 75 99 88 77"']
    assert (root / "etc/locker/locker.key").read_bytes() == key
    assert "shown this once" not in phone.stdout


def test_a_lost_key_is_never_made_again_over_a_database(root: Path) -> None:
    """A new key beside a database holding codes would make every code unusable."""
    assert setup(root, *FIRST, "--no-broker").returncode == 0
    db = root / "var/lib/locker/locker.db"
    db.write_bytes(b"SQLite format 3\x00 codes sealed with the old key")
    (root / "etc/locker/locker.key").unlink()
    refused = setup(root, "--non-interactive")
    assert refused.returncode != 0
    assert "restore the key from its backup" in refused.stdout + refused.stderr
    assert not (root / "etc/locker/locker.key").exists()
    forced = setup(root, "--non-interactive", "--new-key")
    assert forced.returncode == 0, forced.stdout + forced.stderr
    assert "its codes no longer open anything" in forced.stdout
    assert (root / "etc/locker/locker.key").stat().st_size > 16


def test_interactive_asks_again_after_a_bad_answer_and_keeps_on_enter(root: Path) -> None:
    answers = "\n".join(
        [
            "mairie chambeon",  # a space: asked again
            "mairie-chambeon",
            "04 75 12 34 56",
            "none",  # no broker: no password question
            "kerong",
            "/dev/ttyUSB1",
            "3x2",
            "L,X",  # not a size: asked again
            "L,S",
        ]
    )
    first = setup(root, answers=answers + "\n")
    assert first.returncode == 0, first.stdout + first.stderr
    assert first.stdout.count("a locker id is 1 to 64 letters") == 1
    assert first.stdout.count("give 2 size(s)") == 1
    assert "(7 questions)" in first.stdout
    check_installed(root)
    doc = document.parse((root / "etc/locker/locker.toml").read_text())
    assert document.get(doc, "mqtt.enabled") is False
    assert (document.get(doc, "doors.hardware"), document.get(doc, "kerong.port")) == (
        "kerong",
        "/dev/ttyUSB1",
    )
    doors = document.compartments(doc)
    assert [(c["id"], c["size"], c.get("accessible", False)) for c in doors] == [
        ("A1", "L", True),
        ("B1", "L", True),
        ("C1", "L", True),
        ("A2", "S", False),
        ("B2", "S", False),
        ("C2", "S", False),
    ]
    assert not any("relay_pin" in c for c in doors) and document.get(doc, "zones") is None
    assert groups_of(root, "locker") == {"gpio", "dialout"}  # lights may use GPIO pins

    config = (root / "etc/locker/locker.toml").read_text()
    key = (root / "etc/locker/locker.key").read_bytes()
    again = setup(root, answers="\n" * 6)  # Enter to each: everything kept
    assert again.returncode == 0, again.stdout + again.stderr
    assert "[mairie-chambeon]" in again.stdout and "[keep]" in again.stdout
    assert "(6 questions)" in again.stdout  # id, phone, broker, doors, port, layout
    assert (root / "etc/locker/locker.toml").read_text() == config
    assert (root / "etc/locker/locker.key").read_bytes() == key
    assert "shown this once" not in again.stdout
    check_installed(root)


def test_dry_run_changes_nothing(root: Path) -> None:
    before = tree(root)
    dry = setup(root, *FIRST, "--dry-run")
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert tree(root) == before
    assert "+ /etc/locker/locker.key: a fresh key" in dry.stdout
    assert "+ made and shown once: admin API token" in dry.stdout
    assert "shown this once" not in dry.stdout  # no secret is printed for nothing
    assert setup(root, *FIRST).returncode == 0
    installed = tree(root)
    dry = setup(root, "--non-interactive", "--phone", "01 23 45 67 89", "--dry-run")
    assert dry.returncode == 0 and "+ /etc/locker/locker.toml: updated" in dry.stdout
    assert tree(root) == installed


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
def test_the_unit_runs_this_locker_and_passes_systemd_analyze_verify(root: Path) -> None:
    assert setup(root, *FIRST).returncode == 0
    path = root / "etc/systemd/system/locker.service"
    # ExecStart is this venv's locker, a real path here: verify the file as written
    out = tool("systemd-analyze", "verify", "--man=no", str(path))
    assert out.returncode == 0 and out.stderr.strip() == "", out.stderr
    fields = dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    assert fields["ExecStart"] == f"{LOCKER} serve --config /etc/locker/locker.toml"
    assert fields["SupplementaryGroups"] == "gpio dialout"
    link = root / "etc/systemd/system/multi-user.target.wants/locker.service"
    assert os.readlink(link) == "/etc/systemd/system/locker.service"


def test_a_missing_group_is_left_out_with_a_warning(tmp_path: Path) -> None:
    root = seed(
        tmp_path / "root",
        group="root:x:0:\ndialout:x:20:\n",
        gshadow="root:*::\ndialout:!::\n",
    )
    done = setup(root, *FIRST)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "warning: no group gpio on this system" in done.stdout
    unit = (root / "etc/systemd/system/locker.service").read_text()
    assert "SupplementaryGroups=dialout\n" in unit
    assert groups_of(root, "locker") == {"dialout"}


def test_bad_flags_stop_before_anything_is_written(root: Path) -> None:
    before = tree(root)
    for args, reason in (
        (["--non-interactive", "--locker-id", "mairie-chambeon"], "needs --locker-id and --phone"),
        ([*FIRST, "--broker", "bad host:1883"], "--broker bad host:1883: the broker is"),
        ([*FIRST, "--layout", "5x5"], "use Kerong boards"),
        ([*FIRST, "--layout", "3x2", "--sizes", "L"], "give 2 size(s)"),
    ):
        done = setup(root, *args)
        assert done.returncode == 2 and reason in done.stderr, (args, done.stderr)
    assert tree(root) == before


def test_a_probe_under_sys_keeps_the_fridge_zone(root: Path) -> None:
    (root / "sys/bus/w1/devices/28-00000a1b2c3d").mkdir(parents=True)
    assert setup(root, *FIRST).returncode == 0
    doc = document.parse((root / "etc/locker/locker.toml").read_text())
    zones = document.get(doc, "zones")
    assert [(z["id"], z["sensor"], z["compartments"]) for z in zones] == [
        ("Z1", "28-00000a1b2c3d", ["B2", "B3"])
    ]
    assert {c["id"] for c in document.compartments(doc) if c.get("chilled")} == {"B2", "B3"}


def test_a_hand_made_config_keeps_its_edits_and_loses_its_demo_secrets(root: Path) -> None:
    etc = root / "etc/locker"
    etc.mkdir(parents=True)
    example = shipped(EXAMPLE).read_text()
    hand = example.replace("pulse_ms = 500 ", "pulse_ms = 300 ").replace(
        'locker_id = "demo"', '# our village\nlocker_id = "mairie-chambeon"'
    )
    (etc / "locker.toml").write_text(hand)
    done = setup(root, "--non-interactive")
    assert done.returncode == 0, done.stdout + done.stderr
    text = (etc / "locker.toml").read_text()
    assert "pulse_ms = 300 " in text and "# our village\n" in text
    assert "demo-admin" not in text and 'key_file = "/etc/locker/locker.key"' in text
    assert len(secrets_shown(done.stdout)) == 5
    check_installed(root)


def test_the_first_config_keeps_the_example_comments_but_not_its_demo_words() -> None:
    doc, stale = document.first(shipped(EXAMPLE).read_text())
    assert stale == []  # every rewrite still matches the example
    text = document.dumps(doc)
    assert "# The conciergerie server's broker." in text  # the example's comments stay
    # the demo values themselves (id, tokens, hashes) are what setup then replaces
    assert [line for line in text.splitlines() if "demo" in line.lower() and "#" in line] == []


def test_gpio_grids_use_distinct_free_pins() -> None:
    doors = grid(4, 3, ["L", "M", "S"], "gpio", w1_pin=4)
    pins = [c[k] for c in doors for k in ("relay_pin", "reed_pin")]
    assert len(pins) == len(set(pins)) == 24 and not {0, 1, 4} & set(pins)
    with pytest.raises(ValueError, match="at most 12 doors"):
        grid(13, 1, ["M"], "gpio", w1_pin=4)
    assert len(grid(20, 10, ["M"] * 10, "kerong", w1_pin=4)) == 200


def test_a_large_kerong_grid_keeps_the_brute_force_floor(root: Path) -> None:
    done = setup(root, *FIRST, "--hardware", "kerong", "--layout", "10x4")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "lockout.forgive_per_day lowered to" in done.stdout
    check_installed(root)


def test_serve_without_a_config_says_to_run_setup_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("LOCKER_CONFIG", raising=False)
    assert main(["serve"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.rstrip().endswith(f"run `{SETUP}`"), err
    missing = tmp_path / "etc/locker/locker.toml"  # what the unit passes
    assert main(["serve", "--config", str(missing)]) == 1
    assert capsys.readouterr().err == (
        f"locker: refusing to start: {missing} does not exist: run `{SETUP}`\n"
    )


def test_serve_names_each_demo_value_and_the_same_command(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["serve", "--config", str(shipped(EXAMPLE))]) == 1
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "locker: refusing to start:"
    for role in ("admin", "courier", "kiosk"):
        assert f"  api.tokens.{role}: the demo token 'demo-{role}' is not allowed" in lines
    assert "  kiosk.courier_pin_hashes: the demo PIN 2468 is not allowed" in lines
    assert "  kiosk.staff_pin_hashes: the demo PIN 24681357 is not allowed" in lines
    assert any(
        line.startswith("  security.key_file: var/locker.key is a relative") for line in lines
    )
    assert lines[-1] == f"  run `{SETUP}`: it replaces these and keeps the rest"
