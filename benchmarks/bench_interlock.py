"""Interlock reaction time: from the publish of a violating sample to the HV device's
acceptance of the off command (its reply, as seen by this client one broker hop later).

The stack runs as in production, one process per service (`dcs up` with mosquitto);
this client plays the environmental sensor. Each cycle publishes a sample whose
dew-point margin is under 3 °C, times the HV reply to the safety service's
`switch off`, then publishes a good sample and waits for the rule to clear. The same
is measured with a background load of sensor samples that the safety service must
also read.

Run: `.venv/bin/python -m benchmarks.bench_interlock` (part of `make bench`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.bench_stack import quantile
from tests.helpers import dcs_argv, free_port, wait_until
from trackerdcs.bus.session import payload_bytes, session
from trackerdcs.bus.settings import BrokerSettings, client_id

STAND = """
name = "bench"
[[devices]]
name = "hv"
kind = "hv"
[[devices]]
name = "lv"
kind = "lv"
[[devices]]
name = "env"
kind = "env"
period = 3600.0
[[modules]]
name = "M1"
lv = "lv:0"
hv = "hv:0"
[[rules]]
name = "dewpoint"
signal = "env.dewpoint_margin"
below = 3.0
hysteresis = 0.5
hv_off = ["*"]
"""


def env_sample(margin: float) -> str:
    return json.dumps({"temperature": 20.0, "humidity": 50.0, "dewpoint": 20.0 - margin, "ts": time.time()})


async def measure(broker: BrokerSettings, cycles: int) -> list[float]:
    samples = []
    async with session(broker, client_id("bench")) as client:
        await client.subscribe("/hv/reply", qos=1)
        await client.subscribe("/interlock/status", qos=1)
        messages = aiter(client.messages)
        for _ in range(cycles):
            start = time.perf_counter()
            await client.publish("/env/status", env_sample(1.0), qos=1)
            while True:
                message = await anext(messages)
                body = json.loads(payload_bytes(message.payload))
                if message.topic.value == "/hv/reply" and body.get("topic") == "/hv/cmd/switch/0":
                    assert body["ok"], body
                    samples.append(time.perf_counter() - start)
                    break
            await client.publish("/env/status", env_sample(10.0), qos=1)
            while True:
                message = await anext(messages)
                body = json.loads(payload_bytes(message.payload))
                if message.topic.value == "/interlock/status" and not body["rules"]["dewpoint"]["active"]:
                    break
    return samples


def run(cycles: int, load_rate: float) -> list[float]:
    with tempfile.TemporaryDirectory() as tmp:
        stand = Path(tmp) / "bench.toml"
        stand.write_text(STAND)
        port = free_port()
        argv = dcs_argv(
            "up", "--no-web", "--config", str(stand), "--mqtt-port", str(port), "--data-dir", tmp, "-q"
        )
        log = (Path(tmp) / "stack.log").open("w")
        up = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=log, text=True)
        try:
            assert up.stdout is not None
            wait_until(lambda: "Stand is up" in (up.stdout.readline() if up.stdout else ""), 60, "the stack")
            broker = BrokerSettings("127.0.0.1", port)
            load = None
            if load_rate:
                duration = str(60 + cycles * 0.2)
                load_argv = [
                    sys.executable,
                    "-m",
                    "benchmarks.load_publisher",
                    str(port),
                    str(load_rate),
                    duration,
                ]
                load = subprocess.Popen(load_argv, stdout=subprocess.DEVNULL)
                time.sleep(1.0)  # let the load reach its rate before measuring
            asyncio.run(measure(broker, 10))  # warm-up
            result = asyncio.run(measure(broker, cycles))
            if load is not None:
                load.terminate()
                load.wait(10)
            return result
        finally:
            up.send_signal(2)
            up.wait(30)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cycles", type=int, default=300)
    parser.add_argument("--load", type=float, default=10_000.0, help="Background samples/s")
    args = parser.parse_args(argv)
    for rate in (0.0, args.load):
        lat = run(args.cycles, rate)
        label = f"with {rate:,.0f} samples/s background" if rate else "idle"
        print(
            f"interlock reaction ({label}): median {statistics.median(lat) * 1e3:.1f} ms, "
            f"p99 {quantile(lat, 0.99) * 1e3:.1f} ms over {len(lat)} trips"
        )


if __name__ == "__main__":
    main()
