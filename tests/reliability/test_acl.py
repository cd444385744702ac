"""The shipped Mosquitto setup keeps lockers apart, even from a rogue with valid
credentials of its own who names itself after another locker or the server; the same
attack against client-id patterns alone gets through (the control).

Each test prints one ``SECURITY REPORT {json}`` line with its counts (docs/reliability.md).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from locker.runtime import Runtime, build
from tests.conftest import FAST_DOORS
from tests.helpers import settings_for, wait_for
from tests.reliability.rogue_peer import Peer
from tests.reliability.shipped_broker import ACL, CONF, LOCKERS, WAIT_S, report, shipped_broker
from tests.test_mqtt import UPSERT


def settle(check: Callable[[], object], timeout: float = WAIT_S) -> bool:
    """Wait until ``check`` holds; answer whether it did (no failure on a timeout)."""
    try:
        wait_for(check, timeout=timeout, interval=0.05)
    except AssertionError:
        return False
    return True


def reservation(rid: str) -> dict[str, Any]:
    return {**UPSERT, "reservation_id": rid, "reference": rid, "size": "S"}


@dataclass
class Attack:
    """The outcome of ``attack``: for each rogue attempt, whether it got through."""

    worked: dict[str, bool] = field(default_factory=dict)
    broker_said: dict[str, str] = field(default_factory=dict)  # PUBACK / CONNACK reasons
    legit: dict[str, bool] = field(default_factory=dict)  # what must keep working


def attack(
    tmp_path: Path, conf: str | None = None, acl: str | None = None, patience: float = WAIT_S
) -> Attack:
    """Locker "demo" (its username and client id "demo") serves through the broker; a
    rogue holding the valid credentials of user "rogue" (another locker, a stolen Pi)
    tries, under client id "demo", to take over demo's session, read demo's reservations
    and commands (live and queued), speak for demo, book into it and command it; and,
    under client id "conciergerie", to drop the server. Every outcome is read from what
    arrives, each after a barrier message that would arrive behind it. ``patience``: how
    long to wait for what should keep working (short where it is known not to)."""
    users = {"demo": "pw-demo", "rogue": "pw-rogue", "conciergerie": "pw-c"}
    broker, ca = shipped_broker(tmp_path / "mqtt", users, conf, acl)
    out = Attack()
    demo_topic = f"{LOCKERS}/demo/"
    peers: list[Peer] = []  # every client made here: stopped at the end
    rogues: list[Peer] = []
    runtimes: list[Runtime] = []

    def locker_runtime() -> tuple[Runtime, list[str]]:
        mqtt_config = {"port": broker.port, "username": "demo", "password": "pw-demo"}
        settings = settings_for(
            tmp_path, doors=FAST_DOORS, mqtt={**mqtt_config, "tls": True, "ca_file": ca}
        )
        runtime = build(settings, simulate=True)
        assert runtime.mqtt is not None
        drops: list[str] = []
        client, original = runtime.mqtt.client, runtime.mqtt.client.on_disconnect
        assert original is not None

        def spy(*args: Any) -> None:
            drops.append(str(args[3]))
            original(*args)

        client.on_disconnect = spy
        runtimes.append(runtime)
        runtime.start()
        return runtime, drops

    def connected(runtime: Runtime) -> bool:
        return runtime.mqtt is not None and runtime.mqtt.connected.is_set()

    def peer(user: str | None, password: str | None, client_id: str, **kw: Any) -> Peer:
        made = Peer(broker.port, ca, user, password, client_id, **kw)
        peers.append(made)
        return made

    def rogue(client_id: str = "demo", **kw: Any) -> Peer:
        """A connection with the rogue's own, valid, credentials."""
        made = peer("rogue", "pw-rogue", client_id, **kw)
        rogues.append(made)
        return made

    def events(locker: str, type_: str, **match: object) -> list[dict[str, Any]]:
        return official.got(
            lambda t, b: (
                t == f"{LOCKERS}/{locker}/events"
                and b.get("type") == type_
                and all(b.get(k) == v for k, v in match.items())
            )
        )

    def snapshot(request_id: str) -> list[dict[str, Any]]:
        return events("demo", "locker.snapshot", request_id=request_id)

    def resync(request_id: str) -> set[str]:
        """The reservations the locker holds, once it answered everything sent before.
        Asked again (the same request id) if no answer comes: a rogue's clean start may
        have thrown the question away with demo's session (the control test)."""
        for _ in range(6):
            command = {"type": "resync", "request_id": request_id}
            official.publish(f"{LOCKERS}/demo/commands", command)
            if settle(lambda: snapshot(request_id), timeout=WAIT_S / 6):
                return {r["reservation_id"] for r in snapshot(request_id)[0]["reservations"]}
        raise AssertionError(f"no snapshot for {request_id}")

    try:
        official = peer(
            "conciergerie",
            "pw-c",
            "conciergerie",
            subscribe=[f"{LOCKERS}/+/events", f"{LOCKERS}/+/status"],
        )
        locker, drops = locker_runtime()
        wait_for(lambda: connected(locker), timeout=WAIT_S, what="the locker connects")
        official.publish(f"{LOCKERS}/demo/reservations", reservation("R-1"))
        out.legit["the conciergerie books"] = settle(
            lambda: events("demo", "reservation.accepted", reservation_id="R-1")
        )

        # 1. The live session: connect as "demo", subscribe to everything of demo's.
        eavesdropper = rogue(
            clean_start=False,
            subscribe=[f"{demo_topic}#", "#", f"$share/g/{demo_topic}reservations"],
        )
        official.publish(f"{LOCKERS}/demo/reservations", reservation("R-LIVE"))
        official.publish(f"{LOCKERS}/demo/commands", {"type": "resync", "request_id": "q-live"})
        official.publish(f"{LOCKERS}/rogue/reservations", reservation("BARRIER-1"))

        def on_demo(t: str, _b: dict[str, Any]) -> bool:
            return t.startswith(demo_topic)

        settle(
            lambda: (
                eavesdropper.got(on_demo)
                or eavesdropper.got(lambda _t, b: b.get("reservation_id") == "BARRIER-1")
            )
        )
        out.worked["take over demo's live session (drop the locker)"] = bool(drops)
        out.legit["the locker keeps its live messages"] = settle(
            lambda: (
                events("demo", "reservation.accepted", reservation_id="R-LIVE")
                and snapshot("q-live")
            ),
            patience,
        )
        eavesdropper.close()
        settle(lambda: connected(locker))

        # 2. Speak for demo and command it, each on a fresh connection as "demo" (the
        # broker closes a connection after refusing its publish).
        forged = {"forged": True, "locker_id": "demo"}
        tries: list[tuple[str, str, dict[str, Any], bool]] = [
            ("publish demo's events", "events", {**forged, "type": "door.opened"}, False),
            ("publish demo's status (retained)", "status", {**forged, "online": False}, True),
            ("book into demo", "reservations", reservation("EVIL"), False),
            (
                "command demo (open B2)",
                "commands",
                {"type": "open", "request_id": "q-rogue", "compartment": "B2", "reason": "x"},
                False,
            ),
        ]
        for name, channel, body, retain in tries:
            forger = rogue()
            out.broker_said[name] = forger.publish(f"{demo_topic}{channel}", body, retain=retain)
            forger.close()
        will = rogue(will=(f"{demo_topic}status", json.dumps({**forged, "will": True}).encode()))
        will.close(with_will=True)
        # barriers: the rogue speaks for itself (allowed), the server asks demo for a resync
        itself = rogue(client_id="rogue")
        itself.publish(f"{LOCKERS}/rogue/events", {"type": "barrier", "locker_id": "rogue"})
        itself.publish(f"{LOCKERS}/rogue/status", {"online": True, "locker_id": "rogue"}, True)
        itself.close()
        out.legit["the conciergerie hears every locker"] = settle(
            lambda: (
                official.got(lambda t, _b: t == f"{LOCKERS}/rogue/status")
                and events("rogue", "barrier")
            )
        )
        settle(lambda: connected(locker))
        held = resync("q-after-forgery")
        on_demo_forged = official.got(lambda t, b: t.startswith(demo_topic) and "forged" in b)
        out.worked["publish demo's events"] = any(b.get("type") for b in on_demo_forged)
        out.worked["publish demo's status (retained)"] = any(
            "will" not in b and "online" in b for b in on_demo_forged
        )
        out.worked["publish demo's status by a Last Will"] = any(
            "will" in b for b in on_demo_forged
        )
        out.worked["book into demo"] = "EVIL" in held or bool(
            events("demo", "reservation.accepted", reservation_id="EVIL")
        )
        out.worked["command demo (open B2)"] = bool(
            official.got(
                lambda t, b: t == f"{demo_topic}events" and b.get("request_id") == "q-rogue"
            )
        )

        # 3. The queued session: the locker away, reservations wait for it at the broker.
        first_drops = list(drops)
        locker.stop()
        official.publish(f"{LOCKERS}/demo/reservations", reservation("R-QUEUED-1"))
        thief = rogue(clean_start=False, subscribe=[f"{LOCKERS}/rogue/reservations"])
        official.publish(f"{LOCKERS}/rogue/reservations", reservation("BARRIER-2"))
        settle(
            lambda: (
                thief.got(on_demo)
                or thief.got(lambda _t, b: b.get("reservation_id") == "BARRIER-2")
            )
        )
        out.worked["receive demo's queued reservations"] = bool(thief.got(on_demo))
        thief.close()
        official.publish(f"{LOCKERS}/demo/reservations", reservation("R-QUEUED-2"))
        rogue(clean_start=True).close()  # a clean start ends the session it takes over
        locker, drops = locker_runtime()
        wait_for(lambda: connected(locker), timeout=WAIT_S, what="the locker connects again")
        held = resync("q-back")
        out.legit["the locker keeps its queued reservations"] = {
            "R-QUEUED-1",
            "R-QUEUED-2",
        } <= held
        out.worked["throw away demo's queued reservations (clean start)"] = "R-QUEUED-2" not in held
        out.worked["receive demo's reservations or commands"] = any(r.got(on_demo) for r in rogues)
        retained = len(official.messages)
        official.client.subscribe(f"{demo_topic}status", qos=1)  # the retained one, again
        settle(lambda: len(official.messages) > retained)
        last = official.got(lambda t, _b: t == f"{demo_topic}status")[-1:]
        out.legit["demo's retained status is the locker's"] = (
            bool(last) and last[0].get("online") is True and "forged" not in last[0]
        )

        # 4. Connections refused outright, and the server's own session.
        for name, kw in (
            ("connect as demo without a password", {"user": None, "password": None}),
            ("connect as demo with a wrong password", {"user": "demo", "password": "guess"}),
        ):
            stranger = peer(client_id="demo", **kw)
            out.broker_said[name] = str(stranger.connack)
            out.worked[name] = stranger.accepted
            stranger.close()
        rogue(client_id="conciergerie").close()
        # acknowledged ("No matching subscribers", MQTT 5) unless the server was dropped
        official.publish(f"{LOCKERS}/rogue/reservations", reservation("BARRIER-3"))
        out.worked["take over the server's session (drop it)"] = bool(official.disconnects)
        out.legit["the locker was never dropped"] = first_drops == drops == []
    finally:
        for made in peers:
            made.client.loop_stop()
        for runtime in runtimes:
            if runtime.started:
                runtime.stop()
        broker.stop()
    return out


