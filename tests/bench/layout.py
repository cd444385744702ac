"""The benchmark layout: config/bench.toml plus ``n`` simulated compartments."""

from __future__ import annotations

from pathlib import Path

from locker.config import Settings, load_settings
from tests.helpers import EXAMPLE, ROOT

BASE = ROOT / "config" / "bench.toml"
SHARED_RELAYS = 14  # BCM 0-13, round robin
SHARED_REED = 15  # every generated door reads closed through one pin
ROWS = 50
PROBES = 4  # chilled zones of the "with probes" figures, each read every PROBE_SAMPLE_S
PROBE_SAMPLE_S = 5


def example_with_probes(workdir: Path) -> Path:
    """The demo layout with ``PROBES`` chilled zones of one compartment, sampled every
    ``PROBE_SAMPLE_S`` (the idle figures with probes)."""
    text = EXAMPLE.read_text(encoding="utf-8")
    for cid, size in (("C2", "M"), ("C3", "S")):
        old = f'id = "{cid}"\nsize = "{size}"\n'
        assert old in text
        text = text.replace(old, old + "chilled = true\n")
    text = text.replace("sample_s = 30 ", f"sample_s = {PROBE_SAMPLE_S} ", 1)
    text = text[: text.index("[[zones]]")]
    for i, cid in enumerate(("B2", "B3", "C2", "C3")[:PROBES]):
        text += f'[[zones]]\nid = "Z{i}"\nsensor = "28-00000000000{i}"\ncompartments = ["{cid}"]\n'
    path = workdir / "example-probes.toml"
    workdir.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def on_core(core: str | None) -> list[str]:
    """The command prefix that pins a process to ``core`` (the 1-core figures); none."""
    return [] if core is None else ["taskset", "-c", core]


def service_core(pin: bool) -> list[str]:
    """Where the service runs: core 0 when pinned (the load generator takes core 1)."""
    return on_core("0" if pin else None)


def write_layout(workdir: Path, generated: int, wired: bool = True, probes: int = 0) -> Path:
    """Write ``workdir/bench.toml``: the base settings, the six wired compartments unless
    ``wired`` is false, then ``generated`` simulated ones (size M, columns of 50), and
    ``probes`` chilled zones of one compartment each, sampled every ``PROBE_SAMPLE_S``."""
    text = BASE.read_text(encoding="utf-8")
    if not wired:
        text = text[: text.index("[[compartments]]")]
    lines = [text]
    for i in range(generated):
        lines.append(
            f'[[compartments]]\nid = "G{i}"\nsize = "M"\ncolumn = {1 + i // ROWS}\n'
            f"row = {i % ROWS}\nrelay_pin = {i % SHARED_RELAYS}\nreed_pin = {SHARED_REED}\n"
        )
    lines += [
        f'[[compartments]]\nid = "F{i}"\nsize = "M"\nchilled = true\ncolumn = 0\n'
        f"row = {10 + i}\nrelay_pin = {i % SHARED_RELAYS}\nreed_pin = {SHARED_REED}\n"
        for i in range(probes)
    ]
    if probes:
        lines.append(f"[cold_chain]\nsample_s = {PROBE_SAMPLE_S}\nw1_pin = 14\n")
        lines += [
            f'[[zones]]\nid = "Z{i}"\nsensor = "28-00000000000{i}"\ncompartments = ["F{i}"]\n'
            for i in range(probes)
        ]
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
