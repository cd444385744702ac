"""The gpiozero pin factory for real hardware: lgpio, or the one ``GPIOZERO_PIN_FACTORY`` names.

lgpio drives the header of a Pi 4 and a Pi 5 alike through ``/dev/gpiochip*``
on Raspberry Pi OS Bookworm. gpiozero's own default chain would fall back past
a missing lgpio to RPi.GPIO, pigpio and at last its experimental NativeFactory,
which does not know the Pi 5's RP1 chip; a cabinet should rather refuse to
start and say what is missing. ``GPIOZERO_PIN_FACTORY`` (gpiozero's variable)
still picks another factory on purpose.
"""

from __future__ import annotations

import logging
import os
from importlib.metadata import entry_points
from pathlib import Path

from gpiozero.pins import Factory
from gpiozero.pins.mock import MockFactory

log = logging.getLogger(__name__)

DEFAULT = "lgpio"
INSTALL_HINT = (
    "on Raspberry Pi OS put lgpio in the service's venv: pip install '/opt/locker[pi]' "
    "(or apt install python3-lgpio and a --system-site-packages venv); "
    "README: Install on a Raspberry Pi"
)


class NoPinFactory(RuntimeError):
    """No pin factory for real pins could be loaded. The message is one line."""


def real_pin_factory(workdir: Path) -> Factory:
    """Load the pin factory for real pins, or raise :class:`NoPinFactory` saying why.

    ``workdir`` is a directory the service may write to (the database's): lgpio
    needs one for its notification FIFO.
    """
    chosen = os.environ.get("GPIOZERO_PIN_FACTORY", "")
    name = chosen or DEFAULT
    if "LG_WD" not in os.environ:
        # NOTE: on import lgpio makes a FIFO (.lgd-nfyN) in $LG_WD, else in the current
        # directory, and chdir()s the whole process there. Under systemd the current
        # directory may be / or read-only; the database's directory is writable.
        workdir.mkdir(parents=True, exist_ok=True)
        os.environ["LG_WD"] = str(workdir.resolve())
    cwd = os.getcwd()
    try:
        factory = _load(name)
    except Exception as exc:
        raise NoPinFactory(_explain(name, chosen, exc)) from None
    finally:
        os.chdir(cwd)  # relative paths in the config keep meaning what they meant
    if isinstance(factory, MockFactory):
        factory.close()
        raise NoPinFactory(
            f"GPIOZERO_PIN_FACTORY={chosen}: mock pins drive no lock; use --simulate instead"
        )
    log.info("GPIO pins through gpiozero's %s", type(factory).__name__)
    return factory


def _load(name: str) -> Factory:
    for entry in entry_points(group="gpiozero_pin_factories"):
        if entry.name in (name, name.lower()):
            factory: Factory = entry.load()()
            return factory
    known = sorted(e.name for e in entry_points(group="gpiozero_pin_factories"))
    raise LookupError(f"gpiozero knows no pin factory {name!r} (it knows {', '.join(known)})")


def _explain(name: str, chosen: str, exc: Exception) -> str:
    reason = " ".join(str(exc).split()) or type(exc).__name__
    where = f"GPIOZERO_PIN_FACTORY={chosen}" if chosen else name
    message = f"no GPIO pins: {where} could not be loaded ({reason})"
    if "lgd-nfy" in reason:
        message += f"; lgpio needs a writable directory for its FIFO (LG_WD={os.environ['LG_WD']})"
    if name.lower() == DEFAULT:
        message += f"; {INSTALL_HINT}"
    return message
