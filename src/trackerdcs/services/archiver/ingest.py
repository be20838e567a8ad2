"""The archiver's subscriber: every message made durable before it is acknowledged.

This is plain paho-mqtt on its own network thread rather than aiomqtt, for two
reasons measured and recorded in docs/decisions/0009: aiomqtt acknowledges a QoS 1
message as soon as it arrives, before the application has seen it (it exposes no
manual acknowledgement), and it costs about 1.5 times the CPU per message. Here the
callback appends the message to the spool and only then acknowledges it, so a message
the broker considers delivered is always on disk. The session is persistent: what is
published while the archiver is away is queued by the broker and delivered on return.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from trackerdcs.archive.points import Message
from trackerdcs.archive.spool import SpoolClosed
from trackerdcs.bus.session import connect_properties
from trackerdcs.bus.settings import BrokerSettings, tls_context

log = logging.getLogger(__name__)

Sink = Callable[[Message], None]


class Ingest:
    """Subscribes at QoS 1 with a persistent session and hands each message to ``sink``."""

    def __init__(self, broker: BrokerSettings, identifier: str, filters: Sequence[str], sink: Sink) -> None:
        self.broker = broker
        self.filters = list(filters)
        self.sink = sink
        self.connected = threading.Event()
        self.received = 0
        self.stopping = False
        self.v5 = broker.protocol != "3.1.1"
        self.client = self._client(identifier)

    def _client(self, identifier: str) -> mqtt.Client:
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=identifier,
            protocol=mqtt.MQTTv5 if self.v5 else mqtt.MQTTv311,
            clean_session=None if self.v5 else False,
            manual_ack=True,
        )
        if self.broker.username:
            client.username_pw_set(self.broker.username, self.broker.password)
        context = tls_context(self.broker)
        if context is not None:
            client.tls_set_context(context)
        client.reconnect_delay_set(1, 5)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribe
        return client

    def start(self) -> None:
        props = connect_properties(True) if self.v5 else None
        clean_start = False if self.v5 else mqtt.MQTT_CLEAN_START_FIRST_ONLY
        self.client.connect_async(
            self.broker.host, self.broker.port, 10, clean_start=clean_start, properties=props
        )
        self.client.loop_start()

    def stop(self) -> None:
        self.stopping = True
        self.client.disconnect()
        self.client.loop_stop()

    def _on_connect(
        self, client: mqtt.Client, _u: object, _f: object, reason: ReasonCode, _p: object
    ) -> None:
        if reason.is_failure:
            log.warning("archiver: broker %s refused the connection: %s", self.broker.url, reason)
            return
        client.subscribe([(f, 1) for f in self.filters])

    def _on_subscribe(
        self, _c: mqtt.Client, _u: object, _mid: int, reasons: list[ReasonCode], _p: object
    ) -> None:
        if any(r.is_failure for r in reasons):
            log.error("archiver: the broker refused the subscription: %s", reasons)
            return
        self.connected.set()
        log.info("archiver: subscribed on %s to %s", self.broker.url, ", ".join(self.filters))

    def _on_disconnect(self, _c: mqtt.Client, _u: object, _f: object, reason: ReasonCode, _p: object) -> None:
        self.connected.clear()
        if not self.stopping:
            log.warning("archiver: disconnected from %s (%s); reconnecting", self.broker.url, reason)

    def _on_message(self, client: mqtt.Client, _u: object, message: mqtt.MQTTMessage) -> None:
        try:
            self.sink(Message(message.topic, bytes(message.payload), time.time()))
        except SpoolClosed:  # stopping: not acknowledged, so the broker delivers it again next time
            log.debug("archiver: stopping; %s left to the broker", message.topic)
            return
        except Exception:  # not acknowledged: the broker delivers it again next session
            log.exception("archiver: could not spool a message on %s", message.topic)
            return
        self.received += 1
        client.ack(message.mid, message.qos)
