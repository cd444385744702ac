"""``locker conciergerie``: a stand-in for the conciergerie server, for integrators.

It pushes reservations and commands to a broker as the server would, and
prints the events the locker sends back, one JSON line each, without
duplicates (by ``event_id``), as a real server must.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion


class Conciergerie:
    def __init__(self, host: str, port: int, locker_id: str, prefix: str = "conciergerie") -> None:
        self.base = f"{prefix}/lockers/{locker_id}"
        self._seen: set[str] = set()
        self._subscribed = threading.Event()
        self._listening = False
        self.printed = 0
        self._status: object = None
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"conciergerie-sim-{uuid.uuid4().hex[:8]}",
            protocol=mqtt.MQTTv5,
        )
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.on_subscribe = self._on_subscribe
        self.client.connect(host, port, keepalive=30)
        self.client.loop_start()

    def listen(self) -> None:
        self._listening = True
        self.client.subscribe([(f"{self.base}/events", 1), (f"{self.base}/status", 1)])
        if not self._subscribed.wait(10):
            raise SystemExit("could not subscribe to the locker's topics")

    def _on_connect(self, *_: Any) -> None:
        if self._listening:
            self.client.subscribe([(f"{self.base}/events", 1), (f"{self.base}/status", 1)])

    def _on_subscribe(self, *_: Any) -> None:
        self._subscribed.set()

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        try:
            body = json.loads(msg.payload)
        except (ValueError, RecursionError):
            body = None
        if not isinstance(body, dict):
            print(f"# unreadable message on {msg.topic}", flush=True)
            return
        if msg.topic.endswith("/status"):
            shown = {k: v for k, v in body.items() if k != "at"} if isinstance(body, dict) else body
            if shown != self._status:  # print a status only when it says something new
                self._status = shown
                print(f"# status {json.dumps(body, ensure_ascii=False)}", flush=True)
            return
        event_id = str(body.get("event_id"))
        if event_id in self._seen:
            return  # the locker sends at least once: drop the duplicate
        self._seen.add(event_id)
        self.printed += 1
        print(json.dumps(body, ensure_ascii=False), flush=True)

    def send(self, channel: str, body: dict[str, Any]) -> None:
        payload = json.dumps(body).encode()
        self.client.publish(f"{self.base}/{channel}", payload, qos=1).wait_for_publish(10)
        print(f"> {channel} {json.dumps(body, ensure_ascii=False)}", flush=True)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def _message(args: argparse.Namespace) -> tuple[str, dict[str, Any]] | None:
    if args.action == "upsert":
        expires = args.expires_at or (
            datetime.now(UTC) + timedelta(hours=args.expires_in)
        ).isoformat(timespec="seconds")
        body: dict[str, Any] = {
            "type": "reservation.upsert",
            "reservation_id": args.id,
            "version": args.version,
            "kind": args.kind,
            "size": args.size,
            "chilled": args.chilled,
            "accessible": args.accessible,
            "expires_at": expires,
        }
        if args.recipient:
            body["recipient"] = args.recipient
        if args.reference:
            body["reference"] = args.reference
        return "reservations", body
    if args.action == "cancel":
        return "reservations", {
            "type": "reservation.cancel",
            "reservation_id": args.id,
            "version": args.version,
        }
    if args.action == "listen":
        return None
    request_id = args.request_id or f"q-{uuid.uuid4().hex[:8]}"
    if args.action == "resync":
        return "commands", {"type": "resync", "request_id": request_id}
    if args.action == "open":
        body = {"type": "open", "request_id": request_id, "compartment": args.compartment}
        if args.reason:
            body["reason"] = args.reason
        return "commands", body
    if args.action == "set-service":
        return "commands", {
            "type": "set_service",
            "request_id": request_id,
            "compartment": args.compartment,
            "in_service": args.state == "on",
        }
    raise ValueError(args.action)  # pragma: no cover - argparse allows no other


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "conciergerie",
        help="act as the conciergerie server: push reservations/commands, print events",
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--host", default="127.0.0.1")
    common.add_argument("--port", type=int, default=1883)
    common.add_argument("--locker", default="demo", help="locker id (default: demo)")
    common.add_argument("--prefix", default="conciergerie")
    common.add_argument(
        "--wait", type=float, default=2.0, help="seconds to print events for (listen: 0 = forever)"
    )
    actions = p.add_subparsers(dest="action", required=True)
    actions.add_parser("listen", parents=[common], help="print the locker's events and status")
    up = actions.add_parser("upsert", parents=[common], help="book or change a reservation")
    up.add_argument("--id", required=True)
    up.add_argument("--version", type=int, default=1)
    up.add_argument("--kind", choices=["delivery", "dropoff"], default="delivery")
    up.add_argument("--size", choices=["S", "M", "L"], default="M")
    up.add_argument("--chilled", action="store_true")
    up.add_argument("--accessible", action="store_true")
    up.add_argument("--recipient")
    up.add_argument("--reference")
    up.add_argument("--expires-at", help="ISO 8601 with offset (default: now + --expires-in)")
    up.add_argument("--expires-in", type=float, default=48.0, help="hours (default 48)")
    cancel = actions.add_parser("cancel", parents=[common], help="cancel a reservation")
    cancel.add_argument("--id", required=True)
    cancel.add_argument("--version", type=int, required=True)
    for name in ("resync", "open", "set-service"):
        cmd = actions.add_parser(name, parents=[common], help=f"the {name} command")
        cmd.add_argument("--request-id")
        if name != "resync":
            cmd.add_argument("--compartment", required=True)
        if name == "open":
            cmd.add_argument("--reason")
        if name == "set-service":
            cmd.add_argument("state", choices=["on", "off"])
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        sim = Conciergerie(args.host, args.port, args.locker, args.prefix)
    except OSError as exc:
        print(f"cannot reach the broker at {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    try:
        sim.listen()
        message = _message(args)
        if message is not None:
            sim.send(*message)
        forever = message is None and args.wait == 0
        deadline = time.monotonic() + args.wait
        while forever or time.monotonic() < deadline:
            time.sleep(0.1)
    except KeyboardInterrupt:
        pass
    finally:
        sim.close()
    return 0
