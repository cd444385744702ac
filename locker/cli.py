"""The ``locker`` command: serve, check-config, backup, hash-pin, conciergerie."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from locker.clock import SimClockError, sim_clock_from_env
from locker.config import ConfigError, Settings, config_path, load_settings

HARDWARE = ("gpio", "kerong")


def _load(path_arg: str | None, simulate: bool, hardware: str | None = None) -> Settings:
    path = config_path(path_arg)
    if path is None and simulate:
        from locker.setup.shipped import EXAMPLE, shipped

        path = shipped(EXAMPLE)  # the demo layout, from a checkout or an installed package
    if path is None:
        raise ConfigError(["no configuration: give --config FILE or set LOCKER_CONFIG"])
    return load_settings(path, **_doors_override(hardware))


def _doors_override(hardware: str | None) -> dict[str, Any]:
    """``--hardware`` on the command line wins over ``doors.hardware`` in the file."""
    return {"doors": {"hardware": hardware}} if hardware else {}


def serve(args: argparse.Namespace) -> int:
    from locker.setup.unit import setup_command

    path = config_path(args.config)
    if not args.simulate and (path is None or not path.exists()):
        # one line: it is what the journal shows of a cabinet never set up
        missing = (
            f"{path} does not exist" if path else "no configuration (--config or $LOCKER_CONFIG)"
        )
        print(f"locker: refusing to start: {missing}: run `{setup_command()}`", file=sys.stderr)
        return 1
    hint, has_db = False, False
    try:
        settings = _load(args.config, args.simulate, args.hardware)
        has_db = Path(settings.storage.path).is_file()
        problems = [] if args.simulate else settings.hardware_problems()
        # a missing key is restored, not made again: the codes in the database need it
        hint = any(not p.startswith("security:") for p in problems)
        try:  # said with the others: a real cabinet never starts on a made-up time
            sim_clock_from_env(os.environ, args.simulate)
        except SimClockError as exc:
            problems.append(str(exc))
        if problems:
            raise ConfigError(problems)
    except ConfigError as exc:
        print("locker: refusing to start:", file=sys.stderr)
        for line in exc.problems:
            print(f"  {line}", file=sys.stderr)
        if hint:  # demo or missing secrets: what setup makes, keeping the rest of the file
            print(
                f"  run `{setup_command()}`: it replaces these and keeps the rest", file=sys.stderr
            )
        elif any(p.startswith("security:") for p in exc.problems):
            if has_db:  # its codes need that very key
                print("  restore the key file from its backup (0640 root:locker)", file=sys.stderr)
            else:  # no database yet: nothing sealed with a lost key
                print(f"  run `{setup_command()}`: it makes the key", file=sys.stderr)
        return 1
    from locker.logs import setup_logging

    fmt = settings.logging.format or ("text" if args.simulate else "json")
    redactor = setup_logging(fmt == "json", settings.logging.level, settings.secrets())

    from api.app import create_app
    from locker.runtime import build
    from locker.secrets import SecretKeyError
    from locker.server import serve as run_server
    from locker.systemd import Notifier, Watchdog

    notifier = Notifier()
    notifier.send("STATUS=starting: opening the database, reading the doors")
    watchdog = Watchdog.from_env(notifier)
    try:
        runtime = build(settings, simulate=args.simulate, watchdog=watchdog)
    except (SecretKeyError, SimClockError, RuntimeError, OSError) as exc:
        print(f"locker: refusing to start: {exc}", file=sys.stderr)
        notifier.send(f"STATUS=refusing to start: {exc}")
        return 1
    key_file = settings.security.key_file
    if key_file is not None and key_file.is_file():
        redactor.add(key_file.read_text().strip())
    app = create_app(runtime)
    host = args.host or settings.api.host
    port = args.port or settings.api.port
    mode = "simulation" if args.simulate else "hardware"
    ready = (
        f"locker {settings.locker_id} on http://{host}:{port} in {mode} mode, "
        f"{settings.doors.hardware} doors"
    )
    logging.getLogger("locker").info(ready)
    run_server(app, host, port, settings.logging.level, notifier, watchdog, "serving " + ready)
    return 0


def check_config(args: argparse.Namespace) -> int:
    try:
        settings = load_settings(Path(args.file), **_doors_override(args.doors))
        problems = settings.file_problems()
        problems += settings.hardware_problems() if args.hardware else []
        if problems:
            raise ConfigError(problems)
    except ConfigError as exc:
        print(f"{args.file}: {len(exc.problems)} error(s)")
        for line in exc.problems:
            print(f"  {line}")
        return 1
    print(
        f"{args.file}: ok ({len(settings.compartments)} compartments, locker {settings.locker_id}, "
        f"doors {settings.doors.hardware})"
    )
    return 0


def backup_command(args: argparse.Namespace) -> int:
    from locker.backup import BackupError, backup

    try:
        settings = _load(args.config, simulate=False)
        done = backup(Path(settings.storage.path), Path(args.path))
    except ConfigError as exc:
        exc.report("locker backup: bad configuration:")
        return 1
    except BackupError as exc:
        print(f"locker backup: {exc}", file=sys.stderr)
        return 1
    print(
        f"backup written: {done.path} ({done.size} bytes, schema version {done.schema_version}, "
        f"{done.reservations} reservations, {done.events} events, integrity ok)"
    )
    sec = settings.security
    where = f"security.key_file {sec.key_file}" if sec.key_file else "security.secret_key"
    print(
        f"NOTE: the key that seals the codes ({where}) is NOT in this backup. Keep a copy "
        "of it separately and safely: without it the codes in the backup cannot be used."
    )
    return 0


def hash_pin_command(args: argparse.Namespace) -> int:
    import getpass

    from locker.pins import hash_pin

    who, least = ("Staff", 8) if args.staff else ("Courier", 4)
    if sys.stdin.isatty():
        pin = getpass.getpass(f"{who} PIN ({least} to 12 digits): ")
    else:
        pin = sys.stdin.readline().strip()
    if not (pin.isdigit() and least <= len(pin) <= 12):
        print(f"a {who.lower()} PIN is {least} to 12 digits", file=sys.stderr)
        return 1
    print(hash_pin(pin))
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="locker", description="Parcel-locker controller")
    sub = top.add_subparsers(dest="command", required=True)
    p = sub.add_parser("serve", help="run the controller and its REST API")
    p.add_argument("--config", help="TOML file (default: $LOCKER_CONFIG)")
    p.add_argument(
        "--simulate",
        action="store_true",
        help="simulated doors (MockFactory pins or Kerong boards on a pty), demo layout and "
        "tokens allowed, /api/v1/sim routes",
    )
    p.add_argument(
        "--hardware", choices=HARDWARE, help="override doors.hardware (gpio relays or kerong)"
    )
    p.add_argument("--host", help="override api.host")
    p.add_argument("--port", type=int, help="override api.port")
    p.set_defaults(func=serve)
    c = sub.add_parser("check-config", help="validate a config file; exit 1 on any error")
    c.add_argument("file")
    c.add_argument("--doors", choices=HARDWARE, help="override doors.hardware")
    c.add_argument(
        "--hardware", action="store_true", help="also apply the rules for a real cabinet"
    )
    c.set_defaults(func=check_config)
    b = sub.add_parser("backup", help="copy the database (while the service runs) to PATH")
    b.add_argument("path", help="the backup file to write (replaced if it exists)")
    b.add_argument("--config", help="TOML file (default: $LOCKER_CONFIG)")
    b.set_defaults(func=backup_command)
    h = sub.add_parser(
        "hash-pin", help="hash a courier PIN for kiosk.courier_pin_hashes (--staff: staff_…)"
    )
    h.add_argument(
        "--staff", action="store_true", help="a staff PIN (8 digits or more): staff_pin_hashes"
    )
    h.set_defaults(func=hash_pin_command)
    from locker import commission, conciergerie, setup

    commission.add_parser(sub)
    conciergerie.add_parser(sub)
    setup.add_parser(sub)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
