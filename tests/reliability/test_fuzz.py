"""Fuzzing: generated MQTT payloads on each inbound topic, and schemathesis against the
OpenAPI schema of the running app. No crash, no 5xx, the service still answers, and every
bad input got a clear answer."""

from __future__ import annotations

import json
import logging
import random
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from locker.runtime import build
from locker.sync.inbound import Inbound
from tests.broker import Broker
from tests.conftest import Harness
from tests.helpers import settings_for, wait_for
from tests.mqtt_peer import Server
from tests.procs import ServiceProcess
from tests.reliability.fuzz_corpus import UPSERT, corpus
from tests.reliability.scale import sized

PAYLOADS = sized(10_000)
# Refusals of well-formed messages come from the domain, not from reading them.
DOMAIN_REASONS = (
    "no compartment fits",
    "too late",
    "reference is used",
    "reservation is already",
    "cannot change once deposited",
    "a door cycle",
)
GENERIC = ("the locker could not handle",)  # the intake's answer to a message it failed on
# topic -> (the id field, the events that answer a message, the refusal among them)
TOPICS = {
    "reservations": (
        "reservation_id",
        ("reservation.accepted", "reservation.rejected", "reservation.cancelled"),
        "reservation.rejected",
    ),
    "commands": ("request_id", ("command.done", "command.failed"), "command.failed"),
}


class Tracebacks(logging.Handler):
    """Counts the service's log records that carry an exception: each is a crash that
    an answer may have covered up (the intake answers a message it failed on)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info:
            self.records.append(record)


def corpus_id(raw: bytes, key: str) -> str | None:
    """The ``F-<n>`` id the corpus gave a message, if the message still carries it
    readably: the locker's answer must then name it."""
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    value = body.get(key) if isinstance(body, dict) else None
    return value if isinstance(value, str) and value.startswith("F-") else None


def unanswered(
    payloads: list[tuple[bytes, bool]], events: list[dict[str, Any]], topic: str
) -> list[str]:
    """Messages of ``topic`` that carry their id and did not get exactly one answer of
    the right kind: valid ones handled (or refused by the domain), bad ones refused."""
    key, answers, refusal = TOPICS[topic]
    by_id: dict[str, list[dict[str, Any]]] = {}
    for e in events:
        if e["type"] in answers and isinstance(e.get(key), str):
            by_id.setdefault(e[key], []).append(e)
    wrong: list[str] = []
    for raw, valid in payloads:
        mid = corpus_id(raw, key)
        if mid is None:
            continue
        got = by_id.get(mid, [])
        if len(got) != 1:
            wrong.append(f"{mid}: {len(got)} answers")
            continue
        refused = got[0]["type"] == refusal
        by_domain = refused and got[0]["reason"].startswith(DOMAIN_REASONS)
        right = (not refused or by_domain) if valid else (refused and not by_domain)
        if not right:
            wrong.append(f"{mid} (valid={valid}): {got[0]['type']} {got[0].get('reason')}")
    return wrong


