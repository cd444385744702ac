"""A real Mosquitto broker for tests, on a free loopback port, stopped by its own pid."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from tests.procs import free_port, stop_process


def mosquitto_binary() -> str:
    found = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not Path(found).exists():
        raise RuntimeError("mosquitto is not installed: `make test` installs it (apt)")
    return found


class Broker:
    def __init__(
        self, workdir: Path, port: int | None = None, extra: str = "", save_each: bool = True
    ) -> None:
        """``save_each``: save the broker's store after every change (tests that kill it);
        off, it saves as a production broker does (the benchmarks).

        NOTE: even saving after every change, Mosquitto answers a PUBACK from memory
        and saves afterwards: a SIGKILL can lose a message it has just acknowledged
        (test_outage.py counts those apart; docs/reliability.md, row 2b)."""
        self.save_each = save_each
        self.workdir = workdir
        self.port = port or free_port()
        self.extra = extra
        self.proc: subprocess.Popen[bytes] | None = None
        workdir.mkdir(parents=True, exist_ok=True)

    def start(self) -> Broker:
        conf = self.workdir / "mosquitto.conf"
        listener = self.extra or f"listener {self.port} 127.0.0.1\nallow_anonymous true\n"
        # NOTE: started as root, mosquitto drops to the 'mosquitto' user and could not
        # read our temporary files: keep the user we are.
        user = "user root\n" if os.geteuid() == 0 else ""
        save = "autosave_interval 1\nautosave_on_changes true\n" if self.save_each else ""
        conf.write_text(
            f"{user}{listener}\n"
            f"persistence true\npersistence_location {self.workdir}/\n"
            # no queue limit: the fuzz and soak tests queue 10^5 messages for the locker
            "persistent_client_expiration 1d\nmax_queued_messages 0\n"
            # saved after every change, so a broker killed by SIGKILL keeps nearly all it
            # acked (a production broker saves every 30 min: it would lose all since)
            f"{save}"
            "log_dest stderr\nlog_type error\nlog_type warning\n"
        )
        log = (self.workdir / "mosquitto.log").open("ab")
        self.proc = subprocess.Popen(
            [mosquitto_binary(), "-c", str(conf)], stdout=log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError((self.workdir / "mosquitto.log").read_text()[-2000:])
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("mosquitto did not start listening")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        stop_process(self.proc, sig)
        self.proc = None
