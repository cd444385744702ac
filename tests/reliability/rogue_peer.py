"""A raw MQTT 5 client over TLS for the security tests: it records what reaches it and
what the broker answered, and never reconnects."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from tests.helpers import wait_for
from tests.reliability.shipped_broker import WAIT_S


class Peer:
    """A raw MQTT 5 client over TLS that records what reaches it; it never reconnects."""

    def __init__(
        self,
        port: int,
        ca: Path,
        user: str | None,
        password: str | None,
        client_id: str,
        clean_start: bool = True,
        subscribe: Sequence[str] = (),
        will: tuple[str, bytes] | None = None,
    ) -> None:
        self.messages: list[tuple[str, bytes]] = []
        self.disconnects: list[str] = []
        self.connack: str | None = None
        self.accepted = False
        self._acks: dict[int, str] = {}
        self._subacks: list[list[str]] = []
        self._lock = threading.Lock()
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=mqtt.MQTTv5,
            reconnect_on_failure=False,
        )
        client.tls_set(ca_certs=str(ca))
        if user is not None:
            client.username_pw_set(user, password)
        if will is not None:
            client.will_set(will[0], will[1], qos=1, retain=True)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_publish = self._on_publish
        client.on_subscribe = self._on_subscribe
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = 3600  # a session that outlives the connection
        self.client = client
        client.connect("127.0.0.1", port, clean_start=clean_start, properties=props)
        client.loop_start()
        wait_for(lambda: self.connack is not None, timeout=WAIT_S, what=f"CONNACK {client_id}")
        if subscribe and self.accepted:
            client.subscribe([(topic, 1) for topic in subscribe])
            wait_for(lambda: self._subacks or self.disconnects, timeout=WAIT_S, what="SUBACK")

    def _on_connect(self, _c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        self.accepted = not reason.is_failure
        self.connack = str(reason)

    def _on_disconnect(self, _c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        with self._lock:
            self.disconnects.append(str(reason))

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.messages.append((msg.topic, bytes(msg.payload)))

    def _on_publish(self, _c: mqtt.Client, _u: Any, mid: int, reason: Any, _p: Any) -> None:
        with self._lock:
            self._acks[mid] = str(reason)

    def _on_subscribe(self, _c: mqtt.Client, _u: Any, _m: int, reasons: Any, _p: Any) -> None:
        with self._lock:
            self._subacks.append([str(r) for r in reasons])

    def publish(self, topic: str, body: dict[str, Any] | bytes, retain: bool = False) -> str:
        """Publish at QoS 1; answer the broker's PUBACK reason, or that the connection
        closed first."""
        payload = body if isinstance(body, bytes) else json.dumps(body).encode()
        mid = self.client.publish(topic, payload, qos=1, retain=retain).mid
        wait_for(lambda: mid in self._acks or self.disconnects, timeout=WAIT_S, what="PUBACK")
        with self._lock:
            return self._acks.get(mid, "connection closed")

    def got(self, match: Callable[[str, dict[str, Any]], bool]) -> list[dict[str, Any]]:
        """The JSON messages received that ``match(topic, body)``."""
        with self._lock:
            received = list(self.messages)
        out = []
        for topic, payload in received:
            try:
                body = json.loads(payload)
            except ValueError:
                continue
            if isinstance(body, dict) and match(topic, body):
                out.append(body)
        return out

    def close(self, with_will: bool = False) -> None:
        if with_will:  # MQTT 5: "disconnect with Will Message"
            self.client.disconnect(reasoncode=ReasonCode(PacketTypes.DISCONNECT, identifier=4))
        else:
            self.client.disconnect()
        self.client.loop_stop()
