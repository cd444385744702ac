"""The conciergerie's side in tests: a real paho client that pushes and records."""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from tests.helpers import wait_for


class Server:
    """Subscribes to a locker's events and status; publishes reservations and commands."""

    def __init__(
        self,
        port: int,
        locker_id: str = "demo",
        prefix: str = "conciergerie",
        persistent_id: str | None = None,
        username: str | None = None,
        password: str | None = None,
        ca_file: Path | None = None,
    ) -> None:
        """``persistent_id``: keep a session at the broker under that client id, so that
        events published while this server is away are delivered when it returns;
        ``username``/``password`` and ``ca_file`` (TLS) for a broker that asks for them."""
        self.base = f"{prefix}/lockers/{locker_id}"
        self.events: list[dict[str, Any]] = []
        self.raw_events: list[bytes] = []
        self.status: dict[str, Any] | None = None
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=persistent_id or f"test-server-{id(self)}",
            protocol=mqtt.MQTTv5,
        )
        if username is not None:
            self.client.username_pw_set(username, password)
        if ca_file is not None:
            self.client.tls_set(ca_certs=str(ca_file))
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(1, 2)
        props = None
        if persistent_id:
            props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            props.SessionExpiryInterval = 3600
        self.client.connect("127.0.0.1", port, clean_start=not persistent_id, properties=props)
        self.client.loop_start()
        if not self._ready.wait(10):
            raise RuntimeError("test server could not subscribe")

    def _on_connect(self, client: mqtt.Client, *_: Any) -> None:
        client.subscribe([(f"{self.base}/events", 1), (f"{self.base}/status", 1)])
        self._ready.set()

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        body = json.loads(msg.payload)
        with self._lock:
            if msg.topic.endswith("/events"):
                self.events.append(body)
                self.raw_events.append(bytes(msg.payload))
            else:
                self.status = body

    def send(self, channel: str, body: dict[str, Any] | bytes) -> None:
        payload = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.client.publish(f"{self.base}/{channel}", payload, qos=1).wait_for_publish(10)

    def send_many(self, channel: str, payloads: Iterable[bytes], window: int = 1_000) -> int:
        """Publish at QoS 1 with at most ``window`` messages unacknowledged; returns the count.

        NOTE: paho keys its outgoing messages by a 16-bit message id, so with over 65,535
        unacknowledged a new message overwrites an old one, which is then never sent: the
        10x fuzz test, publishing 200,000 at once, stalled after about 70,000.
        """
        pending: deque[mqtt.MQTTMessageInfo] = deque()
        sent = 0
        for raw in payloads:
            pending.append(self.client.publish(f"{self.base}/{channel}", raw, qos=1))
            sent += 1
            while len(pending) > window:
                self._acked(pending.popleft())
        while pending:
            self._acked(pending.popleft())
        return sent

    @staticmethod
    def _acked(info: mqtt.MQTTMessageInfo) -> None:
        info.wait_for_publish(60)
        if not info.is_published():
            raise RuntimeError(f"the broker did not acknowledge message {info.mid} in 60 s")

    def unique(self) -> list[dict[str, Any]]:
        """Events deduplicated by event_id, in arrival order."""
        seen: set[str] = set()
        out = []
        with self._lock:
            for e in self.events:
                if e["event_id"] not in seen:
                    seen.add(e["event_id"])
                    out.append(e)
        return out

    def wait_event(self, type_: str, timeout: float = 15, **match: Any) -> dict[str, Any]:
        def find() -> dict[str, Any] | None:
            for e in self.unique():
                if e["type"] == type_ and all(e.get(k) == v for k, v in match.items()):
                    return e
            return None

        return wait_for(find, timeout=timeout, what=f"event {type_} {match}")

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()