def test_shipped_broker_setup_keeps_a_rogue_from_posing_as_another_locker(
    tmp_path: Path,
) -> None:
    result = attack(tmp_path)
    got_through = [name for name, worked in result.worked.items() if worked]
    report(
        "acl",
        rogue_attempts=len(result.worked),
        refused=len(result.worked) - len(got_through),
        broker_said=result.broker_said,
    )
    assert got_through == []
    assert all(result.legit.values()), result.legit
    # the broker itself refused every forged publish (MQTT 5 PUBACK reason 135)
    publishes = {k: v for k, v in result.broker_said.items() if not k.startswith("connect")}
    assert set(publishes.values()) == {"Not authorized"}, publishes


def test_control_client_id_patterns_alone_let_the_rogue_in(tmp_path: Path) -> None:
    """The same attack against the setup this project shipped before: ACL patterns on %c
    (the client id) and no use_username_as_clientid. It gets through: the attack above
    can see what it tests."""
    conf = "\n".join(
        line for line in CONF.read_text().splitlines() if "use_username_as_clientid" not in line
    )
    acl = ACL.read_text().replace("/%u/", "/%c/")
    result = attack(tmp_path, conf, acl, patience=10)
    got_through = sorted(name for name, worked in result.worked.items() if worked)
    report("acl-control", rogue_attempts=len(result.worked), got_through=got_through)
    assert {
        "take over demo's live session (drop the locker)",
        "publish demo's events",
        "publish demo's status (retained)",
        "receive demo's queued reservations",
        "throw away demo's queued reservations (clean start)",
        "receive demo's reservations or commands",
        "take over the server's session (drop it)",
    } <= set(got_through)
    assert result.legit["the locker keeps its queued reservations"] is False
