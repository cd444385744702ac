"""``locker setup``: the plan of steps, printed, and carried out unless ``--dry-run``."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from tomlkit.toml_document import TOMLDocument

from locker.config import ConfigError, load_settings
from locker.setup import document, files, unit
from locker.setup.accounts import DEVICE_GROUPS, GROUP, USER, Accounts
from locker.setup.answers import PASSWORD_ENV, Answers
from locker.setup.configure import Made, configure
from locker.setup.files import Owned, Root
from locker.setup.questions import Asker, NoAnswer, interview
from locker.setup.shipped import EXAMPLE, UNIT, shipped

CONFIG = "/etc/locker/locker.toml"
CONFIG_DIR = Owned(0o750, "root", GROUP)
SECRET = Owned(0o640, "root", GROUP)  # the config and the key: root writes, the service reads
STATE_DIR = Owned(0o750, USER, GROUP)
UNIT_FILE = Owned(0o644, "root", "root")
NEEDS = {"gpio": "gpio", "kerong": "dialout"}  # the group a door hardware cannot work without


class SetupError(Exception):
    """A reason to stop before changing anything (exit 2)."""


@dataclass
class Step:
    line: str
    do: Callable[[], None] | None = None  # None: already as it should be


class Setup:
    def __init__(self, args: argparse.Namespace, root: Root) -> None:
        self.args = args
        self.root = root
        self.accounts = Accounts(root.path)
        self.steps: list[Step] = []
        self.changed = False

    # -- what the config becomes -------------------------------------------------------
    def _told(self) -> Answers:
        a = self.args
        told = Answers(
            locker_id=a.locker_id, phone=a.phone, broker=a.broker, hardware=a.hardware,
            serial_port=a.serial_port, layout=a.layout, sizes=a.sizes, ca_file=a.ca_file,
        )  # fmt: skip
        if a.no_broker:
            told.broker = "none"
        if a.tls is not None:
            told.tls = a.tls
        told.password = os.environ.get(PASSWORD_ENV)
        return told

    def _now(self, doc: TOMLDocument, first: bool) -> Answers:
        get = document.get
        locker_id = get(doc, "locker_id")
        broker = f"{get(doc, 'mqtt.host', '127.0.0.1')}:{get(doc, 'mqtt.port', 1883)}"
        return Answers(
            locker_id=None if locker_id in (None, "demo") else locker_id,
            phone=None if first else get(doc, "phone") or None,  # not the example's
            broker=broker if get(doc, "mqtt.enabled", True) else "none",
            password=get(doc, "mqtt.password") or None,
            hardware=get(doc, "doors.hardware", "gpio"),
            serial_port=get(doc, "kerong.port", "/dev/ttyUSB0"),
        )

    def _answers(self, doc: TOMLDocument, first: bool) -> Answers:
        from locker.setup import answers as check

        told, now = self._told(), self._now(doc, first)
        checks: dict[str, Callable[[str], str]] = {
            "locker_id": check.check_locker_id, "phone": check.check_phone,
            "broker": check.check_broker, "hardware": check.check_hardware,
            "serial_port": check.check_serial_port, "layout": check.check_layout,
        }  # fmt: skip
        for name, fn in checks.items():
            value = getattr(told, name)
            if value is not None:
                try:
                    setattr(told, name, fn(value))
                except ValueError as exc:
                    raise SetupError(f"--{name.replace('_', '-')} {value}: {exc}") from None
        if not self.args.non_interactive:
            asker = Asker()
            try:
                told = interview(asker, told, now, first)
            except NoAnswer as exc:
                raise SetupError(f"no answer to: {exc}: nothing changed") from None
            print(f"({asker.asked} questions)")
        elif first and (told.locker_id is None or told.phone is None):
            raise SetupError("a first install needs --locker-id and --phone")
        for name in ("locker_id", "phone", "broker", "hardware", "serial_port", "password"):
            if getattr(told, name) == getattr(now, name) and not first:
                setattr(told, name, None)  # the same as now: nothing to change
        if first:
            told.layout = told.layout or "example"
        return told

    def _document(self) -> tuple[TOMLDocument, TOMLDocument, bool]:
        example = shipped(EXAMPLE).read_text(encoding="utf-8")
        path = self.root(CONFIG)
        if path.exists():
            try:
                return (
                    document.parse(path.read_text(encoding="utf-8")),
                    document.parse(example),
                    False,
                )
            except PermissionError:
                raise SetupError(f"{CONFIG}: not readable by this user: run it with sudo") from None
            except Exception as exc:  # tomlkit's parse errors have no common base
                raise SetupError(
                    f"{CONFIG}: not valid TOML ({exc}): fix it or move it away"
                ) from None
        doc, stale = document.first(example)
        if stale:  # the example's wording moved on: still a valid file, said for the fix
            print(f"note: {len(stale)} of the example's demo comments were not rewritten")
        return doc, document.parse(example), True

    def _validate(self, text: str) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "locker.toml"
            path.write_text(text, encoding="utf-8")
            try:
                load_settings(path)
            except ConfigError as exc:
                problems = "\n  ".join(exc.problems)
                raise SetupError(f"the config would not load:\n  {problems}") from None

    # -- the steps ------------------------------------------------------------------
    def _ids(self, owned: Owned) -> tuple[int, int]:
        uid, gid = self.accounts.uid(owned.user), self.accounts.gid(owned.group)
        if uid is None or gid is None:
            raise SetupError(f"no user {owned.user} or group {owned.group} under {self.root.path}")
        return uid, gid

    def _add(self, line: str, do: Callable[..., None] | None = None, *args: Any) -> None:
        self.steps.append(Step(line, None if do is None else partial(do, *args)))

    def _command(self, line: str, argv: list[str]) -> None:
        self._add(line, self._tool, argv)

    @staticmethod
    def _tool(argv: list[str]) -> None:
        done = subprocess.run(argv, capture_output=True, text=True, check=False)  # noqa: S603
        if done.returncode != 0:
            raise SetupError(f"{' '.join(argv)}: {done.stderr.strip() or done.returncode}")

    def _set(self, path: Path, owned: Owned, make: Callable[..., None], *args: Any) -> None:
        """``make(path, *args, mode, uid, gid)``, owner ids looked up once made (the user
        may be made by an earlier step)."""
        make(path, *args, owned.mode, *self._ids(owned))

    def _owned(self, target: str, owned: Owned, how: str = "") -> None:
        """Mode and owner put right where they are not (the file or directory exists)."""
        uid, gid = self.accounts.uid(owned.user), self.accounts.gid(owned.group)
        if files.state(self.root(target)) == (owned.mode, uid, gid):
            self._add(f"= {target}{how} ({owned})")
        else:
            line = f"+ {target}{how}: mode and owner set to {owned}"
            self._add(line, self._set, self.root(target), owned, files.apply)

    def _directory(self, target: str, owned: Owned) -> None:
        if self.root(target).is_dir():
            self._owned(target, owned)
        else:
            self._add(f"+ {target}/ ({owned})", self._set, self.root(target), owned, files.make_dir)

    def _account_steps(self, hardware: str) -> list[str]:
        groups = [g for g in DEVICE_GROUPS if self.accounts.gid(g) is not None]
        warnings = []
        # NOTE: a group missing here is not made: it would own no device (Raspberry Pi OS's
        # udev rules give /dev/gpiochip* to gpio), and naming a missing group in the unit's
        # SupplementaryGroups= fails its start (216/GROUP) before the service could say
        # what is wrong. Left out, the service starts and says it cannot open the doors.
        needed = NEEDS[hardware]
        if needed not in groups:
            warnings.append(
                f"warning: no group {needed} on this system: {hardware} doors need it to reach "
                "their devices; it is left out of the unit (make it, then run setup again)"
            )
        if self.accounts.gid(GROUP) is None:
            self._command(f"+ group {GROUP}", self.accounts.groupadd())
        else:
            self._add(f"= group {GROUP}")
        account = self.accounts.user(USER)
        listed = ",".join(groups) or "-"
        if account is None:
            line = f"+ user {USER} (system, no login, groups {listed})"
            self._command(line, self.accounts.useradd(groups))
        elif missing := [g for g in groups if g not in account.groups]:
            self._command(
                f"+ user {USER} joins {','.join(missing)}", self.accounts.usermod(missing)
            )
        else:
            self._add(f"= user {USER} (groups {listed})")
        self.groups = groups
        return warnings

    def _file_steps(self, doc: TOMLDocument, text: str, made: Made, first: bool) -> None:
        self._directory(os.path.dirname(CONFIG), CONFIG_DIR)
        key = document.get(doc, "security.key_file")
        if key and not document.get(doc, "security.secret_key"):
            if self.root(key).exists():
                self._owned(key, SECRET, ": kept (a key is never replaced)")
            else:
                self._no_key_over_codes(key, str(document.get(doc, "storage.path") or ""))
                self.changed = True
                line = f"+ {key}: a fresh key ({SECRET}); back it up"
                self._add(line, self._set, self.root(key), SECRET, files.make_key)
        path = self.root(CONFIG)
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            self.changed = True
            how = "written from the example" if first else "updated"
            self._add(f"+ {CONFIG}: {how} ({SECRET})", self._set, path, SECRET, files.write, text)
            for note in made.notes:
                self._add(f"    {note}")
        else:
            self._owned(CONFIG, SECRET, ": unchanged")
        self._directory(os.path.dirname(str(document.get(doc, "storage.path"))), STATE_DIR)

    def _no_key_over_codes(self, key: str, db: str) -> None:
        """A key is missing beside a database that holds codes sealed with the lost one:
        a new key would make every code in it unusable, silently."""
        held = self.root(db) if db else None
        if held is None or not held.is_file() or held.stat().st_size == 0:
            return
        if not getattr(self.args, "new_key", False):
            raise SetupError(
                f"{key} is missing, and {db} holds codes sealed with it: restore the key "
                "from its backup (same path, 0640 root:locker), then run setup again. "
                "Only if it is lost for good: --new-key (every code in the database stops "
                "working; the conciergerie must send the reservations again)"
            )
        print(f"warning: a new key beside {db}: its codes no longer open anything")

    def _unit_steps(self) -> None:
        template = shipped(UNIT).read_text(encoding="utf-8")
        text = unit.render(template, unit.executable(), self.groups)
        path = self.root(unit.PATH)
        new = not path.exists() or path.read_text(encoding="utf-8") != text
        if new:
            self.changed = True
            self._add(f"+ {unit.PATH} (ExecStart {unit.executable()})", self._unit, path, text)
        else:
            self._add(f"= {unit.PATH}: unchanged")
        wants = self.root("/etc/systemd/system/multi-user.target.wants") / unit.NAME
        if new or not wants.is_symlink():
            for argv in unit.enable(self.root):
                self._command("+ " + " ".join(argv), argv)
        else:
            self._add(f"= {unit.NAME} enabled")

    @staticmethod
    def _unit(path: Path, text: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        files.write(path, text, UNIT_FILE.mode, 0, 0)

    # -- after ----------------------------------------------------------------------
    def check(self) -> bool:
        """``check-config --hardware`` of the written file: as the service's user on the
        cabinet; under a throwaway root in this process, its paths moved into that root."""
        if self.root.real:
            locker = str(unit.executable())
            argv = ["runuser", "-u", USER, "--", locker, "check-config", "--hardware", CONFIG]
            done = subprocess.run(argv, capture_output=True, text=True, check=False)  # noqa: S603
            print(done.stdout.rstrip() or done.stderr.rstrip())
            return done.returncode == 0
        path = self.root(CONFIG)
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
        moved: dict[str, Any] = {}
        for table, keys in (
            ("security", ("key_file",)),
            ("mqtt", ("ca_file", "cert_file", "key_file")),
        ):
            values = dict(raw.get(table, {}))
            for key in keys:
                if values.get(key):
                    values[key] = str(self.root(values[key]))
            moved[table] = values
        try:
            settings = load_settings(path, **moved)
            problems = settings.file_problems() + settings.hardware_problems()
        except ConfigError as exc:
            problems = exc.problems
        if problems:
            print(f"check-config --hardware {CONFIG}: {len(problems)} error(s)")
            for line in problems:
                print(f"  {line}")
            return False
        print(
            f"check-config --hardware {CONFIG}: ok ({len(settings.compartments)} compartments, "
            f"locker {settings.locker_id}, doors {settings.doors.hardware})"
        )
        return True

    def run(self) -> int:
        dry = self.args.dry_run
        if os.geteuid() != 0 and not dry:
            raise SetupError(
                f"run it as root: {unit.setup_command()} (or --dry-run to see the plan)"
            )
        if not self.root.real and not (self.root.path / "etc" / "passwd").is_file():
            raise SetupError(f"{self.root.path}/etc/passwd: missing (--root is a system's /)")
        doc, example, first = self._document()
        told = self._answers(doc, first)
        try:
            made = configure(doc, told, example, self.root.path, first)
        except ValueError as exc:
            raise SetupError(str(exc)) from None
        text = document.dumps(doc)
        self._validate(text)
        warnings = self._account_steps(document.get(doc, "doors.hardware", "gpio"))
        self._file_steps(doc, text, made, first)
        self._unit_steps()
        where = "" if self.root.real else f" into {self.root.path}"
        print(
            f"locker setup{where}"
            + (" (dry run: + is what it would do; nothing changes)" if dry else ":")
        )
        for line in warnings:
            print(line)
        if dry:
            for step in self.steps:
                print("  " + step.line)
            if made.secrets:
                print("  + made and shown once: " + ", ".join(what for what, _ in made.secrets))
            return 0
        try:
            for step in self.steps:
                print("  " + step.line)
                if step.do is not None:
                    step.do()
        finally:  # once they are in the file, a step failing after must not lose them
            config = self.root(CONFIG)
            if config.is_file() and config.read_text(encoding="utf-8") == text:
                self._show(made)
        ok = self.check()
        if unit.systemd_running(self.root):
            if not ok:
                print(f"{unit.NAME} not started: fix the config, then run setup again")
                return 1
            self._tool(unit.start(self.changed))
            print(f"{unit.NAME} started: journalctl -u locker -f")
        return 0 if ok else 1

    @staticmethod
    def _show(made: Made) -> None:
        if not made.secrets:
            return
        width = max(len(what) for what, _ in made.secrets)
        print("Made now and shown this once (setup keeps them and never shows them again;")
        print("the PINs are kept only as hashes): write them down now.")
        for what, value in made.secrets:
            print(f"  {what:<{width}}  {value}")


def run(args: argparse.Namespace) -> int:
    root = Root(Path(args.root).absolute() if args.root else Path("/"))
    try:
        return Setup(args, root).run()
    except SetupError as exc:
        print(f"locker setup: {exc}", file=sys.stderr)
        return 2
    except PermissionError as exc:  # /etc/locker is 0750 root:locker: a user's dry run
        print(f"locker setup: {exc.filename}: not readable by this user: use sudo", file=sys.stderr)
        return 2
