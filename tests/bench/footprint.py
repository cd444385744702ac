"""Start-up to healthy, idle memory and CPU of the real service process."""

from __future__ import annotations

import http.client
import os
import subprocess
import sys
import time
from pathlib import Path

from tests.bench.layout import service_core
from tests.helpers import EXAMPLE
from tests.procs import ServiceProcess

# What the mandated stack costs before our code runs (decision 22).
STACK = "import fastapi, uvicorn, sqlmodel, paho.mqtt.client, gpiozero, qrcode, pydantic_settings"


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def stack_rss_mb() -> float:
    out = subprocess.run(
        [sys.executable, "-c", f"{STACK}; import os; print(open('/proc/self/status').read())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    line = next(x for x in out.splitlines() if x.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


def _healthy(port: int) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        conn.request("GET", "/healthz")
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()


def startups(workdir: Path, count: int, pin: bool) -> list[float]:
    """Seconds from process start to a 200 on /healthz, demo layout, database already made."""
    times: list[float] = []
    for n in range(count + 1):
        service = ServiceProcess(workdir, prefix=service_core(pin))
        began = time.monotonic()
        service.start(wait=False)
        assert service.proc is not None
        try:
            deadline = began + 60
            while not _healthy(service.port):
                if time.monotonic() > deadline or service.proc.poll() is not None:
                    raise RuntimeError("the service did not become healthy")
                time.sleep(0.005)
            if n:  # the first start creates the database and the key: not counted
                times.append(time.monotonic() - began)
        finally:
            service.stop()
    return times


def idle(
    workdirs: dict[str, Path],
    seconds: float,
    mqtt_port: int,
    configs: dict[str, Path] | None = None,
) -> dict[str, tuple[float, float]]:
    """Each service idle for ``seconds``, connected to the broker, side by side (one per
    variant: ``""``, ``"_1core"`` pinned to a core, any other on its config in
    ``configs``; the wait is shared): RSS (MB) at the end and CPU (% of one core)."""
    services = {
        name: ServiceProcess(
            path,
            mqtt_port=mqtt_port,
            config=(configs or {}).get(name, EXAMPLE),
            prefix=service_core(name == "_1core"),
        )
        for name, path in workdirs.items()
    }
    try:
        for service in services.values():
            service.start(timeout=120)
        time.sleep(5)  # settle: first ticks, first garbage collection
        before = {name: cpu_s(s.proc.pid) for name, s in services.items() if s.proc}
        time.sleep(seconds)
        out: dict[str, tuple[float, float]] = {}
        for name, s in services.items():
            assert s.proc is not None
            used = cpu_s(s.proc.pid) - before[name]
            out[name] = (rss_mb(s.proc.pid), 100 * used / seconds)
        return out
    finally:
        for service in services.values():
            service.stop()
