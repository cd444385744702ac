"""The benchmark layout: config/bench.toml plus ``n`` simulated compartments."""

from __future__ import annotations

from pathlib import Path

from locker.config import Settings, load_settings
from tests.helpers import ROOT

BASE = ROOT / "config" / "bench.toml"
SHARED_RELAYS = 14  # BCM 0-13, round robin
SHARED_REED = 15  # every generated door reads closed through one pin
ROWS = 50


def on_core(core: str | None) -> list[str]:
    """The command prefix that pins a process to ``core`` (the 1-core figures); none."""
    return [] if core is None else ["taskset", "-c", core]


def service_core(pin: bool) -> list[str]:
    """Where the service runs: core 0 when pinned (the load generator takes core 1)."""
    return on_core("0" if pin else None)


def write_layout(workdir: Path, generated: int, wired: bool = True) -> Path:
    """Write ``workdir/bench.toml``: the base settings, the six wired compartments unless
    ``wired`` is false, then ``generated`` simulated ones (size M, columns of 50)."""
    text = BASE.read_text(encoding="utf-8")
    if not wired:
        text = text[: text.index("[[compartments]]")]
    lines = [text]
    for i in range(generated):
        lines.append(
            f'[[compartments]]\nid = "G{i}"\nsize = "M"\ncolumn = {1 + i // ROWS}\n'
            f"row = {i % ROWS}\nrelay_pin = {i % SHARED_RELAYS}\nreed_pin = {SHARED_REED}\n"
        )
    path = workdir / "bench.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def settings(workdir: Path, layout: Path, **overrides: object) -> Settings:
    return load_settings(
        layout,
        storage={"path": str(workdir / "locker.db")},
        security={"key_file": str(workdir / "locker.key")},
        **overrides,
    )
