"""``locker setup``: from an installed package to a configured, enabled service.

Modules, one thing each: ``answers`` (what it cannot know, checked), ``questions``
(asking for it), ``layouts`` (compartments and pins), ``document`` and ``configure``
(the TOML file, edited in place), ``accounts`` (the system user), ``files`` (owners,
modes, the key), ``unit`` (systemd), ``runner`` (the plan, ``--dry-run``).
"""

from __future__ import annotations

import argparse
from typing import Any

from locker.setup.answers import HARDWARE, PASSWORD_ENV


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "setup",
        help="install this cabinet: config, key, PINs, user, systemd unit (run as root)",
        description="Asks what it cannot know, then writes /etc/locker (config 0640 "
        "root:locker, a fresh key), the locker user, /var/lib/locker and the systemd unit, "
        "and checks the result. Run again, it keeps the key, tokens and PINs and changes "
        "only what it is told.",
    )
    p.add_argument("--root", help="a directory standing for / (default: /)")
    p.add_argument("--dry-run", action="store_true", help="print the steps, change nothing")
    p.add_argument(
        "--non-interactive", action="store_true", help="ask nothing: flags only (else: kept)"
    )
    p.add_argument("--locker-id", help="this cabinet's id (needed on a first install)")
    p.add_argument("--phone", help="the conciergerie's phone number (needed on a first install)")
    p.add_argument(
        "--broker",
        help=f"MQTT broker host[:port] (port 8883: TLS); password from ${PASSWORD_ENV}",
    )
    p.add_argument("--no-broker", action="store_true", help="no conciergerie server (mqtt off)")
    p.add_argument(
        "--tls",
        action=argparse.BooleanOptionalAction,
        help="TLS to the broker (default: on port 8883)",
    )
    p.add_argument("--ca-file", help="the broker's CA certificate, as a path on the cabinet")
    p.add_argument("--hardware", choices=HARDWARE, help="gpio relays or Kerong RS-485 boards")
    p.add_argument("--serial-port", help="the RS-485 adapter of Kerong boards (/dev/ttyUSB0)")
    p.add_argument("--layout", help="'example', or COLUMNSxROWS such as 3x4")
    p.add_argument("--sizes", help="with COLUMNSxROWS: a size a row from the bottom (L,M,M,S)")
    p.add_argument(
        "--new-key",
        action="store_true",
        help="make a key although a database is there (its codes become unusable: only "
        "when the key is lost for good; restore it from its backup instead if you can)",
    )
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from locker.setup.runner import run

    return run(args)
