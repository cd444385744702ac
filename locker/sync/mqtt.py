"""The MQTT side of the contract with paho-mqtt 2.x: connection, subscriptions, status.

The locker keeps a persistent session (clean start off, a session expiry),
so QoS 1 reservations queued at the broker while it was away arrive when it
returns. Inbound messages are acknowledged by hand, only after the change
they carry is committed: a crash before the commit means the broker
delivers them again.
"""

from __future__ import annotations

import logging
import random
import ssl
import threading
import time
from datetime import UTC, datetime
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from locker import __version__
from locker.config import MqttConfig
from locker.domain.ports import Changes
from locker.domain.service import LockerService
from locker.store.sqlite import SqliteStore
from locker.sync import backoff
from locker.sync.inbound import Inbound
from locker.sync.intake import Incoming, Intake
from locker.sync.messages import FreeCounts, Status, status_json
from locker.sync.outbox import Delivery, OutboxPublisher

log = logging.getLogger(__name__)
_RNG = random.Random()

STATUS_MIN_INTERVAL_S = 0.5
TEMPERATURES_EVERY_S = 300.0  # a temperature alone republishes the status at most this often
_ZONE_NEWS = {"temperature.alarm", "temperature.ok", "sensor.fault", "sensor.ok"}


class Topics:
    def __init__(self, prefix: str, locker_id: str) -> None:
        base = f"{prefix}/lockers/{locker_id}"
        self.reservations = f"{base}/reservations"
        self.commands = f"{base}/commands"
        self.events = f"{base}/events"
        self.status = f"{base}/status"


