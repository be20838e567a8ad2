"""Which MQTT client should the archiver use? CPU per received message, on our payloads.

A publisher process (mosquitto_pub, QoS 1) sends N hv status messages of K channels;
one subscriber (QoS 1) receives them with aiomqtt, plain paho (manual acknowledgement,
as the archiver does) or gmqtt. Reported: messages/s and the subscriber's CPU time per
message. Run: `.venv/bin/python -m benchmarks.bench_mqtt_clients [--n N] [--k K]`.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from benchmarks.status_publisher import templates
from tests.helpers import BrokerProcess


def payloads(n: int, k: int) -> bytes:
    variants = templates(k)
    return b"".join(variants[i % 7] % ((b"1.5", str(i).encode()) * k) + b"\n" for i in range(n))


def feed(port: int, lines: bytes) -> None:
    """Publish one message per line with mosquitto_pub; returns when all are sent."""
    argv = ["mosquitto_pub", "-p", str(port), "-q", "1", "-t", "/bench/status", "-l"]
    subprocess.run(argv, input=lines, check=True)


Receiver = Callable[[int, int, Callable[[], None]], None]


def measure(name: str, receive: Receiver, port: int, n: int, lines: bytes) -> None:
    cpu0, t0 = time.process_time(), time.perf_counter()
    receive(port, n, lambda: feed(port, lines))
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - t0
    print(f"{name:8s} {n / wall:8,.0f} msg/s   {1e6 * cpu / n:6.1f} us CPU per message")


def paho_receive(port: int, n: int, start: Callable[[], None]) -> None:
    done, got = threading.Event(), [0]

    def on_message(client: mqtt.Client, _u: object, message: mqtt.MQTTMessage) -> None:
        got[0] += 1
        client.ack(message.mid, message.qos)
        if got[0] == n:
            done.set()

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="b-paho", manual_ack=True)
    client.on_message = on_message
    client.connect("127.0.0.1", port)
    client.subscribe("/+/status", qos=1)
    client.loop_start()
    time.sleep(0.3)  # the subscription settles (a benchmark, not a test)
    start()
    done.wait(300)
    client.loop_stop()
    client.disconnect()


def aiomqtt_receive(port: int, n: int, start: Callable[[], None]) -> None:
    import aiomqtt

    async def main() -> None:
        async with aiomqtt.Client(
            "127.0.0.1", port, identifier="b-aiomqtt", max_queued_incoming_messages=0
        ) as c:
            await c.subscribe("/+/status", qos=1)
            feeder = asyncio.get_running_loop().run_in_executor(None, start)
            got = 0
            async for _ in c.messages:
                got += 1
                if got == n:
                    break
            await feeder

    asyncio.run(main())


def gmqtt_receive(port: int, n: int, start: Callable[[], None]) -> None:
    from gmqtt import Client

    async def main() -> None:
        done, got = asyncio.Event(), [0]

        def on_message(client: object, topic: str, payload: bytes, qos: int, properties: object) -> int:
            got[0] += 1
            if got[0] == n:
                done.set()
            return 0

        client = Client("b-gmqtt")
        client.on_message = on_message
        await client.connect("127.0.0.1", port)
        client.subscribe("/+/status", qos=1)
        await asyncio.sleep(0.3)
        feeder = asyncio.get_running_loop().run_in_executor(None, start)
        await done.wait()
        await feeder
        await client.disconnect()

    asyncio.run(main())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--k", type=int, default=64)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        broker = BrokerProcess("mosquitto", Path(tmp))
        broker.start()
        try:
            print(f"{args.n:,} messages of {args.k} channels, QoS 1, one subscriber:")
            lines = payloads(args.n, args.k)
            for name, receive in (
                ("paho", paho_receive),
                ("aiomqtt", aiomqtt_receive),
                ("gmqtt", gmqtt_receive),
            ):
                measure(name, receive, broker.port, args.n, lines)
        finally:
            broker.stop()
        sys.stdout.flush()


if __name__ == "__main__":
    main()
