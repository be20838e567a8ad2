"""Tracker DCS node for ESP8266/ESP32 boards (MicroPython): a sensor and relays on MQTT.

It keeps the contract of the DCS device services, so operators, interlocks and the
archive see it as one more device:

- ``/<name>/availability``  retained ``online``; ``offline`` by the last will or at stop
- ``/<name>/meta``          retained description (kind ``relay``, channels, units)
- ``/<name>/status``        retained JSON list, one object per relay channel:
                            ``{"number", "on", <sensor readings>, "ts", "seq"}``
- ``/<name>/cmd/switch/<ch>``  ``on``/``off`` (also 1/0, true/false)
- ``/<name>/cmd/rebirth``   publish meta and status again
- ``/<name>/reply``         one JSON reply per command, shaped like the DCS ``Reply``
                            (``ok``, ``reason`` such as ``bad_payload``, ``message``, ...)

The board's sensor readings ride on each channel object. Hardware (pins, sensor,
clock) is injected into :class:`Node`, so the same code runs under CPython in the tests,
with ``umqtt.simple`` provided by ``cpython/umqtt/simple.py`` on top of paho-mqtt.
Needs MicroPython 1.19 or later (f-strings). Copy ``main.py`` and ``config.py``, and a
``secrets.py`` made from ``secrets.example.py``, to the board.
"""

import json
import time

MAX_PAYLOAD = 1024
EPOCH_OFFSET = 946684800 if time.gmtime(0)[0] == 2000 else 0  # MicroPython counts from 2000
ON_WORDS = ("on", "1", "true")
OFF_WORDS = ("off", "0", "false")


def shorten(text, limit=64):
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


class Rejected(Exception):
    def __init__(self, reason, message):
        super().__init__(message)
        self.reason = reason
        self.message = message


def parse_switch(payload):
    if len(payload) > MAX_PAYLOAD:
        raise Rejected("bad_payload", f"payload too large: {len(payload)} bytes")
    try:
        text = payload.decode("utf-8")
    except UnicodeError:
        raise Rejected("bad_payload", "payload is not UTF-8 text") from None
    word = text.strip().strip('"').lower()
    if word in ON_WORDS:
        return True
    if word in OFF_WORDS:
        return False
    raise Rejected("bad_payload", f"expected 'on' or 'off', got {shorten(text)!r}")


class Node:
    """One board: relays (callables taking True/False), an optional sensor, one MQTT client."""

    def __init__(self, name, client, relays, sensor=None, period=5.0, clock=None, units=None):
        self.name = name
        self.client = client
        self.relays = relays
        self.state = [False] * len(relays)
        self.sensor = sensor  # returns a dict of readings; raises OSError when it fails
        self.period = period
        self.clock = clock or wall_time
        self.units = units or {}
        self.root = "/" + name
        self.seq = 0
        self.last_status = None

    # -- connection ---------------------------------------------------------------------
    def start(self):
        availability = self.root + "/availability"
        self.client.set_last_will(availability, b"offline", retain=True, qos=1)
        self.client.set_callback(self.on_message)
        self.client.connect()
        self.client.subscribe(self.root + "/cmd/#", qos=1)
        self.client.publish(availability, b"online", retain=True)
        self.rebirth()

    def stop(self):
        self.client.publish(self.root + "/availability", b"offline", retain=True)
        self.client.disconnect()

    def step(self):
        """Handle waiting commands and publish the status when it is due."""
        self.client.check_msg()
        now = self.clock()
        if self.last_status is None or now - self.last_status >= self.period:
            self.publish_status()

    # -- publishing -------------------------------------------------------------------------
    def rebirth(self):
        meta = {
            "kind": "relay",
            "driver": "esp",
            "channels": list(range(len(self.relays))),
            "units": self.units,
            "limits": {},
            "commands": ["rebirth", "switch"],
            "sim_parameters": [],
            "period": self.period,
        }
        self.client.publish(self.root + "/meta", json.dumps(meta), retain=True)
        self.publish_status()

    def publish_status(self):
        now = self.clock()
        readings = self.read_sensor()
        body = []
        for ch, on in enumerate(self.state):
            entry = {"number": ch, "on": int(on)}
            entry.update(readings)
            entry.update({"ts": now, "seq": self.seq})
            body.append(entry)
        self.seq += 1
        self.last_status = now
        self.client.publish(self.root + "/status", json.dumps(body), retain=True)

    def read_sensor(self):
        if self.sensor is None:
            return {}
        try:
            return self.sensor()
        except OSError:  # a DHT read that failed: publish the relays without readings
            return {}

    # -- commands ---------------------------------------------------------------------------
    def on_message(self, topic, payload):
        topic = topic.decode("utf-8", "replace") if isinstance(topic, bytes) else topic
        reply = self.handle(topic, bytes(payload))
        self.client.publish(self.root + "/reply", json.dumps(reply))
        self.publish_status()

    def handle(self, topic, payload):
        command, channel = None, None
        try:
            command, channel = self.parse_topic(topic)
            message = self.execute(command, channel, payload)
            reason = None
        except Rejected as exc:
            reason, message = exc.reason, exc.message
        return {
            "ok": reason is None,
            "device": self.name,
            "topic": shorten(topic, 256),
            "payload": shorten(payload[:MAX_PAYLOAD].decode("utf-8", "replace")),
            "command": command,
            "channel": channel,
            "reason": reason,
            "message": message,
            "ts": self.clock(),
        }

    def parse_topic(self, topic):
        prefix = self.root + "/cmd/"
        parts = topic[len(prefix) :].split("/") if topic.startswith(prefix) else []
        if not parts or not parts[0] or len(parts) > 2:
            raise Rejected("bad_topic", f"expected {prefix}<command>[/<channel>]")
        if len(parts) == 1:
            return parts[0], None
        if not parts[1].isdigit():
            raise Rejected("bad_topic", f"channel must be a number, got {shorten(parts[1])!r}")
        return parts[0], int(parts[1])

    def execute(self, command, channel, payload):
        if command == "rebirth":
            self.rebirth()
            return "full state published again"
        if command != "switch":
            raise Rejected(
                "unknown_command", f"unknown command {shorten(command)!r} (known: rebirth, switch)"
            )
        if channel is None:
            raise Rejected("bad_topic", f"switch needs a channel: {self.root}/cmd/switch/<channel>")
        if channel >= len(self.relays):
            raise Rejected("unknown_channel", f"{self.name} has no channel {channel}")
        on = parse_switch(payload)
        self.relays[channel](on)
        self.state[channel] = on
        return f"relay {channel} {'on' if on else 'off'}"


