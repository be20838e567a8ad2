"""Benchmark the core stack on this machine; the figures go in the README.

1. Start-up: wall time from launching `dcs up` until every device of the default stand
   is online (the stack prints "Stand is up" only after a fresh `online` from each).
2. Command-reply latency through mosquitto: a client sends `setv` commands one after
   another (MQTT v5 response topic + correlation data) to a `dcs device run` process
   and times each reply.

Run: `make bench` (or `.venv/bin/python benchmarks/bench_stack.py --help`).
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
import uuid
from pathlib import Path

from tests.helpers import BrokerProcess, dcs_argv, free_port, wait_until
from trackerdcs.bus.session import publish_properties, session
from trackerdcs.bus.settings import client_id
from trackerdcs.contract.payloads import Reply

STAND = '[[devices]]\nname = "hv"\nkind = "hv"\nperiod = 1.0\n'


def bench_startup(runs: int, broker_kind: str) -> list[float]:
    times = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as data:
            argv = dcs_argv(
                "up",
                "--web-port",
                str(free_port()),
                "--mqtt-port",
                str(free_port()),
                "--broker-kind",
                broker_kind,
                "--data-dir",
                data,
            )
            start = time.perf_counter()
            proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            assert proc.stdout is not None
            for line in proc.stdout:
                if "Stand is up" in line:
                    times.append(time.perf_counter() - start)
                    break
            proc.send_signal(2)
            proc.wait(30)
    return times


async def _latencies(broker: BrokerProcess, count: int) -> list[float]:
    response = f"/hv/reply/bench-{uuid.uuid4().hex[:6]}"
    samples = []
    async with session(broker.settings, client_id("bench")) as client:
        await client.subscribe(response, qos=1)
        messages = aiter(client.messages)
        for i in range(count):
            props = publish_properties()
            props.ResponseTopic = response
            props.CorrelationData = i.to_bytes(4, "big")
            start = time.perf_counter()
            await client.publish("/hv/cmd/setv/0", str(i % 1000), qos=1, properties=props)
            message = await anext(messages)
            samples.append(time.perf_counter() - start)
            reply = Reply.model_validate_json(bytes(message.payload))
            assert reply.ok, reply.message
    return samples


def bench_latency(count: int) -> list[float]:
    with tempfile.TemporaryDirectory() as tmp:
        broker = BrokerProcess("mosquitto", Path(tmp) / "broker")
        broker.start()
        stand = Path(tmp) / "stand.toml"
        stand.write_text(STAND)
        argv = dcs_argv("device", "run", "hv", "--config", str(stand), "--broker", broker.url, "-q")
        device = subprocess.Popen(argv)
        try:
            wait_until(lambda: _online(broker), what="hv online")
            asyncio.run(_latencies(broker, 50))  # warm-up
            return asyncio.run(_latencies(broker, count))
        finally:
            device.terminate()
            device.wait(10)
            broker.stop()


def _online(broker: BrokerProcess) -> bool:
    out = subprocess.run(
        ["mosquitto_sub", "-p", str(broker.port), "-t", "/hv/availability", "-C", "1", "-W", "1"],
        capture_output=True,
        text=True,
    ).stdout
    return out.strip() == "online"


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--startup-runs", type=int, default=5)
    parser.add_argument("--commands", type=int, default=2000)
    parser.add_argument("--json", type=Path, help="Also write the figures to this file")
    args = parser.parse_args(argv)
    figures: dict[str, float] = {}
    for kind in ("mosquitto", "embedded"):
        times = bench_startup(args.startup_runs, kind)
        figures[f"startup_{kind}_median_s"] = statistics.median(times)
        figures[f"startup_{kind}_max_s"] = max(times)
        print(
            f"dcs up -> 4 devices + safety service online ({kind}): "
            f"median {statistics.median(times):.2f} s, max {max(times):.2f} s over {len(times)} runs"
        )
    lat = bench_latency(args.commands)
    figures["reply_median_ms"] = statistics.median(lat) * 1e3
    figures["reply_p99_ms"] = quantile(lat, 0.99) * 1e3
    print(
        f"command -> reply through mosquitto: median {figures['reply_median_ms']:.2f} ms, "
        f"p99 {figures['reply_p99_ms']:.2f} ms over {len(lat)} commands"
    )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    main()
