"""The Mosquitto setup this project ships (config/mosquitto.example.conf with
config/mosquitto-acl.example), started for a test on a free loopback port."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.broker import Broker
from tests.certs import make_ca_and_server
from tests.helpers import ROOT
from tests.procs import free_port

CONF = ROOT / "config" / "mosquitto.example.conf"
ACL = ROOT / "config" / "mosquitto-acl.example"
# the lines of the shipped conf whose values name files (swapped for the test's own)
FILE_KEYS = ("password_file", "acl_file", "cafile", "certfile", "keyfile")
WAIT_S = 60.0  # generous: a loaded 2-core machine; every wait ends on what arrives
LOCKERS = "conciergerie/lockers"


def report(test: str, **figures: object) -> None:
    print("SECURITY REPORT " + json.dumps({"test": test, **figures}, sort_keys=True))


def passwords(folder: Path, users: dict[str, str]) -> Path:
    """A Mosquitto password file: written in plain text, then hashed in one go."""
    path = folder / "passwords"
    path.write_text("".join(f"{user}:{password}\n" for user, password in users.items()))
    path.chmod(0o600)
    subprocess.run(["mosquitto_passwd", "-U", str(path)], check=True, capture_output=True)
    return path


def shipped_broker(
    folder: Path,
    users: dict[str, str],
    conf: str | None = None,
    acl: str | None = None,
    save_each: bool = True,
) -> tuple[Broker, Path]:
    """Mosquitto with the shipped conf and ACL (or the texts given), on a free loopback
    port: its listener and file paths swapped for the test's (a password file made with
    mosquitto_passwd, a throwaway CA). Answers the broker and the CA certificate."""
    folder.mkdir(parents=True, exist_ok=True)
    ca, cert, key = make_ca_and_server(folder / "pki")
    acl_path = folder / "conciergerie.acl"
    acl_path.write_text(ACL.read_text() if acl is None else acl)
    files = {
        "password_file": passwords(folder, users),
        "acl_file": acl_path,
        "cafile": ca,
        "certfile": cert,
        "keyfile": key,
    }
    port = free_port()
    lines: list[str] = []
    swapped: list[str] = []
    for line in (CONF.read_text() if conf is None else conf).splitlines():
        name = line.partition(" ")[0]
        if name in files:
            line = f"{name} {files[name]}"
            swapped.append(name)
        elif name == "listener":
            line = f"listener {port} 127.0.0.1"
            swapped.append(name)
        lines.append(line)
    assert sorted(swapped) == sorted([*FILE_KEYS, "listener"]), swapped
    extra = "\n".join(lines) + "\n"
    broker = Broker(folder / "broker", port=port, extra=extra, save_each=save_each)
    return broker.start(), ca
