"""HTTP pickups end to end: the real service process, a load generator in another."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.bench.layout import on_core, service_core, settings, write_layout
from tests.bench.seed import parcels
from tests.helpers import ROOT
from tests.procs import ServiceProcess

WARMUP = 100


def seed(workdir: Path, count: int) -> Path:
    """A layout with room for ``count`` parcels, all deposited; their codes in a file."""
    layout = write_layout(workdir, generated=count + WARMUP, wired=False)
    codes = parcels(settings(workdir, layout), count + WARMUP)
    path = workdir / "codes.json"
    path.write_text(json.dumps(codes))
    return layout


def write_bytes(pid: int) -> int:
    """Bytes the process caused to be written to the block device (SD-card wear)."""
    for line in Path(f"/proc/{pid}/io").read_text().splitlines():
        if line.startswith("write_bytes:"):
            return int(line.split()[1])
    raise RuntimeError("no write_bytes in /proc/PID/io")


def load(port: int, clients: int, codes: list[str], workdir: Path, core: str | None) -> dict:  # type: ignore[type-arg]
    path = workdir / f"codes-{clients}.json"
    path.write_text(json.dumps(codes))
    prefix = on_core(core)
    out = subprocess.run(
        [*prefix, sys.executable, "-m", "tests.bench.loadgen", str(port), str(clients), str(path)],
        cwd=ROOT,
        capture_output=True,
        check=True,
        timeout=600,
    )
    result: dict = json.loads(out.stdout)  # type: ignore[type-arg]
    if result["errors"]:
        raise RuntimeError(f"pickups failed: {result['errors']}")
    return result


def run(workdir: Path, layout: Path, sizes: dict[int, int], pin: bool) -> dict[str, object]:
    """Pickups at each concurrency of ``sizes`` (clients -> pickups); the service pinned to
    core 0 and the generator to core 1 when ``pin``. Answers the load results and the
    bytes written per pickup."""
    codes: list[str] = json.loads((workdir / "codes.json").read_text())
    service = ServiceProcess(workdir, config=layout, prefix=service_core(pin)).start(timeout=120)
    try:
        assert service.proc is not None
        gen_core = "1" if pin else None
        load(service.port, 1, codes[:WARMUP], workdir, gen_core)
        codes = codes[WARMUP:]
        results: dict[str, object] = {}
        written = 0
        done = 0
        for clients, count in sizes.items():
            batch, codes = codes[:count], codes[count:]
            before = write_bytes(service.proc.pid)
            results[f"c{clients}"] = load(service.port, clients, batch, workdir, gen_core)
            written += write_bytes(service.proc.pid) - before
            done += count
        results["bytes_per_pickup"] = written / done
        return results
    finally:
        service.stop()
