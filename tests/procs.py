"""Real service processes for end-to-end tests: free ports, stopped by their own pid."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from tests.helpers import EXAMPLE, ROOT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def stop_process(proc: subprocess.Popen[bytes] | None, sig: int = signal.SIGTERM) -> None:
    """Stop a process we started, by its own pid; SIGKILL if it will not go."""
    if proc is None or proc.poll() is not None:
        return
    os.kill(proc.pid, sig)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=20)


class ServiceProcess:
    """``locker serve --simulate`` as a subprocess, its database and key under ``workdir``."""

    def __init__(
        self,
        workdir: Path,
        extra_env: dict[str, str] | None = None,
        mqtt_port: int | None = None,
        config: Path = EXAMPLE,
        argv: list[str] | None = None,
        env: dict[str, str] | None = None,
        cwd: Path = ROOT,
        prefix: list[str] | None = None,
        args: tuple[str, ...] = (),
    ) -> None:
        """``argv`` replaces ``python -m locker.cli serve --simulate --config …`` (``--port``
        is added), ``env`` the whole environment, ``cwd`` the repository as working folder,
        ``prefix`` a command the service runs under (e.g. ``["taskset", "-c", "0"]``),
        ``args`` go to ``locker serve`` after the others (``--hardware kerong``)."""
        self.config = config
        self.cwd = cwd
        self.prefix = prefix or []
        self.args = args
        self.workdir = workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / "service.log"
        self.env = env or {
            **os.environ,
            "LOCKER_STORAGE__PATH": str(workdir / "locker.db"),
            "LOCKER_SECURITY__KEY_FILE": str(workdir / "locker.key"),
            "LOCKER_MQTT__ENABLED": "true" if mqtt_port else "false",
            "LOCKER_MQTT__PORT": str(mqtt_port or 1883),
            "LOCKER_MQTT__KEEPALIVE_S": "5",
            "LOCKER_MQTT__RECONNECT_JITTER_S": "0.5",  # back at once after a broker restart
            **(extra_env or {}),
        }
        self.argv = argv or [
            sys.executable,
            "-m",
            "locker.cli",
            "serve",
            "--simulate",
            "--config",
            str(config),
        ]
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0, wait: bool = True) -> ServiceProcess:
        """Start the service; with ``wait``, return once ``/healthz`` says ok."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [*self.prefix, *self.argv, "--port", str(self.port), *self.args],
            cwd=self.cwd,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        if not wait:
            return self
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"service exited: {self.log_path.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).json().get("ok"):
                    return self
            except (httpx.HTTPError, ValueError):
                pass
            time.sleep(0.1)
        self.stop()
        raise AssertionError("service did not become healthy in time")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        stop_process(self.proc, sig)
        self.proc = None

    def client(self, token: str | None = None) -> httpx.Client:
        headers: dict[str, Any] = {}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return httpx.Client(base_url=self.url, headers=headers, timeout=10)
