"""``umqtt.simple.MQTTClient`` for CPython, on paho-mqtt, so the ESP script runs in tests.

Same calls and the same single-threaded behaviour as on the board: nothing happens in
the background; ``check_msg`` handles at most one waiting message, ``wait_msg`` blocks
for one, and the callback gets ``(topic: bytes, payload: bytes)``. Network failures
raise :class:`OSError`, a refused connection :class:`MQTTException`, as umqtt does.
"""

from __future__ import annotations

import collections
import socket
import time
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

ACK_TIMEOUT = 10.0  # s


class MQTTException(Exception):
    pass


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


class MQTTClient:
    def __init__(
        self,
        client_id: str | bytes,
        server: str,
        port: int = 0,
        user: str | None = None,
        password: str | None = None,
        keepalive: int = 0,
        ssl: bool = False,
        ssl_params: dict[str, Any] | None = None,
    ) -> None:
        self.server = server
        self.port = port or (8883 if ssl else 1883)
        self.keepalive = keepalive or 60
        self.cb: Callable[[bytes, bytes], None] | None = None
        self._inbox: collections.deque[tuple[bytes, bytes]] = collections.deque()
        self._client = paho.Client(CallbackAPIVersion.VERSION2, client_id=_text(client_id))
        if user is not None:
            self._client.username_pw_set(user, password)
        if ssl:
            self._client.tls_set(**(ssl_params or {}))
        self._client.on_message = lambda _c, _u, m: self._inbox.append((m.topic.encode(), bytes(m.payload)))
        self._acks: set[int] = set()
        self._client.on_subscribe = lambda _c, _u, mid, *_: self._acks.add(mid)
        self._connack: ReasonCode | None = None
        self._client.on_connect = lambda _c, _u, _f, rc, *_: setattr(self, "_connack", rc)

    @property
    def sock(self) -> socket.socket | None:
        """The TCP socket, as umqtt exposes it (tests close it to cut the power)."""
        sock = self._client.socket()
        return sock if isinstance(sock, socket.socket) else None

    def set_callback(self, f: Callable[[bytes, bytes], None]) -> None:
        self.cb = f

    def set_last_will(self, topic: str | bytes, msg: str | bytes, retain: bool = False, qos: int = 0) -> None:
        self._client.will_set(_text(topic), msg, qos, retain)

    def connect(self, clean_session: bool = True) -> bool:
        self._connack = None
        try:
            self._client.connect(self.server, self.port, self.keepalive)
        except (OSError, ValueError) as exc:
            raise OSError(f"cannot connect to {self.server}:{self.port}: {exc}") from exc
        self._loop_until(lambda: self._connack is not None, "CONNACK")
        assert self._connack is not None
        if self._connack.is_failure:
            raise MQTTException(str(self._connack))
        return False

    def disconnect(self) -> None:
        self._client.disconnect()

    def ping(self) -> None:
        self._loop()  # paho sends PINGREQ itself when the keepalive is due

    def publish(self, topic: str | bytes, msg: str | bytes, retain: bool = False, qos: int = 0) -> None:
        info = self._client.publish(_text(topic), msg, qos, retain)
        if info.rc != paho.MQTT_ERR_SUCCESS:
            raise OSError(f"publish failed: {paho.error_string(info.rc)}")
        if qos:
            self._loop_until(info.is_published, "PUBACK")

    def subscribe(self, topic: str | bytes, qos: int = 0) -> None:
        rc, mid = self._client.subscribe(_text(topic), qos)
        if rc != paho.MQTT_ERR_SUCCESS or mid is None:
            raise OSError(f"subscribe failed: {paho.error_string(rc)}")
        self._loop_until(lambda: mid in self._acks, "SUBACK")

    def check_msg(self) -> None:
        self._loop()
        self._dispatch()

    def wait_msg(self) -> None:
        self._loop_until(lambda: bool(self._inbox), "a message", timeout=None)
        self._dispatch()

    def _dispatch(self) -> None:
        if self._inbox and self.cb is not None:
            self.cb(*self._inbox.popleft())

    def _loop(self, timeout: float = 0.0) -> None:
        rc = self._client.loop(timeout)
        if rc != paho.MQTT_ERR_SUCCESS:
            raise OSError(f"connection lost: {paho.error_string(rc)}")

    def _loop_until(self, done: Callable[[], bool], what: str, timeout: float | None = ACK_TIMEOUT) -> None:
        deadline = None if timeout is None else time.monotonic() + timeout
        while not done():
            if deadline is not None and time.monotonic() > deadline:
                raise OSError(f"no {what} within {timeout:g} s")
            self._loop(0.05)
