"""The systemd unit, from the shipped config/locker.service: ExecStart at the ``locker``
that runs setup, SupplementaryGroups as the system has them."""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

from locker.setup.files import Root

NAME = "locker.service"
PATH = "/etc/systemd/system/" + NAME
SHIPPED_EXEC = "/opt/locker/.venv/bin/locker"
HEADER = """\
# systemd unit of the locker controller, written by `locker setup` from
# config/locker.service. A re-run of setup writes it again: put local changes in
# a drop-in (`sudo systemctl edit locker`), not here.
#
#   systemctl status locker           # STATUS= line: broker state, events waiting
#   journalctl -u locker -o cat       # one JSON object a line
"""


def executable() -> Path:
    """The ``locker`` command of the environment running setup (its venv's bin/), as
    invoked, symlinks not resolved: the service runs what was installed."""
    found = shutil.which("locker", path=str(Path(sys.executable).parent))
    return Path(found if found else sys.argv[0]).absolute()


def setup_command() -> str:
    """How to run setup again, by this very program's path: sudo's PATH does not hold
    a venv's bin (/opt/locker/.venv/bin)."""
    return f"sudo {executable()} setup"


def render(template: str, locker: Path, groups: list[str]) -> str:
    if " " in str(locker) or SHIPPED_EXEC not in template:
        raise ValueError(f"cannot write ExecStart for {locker}")
    body = template.split("\n#\n", 1)[1]  # the template's header says how to copy it by hand
    body = body.replace(SHIPPED_EXEC, str(locker))
    line = f"SupplementaryGroups={' '.join(groups)}\n" if groups else ""
    body = re.sub(r"^SupplementaryGroups=.*\n", line, body, count=1, flags=re.M)
    return HEADER + "#\n" + body


def systemd_running(root: Root) -> bool:
    """systemd is the init of the machine being set up (not of a throwaway root, a
    chroot or a container without it): then the unit is started, not only enabled."""
    return root.real and Path("/run/systemd/system").is_dir()


def enable(root: Root) -> list[list[str]]:
    if systemd_running(root):
        return [["systemctl", "daemon-reload"], ["systemctl", "enable", NAME]]
    return [["systemctl", "--root", str(root.path), "enable", NAME]]


def start(changed: bool) -> list[str]:
    return ["systemctl", "restart" if changed else "start", NAME]