def wall_time():
    return time.time() + EPOCH_OFFSET


def run(node, keep_going=lambda: True, idle=None, backoff=(1, 2, 5, 10, 30)):
    """Serve until ``keep_going()`` is false, reconnecting after a network failure."""
    idle = idle or (lambda: time.sleep(0.02))
    failures = 0
    while keep_going():
        try:
            node.start()
            failures = 0
            while keep_going():
                node.step()
                idle()
            node.stop()
        except Exception:  # OSError from the socket, MQTTException from the broker
            time.sleep(backoff[min(failures, len(backoff) - 1)])
            failures += 1


# -- the board ----------------------------------------------------------------------------------


def pin_relay(pin, active_low=False):
    def switch(on):
        pin.value(int(on) ^ int(active_low))

    switch(False)
    return switch


def dht_reader(sensor):
    def read():
        sensor.measure()
        return {"temperature": float(sensor.temperature()), "humidity": float(sensor.humidity())}

    return read


def main():  # pragma: no cover - runs on the board
    import config
    import dht
    import machine
    import network
    from umqtt.simple import MQTTClient

    try:
        import secrets
    except ImportError:
        secrets = None
    wlan = network.WLAN(network.STA_IF)
    wlan.active(True)
    wlan.connect(getattr(secrets, "WIFI_SSID", ""), getattr(secrets, "WIFI_PASSWORD", ""))
    while not wlan.isconnected():
        time.sleep(0.5)
    try:
        import ntptime

        ntptime.settime()
    except (ImportError, OSError):
        pass
    relays = [pin_relay(machine.Pin(p, machine.Pin.OUT), config.RELAY_ACTIVE_LOW) for p in config.RELAY_PINS]
    sensor = dht_reader(dht.DHT22(machine.Pin(config.SENSOR_PIN))) if config.SENSOR_PIN is not None else None
    client_id = (f"{config.NAME}-{machine.unique_id().hex()}").encode()
    client = MQTTClient(
        client_id,
        config.BROKER,
        port=config.PORT,
        user=getattr(secrets, "MQTT_USER", None),
        password=getattr(secrets, "MQTT_PASSWORD", None),
        keepalive=30,
    )
    units = {"temperature": "\u00b0C", "humidity": "%"} if sensor else {}
    run(Node(config.NAME, client, relays, sensor, config.PERIOD, units=units))


if __name__ == "__main__":
    main()
