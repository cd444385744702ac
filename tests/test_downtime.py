"""Downtime given back after a stop and start of the real service (``locker serve
--simulate`` on a simulated clock, a real Mosquitto): the item's deadline moves by the
time the locker was down, and the server hears it as ``reservation.deadline``."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from locker.clock import SIM_CLOCK_ENV
from tests.broker import Broker
from tests.kioskkit import Box
from tests.mqtt_peer import Server
from tests.procs import ServiceProcess
from tests.test_kiosk_closed import days_ahead

MONDAY = "2027-03-15T10:00:00+01:00"
MONDAY_AFTERNOON = "2027-03-15T13:00:00+01:00"  # three hours later


def service(folder: Path, at: str, broker: Broker) -> ServiceProcess:
    return ServiceProcess(folder, extra_env={SIM_CLOCK_ENV: at}, mqtt_port=broker.port).start()


def test_the_time_the_locker_was_down_is_given_back(
    tmp_path: Path, broker: Broker, server: Server
) -> None:
    svc = service(tmp_path, MONDAY, broker)
    try:
        box = Box(svc)
        rid, _cid, _code = box.deliver(expires_s=days_ahead(MONDAY, 2))
        before = datetime.fromisoformat(box.reservation(rid)["expires_at"])
        server.wait_event("parcel.deposited", reservation_id=rid, timeout=30)
    finally:
        svc.stop()
    svc = service(tmp_path, MONDAY_AFTERNOON, broker)  # the same database, 3 h later
    try:
        box = Box(svc)
        moved = server.wait_event("reservation.deadline", reservation_id=rid, timeout=30)
        assert moved["reason"] == "downtime"
        assert datetime.fromisoformat(moved["previous"]) == before
        after = datetime.fromisoformat(moved["expires_at"])
        # down from the last write (the deposit, seconds after 10:00) until the first
        # tick (seconds after 13:00): both start-ups take a while on a loaded machine
        assert timedelta(hours=2, minutes=55) <= after - before <= timedelta(hours=3, minutes=5)
        assert datetime.fromisoformat(box.reservation(rid)["expires_at"]) == after
    finally:
        svc.stop()
