"""Log lines: JSON objects by default on a real cabinet, redacted codes, QR payloads and
tokens, checked on records and on the logs of the real service."""

from __future__ import annotations

import io
import json
import logging
import os
import secrets
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from firmware_bridge.kerong_sim import KerongSimulator
from locker.logs import REDACTED, JsonFormatter, RedactFilter, Redactor
from tests.helpers import wait_for
from tests.procs import ServiceProcess

FIELDS = {"time", "level", "logger", "message"}


def test_redactor_hides_codes_qr_payloads_tokens_and_configured_secrets() -> None:
    redact = Redactor(["my-admin-token-123456"])
    assert redact("pickup code 12345678 at A3") == f"pickup code {REDACTED} at A3"
    assert redact('{"code":"04711234"}') == '{"code":"' + REDACTED + '"}'
    assert redact("scan LKR1:demo:12345678 ok") == f"scan LKR1:{REDACTED} ok"
    assert redact("scan LKR1:demo:1234") == f"scan LKR1:{REDACTED}"  # a broken one too
    assert redact("Authorization: Bearer abc.def-ghi") == f"Authorization: Bearer {REDACTED}"
    assert redact("token=my-admin-token-123456;") == f"token={REDACTED};"
    redact.add("key-from-the-key-file")  # known once the key file is read
    assert redact("key=key-from-the-key-file") == f"key={REDACTED}"
    kept = "door A3 seq 1234567, 123456789 bytes, R-2031, 2026-11-23T18:00:00+00:00"
    assert redact(kept) == kept


@pytest.fixture
def json_log() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(RedactFilter(Redactor(["kiosk-secret-token-99"])))
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("tests.logs")
    logger.addHandler(handler)
    logger.propagate = False
    yield logger, out
    logger.removeHandler(handler)
    logger.propagate = True


def test_one_json_object_a_line_with_redacted_message_and_traceback(
    json_log: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, out = json_log
    logger.warning("code %s typed\nwith token %s", "87654321", "kiosk-secret-token-99")
    try:
        raise ValueError("bad payload LKR1:demo:87654321 from Bearer kiosk-secret-token-99")
    except ValueError:
        logger.exception("could not handle %s", {"code": "87654321"})
    logger.warning("%s %s", "one argument short")  # a broken call still logs a line
    lines = out.getvalue().splitlines()
    assert len(lines) == 3
    first, second, third = (json.loads(line) for line in lines)
    assert set(first) == FIELDS and first["level"] == "WARNING" and first["logger"] == "tests.logs"
    assert first["message"] == f"code {REDACTED} typed\nwith token {REDACTED}"
    assert time.time() - 60 < _epoch(first["time"]) <= time.time() + 1
    assert set(second) == FIELDS | {"exc_info"} and second["level"] == "ERROR"
    assert "ValueError: bad payload" in second["exc_info"]
    assert "87654321" not in out.getvalue() and "kiosk-secret-token-99" not in out.getvalue()
    assert "unformattable" in third["message"]


def _epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp).timestamp()


def _json_lines(path: Path) -> list[dict[str, object]]:
    lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    assert lines and all(set(entry) >= FIELDS for entry in lines)
    return lines


def test_a_full_pickup_flow_logs_no_code_and_no_token(tmp_path: Path) -> None:
    svc = ServiceProcess(tmp_path, extra_env={"LOCKER_LOGGING__FORMAT": "json"})
    seen: set[str] = {"demo-admin", "demo-courier", "demo-kiosk"}
    try:
        svc.start()
        admin, kiosk, hand = svc.client("demo-admin"), svc.client("demo-kiosk"), svc.client()
        booking = {
            "reservation_id": "R-77",
            "version": 1,
            "kind": "delivery",
            "size": "S",
            "reference": "COLIS-77",
            "expires_at": "2030-12-01T18:00:00+01:00",
        }
        assert admin.post("/api/v1/reservations", json=booking).status_code == 200
        cid = svc.client("demo-courier").post("/api/v1/deposits", json={"reference": "COLIS-77"})
        cid = cid.json()["compartment"]
        for action in ("open", "close"):
            hand.post(f"/api/v1/sim/doors/{cid}/{action}")
            time.sleep(0.3)
        res = wait_for(
            lambda: (
                (r := admin.get("/api/v1/reservations/R-77").json())["state"] == "deposited" and r
            )
        )
        seen |= {res["pickup_code"], res["qr_payload"]}
        assert kiosk.post("/api/v1/pickups", json={"code": "13572468"}).status_code == 404
        assert kiosk.post("/api/v1/pickups", json={"qr_payload": res["qr_payload"]}).is_success
        for action in ("open", "close"):
            hand.post(f"/api/v1/sim/doors/{cid}/{action}")
            time.sleep(0.3)
        wait_for(lambda: admin.get("/api/v1/reservations/R-77").json()["state"] == "collected")
        session = kiosk.post("/api/v1/courier/session", json={"pin": "2468"}).json()["token"]
        seen.add(session)
        svc.client(session).get("/api/v1/courier/parcels")
        svc.client("a-wrong-but-secret-token").get("/api/v1/events")
        seen |= {"a-wrong-but-secret-token", "13572468"}
        seen.add((tmp_path / "locker.key").read_text().strip())
    finally:
        svc.stop()
    lines = _json_lines(svc.log_path)
    assert any("locker demo on http" in str(e["message"]) for e in lines)
    assert any(e["logger"] == "uvicorn.error" for e in lines)  # uvicorn's lines are JSON too
    log = svc.log_path.read_text()
    assert [s for s in seen if s in log] == []


def test_hardware_mode_logs_json_by_default(tmp_path: Path) -> None:
    """``locker serve`` without --simulate: Kerong boards, simulated on a pseudo-terminal
    in this process, are real hardware to the service (no mock pins in hardware mode)."""
    boards = KerongSimulator({0})
    token = secrets.token_urlsafe(24)
    env = {
        **os.environ,
        "LOCKER_DOORS__HARDWARE": "kerong",
        "LOCKER_KERONG__PORT": boards.port,
        "LOCKER_API__TOKENS": json.dumps({r: [token + r] for r in ("admin", "courier", "kiosk")}),
        "LOCKER_KIOSK__COURIER_PIN_HASHES": "[]",
        "LOCKER_KIOSK__STAFF_PIN_HASHES": "[]",
        "LOCKER_SECURITY__SECRET_KEY": secrets.token_urlsafe(32),
        "LOCKER_STORAGE__PATH": str(tmp_path / "locker.db"),
        "LOCKER_MQTT__ENABLED": "false",
    }
    argv = [*ServiceProcess(tmp_path).argv]
    argv.remove("--simulate")
    svc = ServiceProcess(tmp_path, argv=argv, env=env)
    try:
        svc.start()
        assert svc.client(token + "admin").get("/api/v1/compartments").status_code == 200
    finally:
        svc.stop()
        boards.close()
    lines = _json_lines(svc.log_path)
    assert any("in hardware" in str(e["message"]) for e in lines)
    assert token not in svc.log_path.read_text()
