"""The files ``locker setup`` writes from: the example config and the systemd unit.

They stay in the checkout's ``config/`` (where the docs and the tests read them) and
setuptools ships them as data files into ``<prefix>/share/locker-controller/``, so a
plain ``pip install /opt/locker`` (not editable) finds them too.
"""

from __future__ import annotations

import sys
import sysconfig
from pathlib import Path

SHARE = Path("share") / "locker-controller"
EXAMPLE = "locker.example.toml"
UNIT = "locker.service"


def shipped(name: str) -> Path:
    """The path of a shipped file: the checkout's own first (an editable install), then
    the installed data files."""
    candidates = [
        Path(__file__).resolve().parents[2] / "config" / name,
        Path(sysconfig.get_path("data")) / SHARE / name,
        Path(sys.prefix) / SHARE / name,
    ]
    for path in candidates:
        if path.is_file():
            return path
    raise FileNotFoundError(f"{name}: not in {', '.join(str(p.parent) for p in candidates)}")