class MqttSync:
    def __init__(
        self, config: MqttConfig, locker_id: str, service: LockerService, store: SqliteStore
    ) -> None:
        self._config = config
        self._locker_id = locker_id
        self._service = service
        self.topics = Topics(config.topic_prefix, locker_id)
        self._intake = Intake(Inbound(service, config.max_message_bytes))
        self.connected = threading.Event()
        self.last_error: str | None = None
        self._status_dirty = True
        self._site: tuple[bool, datetime | None] | None = None  # as the last status said
        self._status_last: bytes | None = None
        self._status_at = 0.0
        self._temps_dirty = False  # a new reading not yet in the retained status
        self._temps_at = 0.0
        self._stopping = False
        self._unusable: str | None = None
        self.client = self._make_client()
        self.outbox = OutboxPublisher(
            store,
            self._publish_event,
            self.connected,
            locker_id,
            window=config.inflight,
            on_loop=self._maybe_publish_status,
        )
        service.subscribe(self._on_commit)

    # -- setup --------------------------------------------------------------
    def _make_client(self) -> mqtt.Client:
        c = self._config
        v5 = c.protocol == "5"
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=c.client_id or self._locker_id,
            protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
            clean_session=None if v5 else False,
            manual_ack=True,
        )
        client.will_set(
            self.topics.status,
            status_json(Status(online=False, locker_id=self._locker_id)),
            qos=1,
            retain=True,
        )
        if c.username:
            client.username_pw_set(c.username, c.password or None)
        if c.tls:
            try:
                client.tls_set(
                    ca_certs=str(c.ca_file) if c.ca_file else None,
                    certfile=str(c.cert_file) if c.cert_file else None,
                    keyfile=str(c.key_file) if c.key_file else None,
                    cert_reqs=ssl.CERT_REQUIRED,
                    tls_version=ssl.PROTOCOL_TLS_CLIENT,
                )
            except (OSError, ValueError, ssl.SSLError) as exc:
                # NOTE: the locker still serves pickups; it just cannot reach the server.
                self._unusable = f"TLS setup failed: {exc}"
                log.error("MQTT disabled: %s", self._unusable)
        self._arm_backoff(client)
        # NOTE: room beyond the outbox window, so that a status (online/offline)
        # never waits behind unacknowledged events.
        client.max_inflight_messages_set(max(c.inflight, 1) + 2)
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_publish = self._on_publish
        client.on_subscribe = self._on_subscribe
        return client

    def start(self) -> None:
        if self._unusable is not None:
            self.last_error = self._unusable
            return
        c = self._config
        props = None
        if c.protocol == "5":
            props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            props.SessionExpiryInterval = c.session_expiry_s
        self._intake.start()
        self.client.connect_async(
            c.host, c.port, keepalive=c.keepalive_s, clean_start=False, properties=props
        )
        self.client.loop_start()
        self.outbox.start()

    def stop(self, timeout: float = 3.0) -> None:
        """A clean shutdown says so itself: offline status, retained, before disconnecting."""
        self._stopping = True
        if self._unusable is not None:
            return
        self._intake.stop()
        self.outbox.stop()
        if self.connected.is_set():
            info = self.client.publish(
                self.topics.status,
                status_json(Status(online=False, locker_id=self._locker_id, at=_now())),
                qos=1,
                retain=True,
            )
            delivered = False
            try:
                info.wait_for_publish(timeout)
                delivered = info.is_published()
            except (RuntimeError, ValueError):
                delivered = False
            if not delivered:
                log.warning("offline status not acknowledged: leaving it to the Last Will")
                self._drop_with_will()
                return
        self.client.disconnect()
        self.client.loop_stop()

    def _drop_with_will(self) -> None:
        """End the connection so that the broker publishes our Last Will (offline)."""
        if self._config.protocol == "5":
            will = ReasonCode(PacketTypes.DISCONNECT, identifier=4)  # with Will Message
            self.client.disconnect(reasoncode=will)
            self.client.loop_stop()
        else:  # MQTT 3.1.1 has no such DISCONNECT: drop the socket instead
            self.client.loop_stop()
            sock = self.client.socket()
            if sock is not None:
                sock.close()

    # -- paho callbacks (paho's thread: never raise) --------------------------
    def _on_connect(
        self, client: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any = None
    ) -> None:
        if reason.is_failure:
            self.last_error = f"connection refused: {reason}"
            log.warning("MQTT broker refused the connection: %s", reason)
            return
        self.last_error = None
        # NOTE: "connected" waits for the SUBACK: until then a new session holds no
        # subscription, and a message the server sent in that instant was not for us.
        client.subscribe([(self.topics.reservations, 1), (self.topics.commands, 1)])
        log.info("MQTT connected to %s:%d", self._config.host, self._config.port)

    def _on_subscribe(
        self, _client: mqtt.Client, _u: Any, _mid: int, reasons: Any, _p: Any = None
    ) -> None:
        refused = [str(r) for r in reasons if r.is_failure]
        if refused:  # events can still go out: report, and carry on
            self.last_error = f"subscription refused: {', '.join(refused)}"
            log.error("MQTT broker refused our subscriptions: %s", ", ".join(refused))
        self.connected.set()
        self._status_dirty = True
        self._status_last = None  # always announce ourselves on a new connection
        self.outbox.reconnected()

    def _arm_backoff(self, client: mqtt.Client) -> None:
        c = self._config
        backoff.arm(client, c.reconnect_min_s, c.reconnect_max_s, c.reconnect_jitter_s, _RNG)

    def _on_connect_fail(self, _client: mqtt.Client, _u: Any) -> None:
        self.last_error = "broker unreachable"

    def _on_disconnect(
        self, _client: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any = None
    ) -> None:
        was = self.connected.is_set()
        self.connected.clear()
        if was:  # a fresh, random first wait: the fleet does not return in one instant
            self._arm_backoff(_client)
        if was and not self._stopping:
            self.last_error = f"disconnected: {reason}"
            log.warning("MQTT connection lost (%s); reconnecting", reason)

    def _on_message(self, client: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        mid, qos = msg.mid, msg.qos

        def ack() -> None:
            client.ack(mid, qos)

        if msg.topic in (self.topics.reservations, self.topics.commands):
            is_reservation = msg.topic == self.topics.reservations
            self._intake.put(Incoming(is_reservation, bytes(msg.payload), ack))
        else:
            ack()

    def _on_publish(
        self, _client: mqtt.Client, _u: Any, mid: int, reason: Any = None, _p: Any = None
    ) -> None:
        if reason is not None and getattr(reason, "is_failure", False):
            self.outbox.refused(mid, str(reason))
        self.outbox.wake()

    # -- outgoing -----------------------------------------------------------
    def _publish_event(self, body: bytes) -> Delivery:
        return self.client.publish(self.topics.events, body, qos=1)

    def _on_commit(self, changes: Changes) -> None:
        if changes.events:
            self.outbox.wake()
        if changes.reservations or changes.compartments:
            self._status_dirty = True
        if changes.zones:  # an alarm at once; a reading within TEMPERATURES_EVERY_S
            if any(e.type in _ZONE_NEWS for e in changes.events):
                self._status_dirty = True
            else:
                self._temps_dirty = True

    def status(self) -> Status:
        # a compartment that failed its commissioning is not booked either (issue 18)
        out_of_service = [c.id for c, _, _ in self._service.compartments() if not c.bookable]
        is_open, until = self._site = self._service.site()
        return Status(
            online=True,
            locker_id=self._locker_id,
            software=__version__,
            free=FreeCounts(**self._service.free_counts()),
            out_of_service=out_of_service,
            at=_now(),
            contract="1.1",
            temperatures=self._service.temperatures() or None,
            open=is_open,
            closed_until=until,
        )

    def _maybe_publish_status(self) -> None:
        if not self.connected.is_set():
            return
        if self._service.site() != self._site:  # opened or closed: said at once
            self._status_dirty = True
        now = time.monotonic()
        temps_due = self._temps_dirty and now - self._temps_at >= TEMPERATURES_EVERY_S
        if not (self._status_dirty or temps_due) or now - self._status_at < STATUS_MIN_INTERVAL_S:
            return
        self._status_dirty = False
        status = self.status()
        key = status_json(status.model_copy(update={"at": None}))
        if key == self._status_last:
            return
        self.client.publish(self.topics.status, status_json(status), qos=1, retain=True)
        self._status_last = key
        self._status_at = self._temps_at = now
        self._temps_dirty = False

    def health(self) -> dict[str, object]:
        return {
            "enabled": True,
            "connected": self.connected.is_set(),
            "broker": f"{self._config.host}:{self._config.port}",
            "error": self.last_error,
            "refused": self.outbox.refusal,  # the broker's last refusal of an event
        }


def _now() -> datetime:
    return datetime.now(UTC)