@pytest.mark.timeout(sized(900))
def test_mqtt_fuzz_through_the_broker(tmp_path: Path) -> None:
    rng = random.Random(20261123)
    # NOTE: the broker is not killed here: no store saved at every change, which
    # makes each of 10^5 queued messages rewrite the whole store (hours at 10x).
    broker = Broker(tmp_path / "broker", save_each=False).start()
    server = Server(broker.port)
    box = build(settings_for(tmp_path, mqtt={"port": broker.port, "inflight": 500}), simulate=True)
    box.start()
    tracebacks = Tracebacks()
    logging.getLogger("locker").addHandler(tracebacks)
    started = time.monotonic()
    try:
        wait_for(lambda: box.mqtt is not None and box.mqtt.connected.is_set())
        counts = {}
        for topic in ("reservations", "commands"):
            payloads = corpus(rng, PAYLOADS, topic)
            counts[topic] = payloads
            server.send_many(topic, (raw for raw, _ in payloads))
        expected_commands = len(counts["commands"])
        bad_reservations = sum(1 for _, valid in counts["reservations"] if not valid)

        def answered() -> bool:
            events = server.unique()
            commands = sum(1 for e in events if e["type"] in ("command.done", "command.failed"))
            return commands >= expected_commands

        wait_for(answered, timeout=sized(600), interval=0.5, what="every command answered")
        server.send("reservations", {**UPSERT, "reservation_id": "AFTER", "reference": "AFTER"})
        server.wait_event("reservation.accepted", reservation_id="AFTER", timeout=120)
        events = server.unique()
        unreadable = [
            e
            for e in events
            if e["type"] == "reservation.rejected" and not e["reason"].startswith(DOMAIN_REASONS)
        ]
        assert len(unreadable) == bad_reservations  # each bad message: one clear refusal
        assert all(e["reason"] for e in unreadable)
        # a message the locker failed on is answered, but that answer is no clear error
        assert not [e for e in events if str(e.get("reason")).startswith(GENERIC)]
        assert not [r.getMessage() for r in tracebacks.records][:5]
        named = {t: unanswered(counts[t], events, t) for t in TOPICS}
        assert named == {"reservations": [], "commands": []}, {t: w[:5] for t, w in named.items()}
        answers = [e for e in events if e["type"] in ("command.done", "command.failed")]
        assert len(answers) == expected_commands  # every command answered exactly once
        assert box.mqtt is not None and box.mqtt.connected.is_set()  # still connected
        print(
            "FUZZ REPORT "
            + json.dumps(
                {
                    "mqtt_payloads": {
                        "reservations": len(counts["reservations"]),
                        "commands": expected_commands,
                    },
                    "bad_reservations_refused": len(unreadable),
                    "commands_answered": len(answers),
                    "answers_matched_by_id": sum(
                        1 for t in TOPICS for raw, _ in counts[t] if corpus_id(raw, TOPICS[t][0])
                    ),
                    "tracebacks_in_log": len(tracebacks.records),
                    "seconds": round(time.monotonic() - started, 1),
                }
            )
        )
    finally:
        logging.getLogger("locker").removeHandler(tracebacks)
        box.stop()
        server.close()
        broker.stop()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=6)
    ),
    max_leaves=20,
)
fields = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from(
            ["reservation.upsert", "reservation.cancel", "resync", "open", "set_service"]
        )
        | st.text(max_size=10),
        "reservation_id": st.text(max_size=20) | json_values,
        "request_id": st.text(max_size=20) | json_values,
        "version": st.integers() | json_values,
        "kind": st.sampled_from(["delivery", "dropoff"]) | json_values,
        "size": st.sampled_from(["S", "M", "L"]) | json_values,
        "expires_at": st.sampled_from(["2031-01-01T00:00:00+00:00", "2031-01-01"]) | json_values,
        "compartment": st.sampled_from(["A1", "Z9"]) | json_values,
        "in_service": st.booleans() | json_values,
    },
)


@pytest.fixture(scope="module")
def fuzz_harness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    h = Harness(tmp_path_factory.mktemp("fuzz"))
    yield h
    h.engine.dispose()


@pytest.mark.timeout(sized(300))
@settings(max_examples=sized(1000), deadline=None, suppress_health_check=list(HealthCheck))
@given(body=fields | json_values, raw=st.binary(max_size=64), as_raw=st.booleans())
def test_hypothesis_payloads_never_escape(
    fuzz_harness: Harness, body: object, raw: bytes, as_raw: bool
) -> None:
    payload = raw if as_raw else json.dumps(body).encode()
    h = fuzz_harness
    before = h.service.last_seq()
    inbound = Inbound(h.service, 65_536)
    inbound.reservation(payload)  # never raises
    inbound.command(payload)
    assert h.service.last_seq() > before  # the command at least was answered


@pytest.mark.timeout(sized(900))
def test_schemathesis_against_the_running_app(tmp_path: Path) -> None:
    svc = ServiceProcess(tmp_path).start()
    try:
        for token in ("demo-admin", "demo-kiosk"):
            run = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "schemathesis.cli",
                    "run",
                    f"{svc.url}/openapi.json",
                    "--checks",
                    "not_a_server_error",
                    "-H",
                    f"Authorization: Bearer {token}",
                    "--max-examples",
                    str(sized(15)),
                    "--no-color",
                    "--seed",
                    "20261123",
                ],
                capture_output=True,
                text=True,
                timeout=sized(300),
                check=False,
            )
            summary = [line for line in run.stdout.splitlines() if "generated" in line]
            assert run.returncode == 0, run.stdout[-3000:]
            assert summary and "failed" not in summary[-1], summary
            print(f"SCHEMATHESIS {token}: {summary[-1].strip()}")
        assert svc.client().get("/healthz").json()["ok"] is True  # still answering
        log = svc.log_path.read_text()
        assert "Traceback" not in log  # no unhandled error behind a 4xx either
    finally:
        svc.stop()
