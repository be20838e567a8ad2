"""A 10,240-channel stand in one `dcs up`, measured as a user would run it (issue 11).

160 simulated supplies (half HV, half LV) of 64 channels at a 1 s period, one
environmental sensor, a module per HV/LV channel pair (5,120 modules), a dew-point
rule that switches HV off on all of them, and the default embedded (SQLite) archive.
`dcs up` is started exactly as a user starts it; then, in one run, this prints:

- `dcs up` -> every service online;
- memory: RSS (and PSS, which counts shared pages once) of every process of the stack;
- CPU in steady state, broker included, per process group;
- seq gaps seen by a subscriber of every status on the bus;
- the archive: received vs stored, and the spool, over the window;
- `setv` -> reply latency, and the interlock reaction (violating sample -> the HV
  switch-off accepted), both under that load.

Run: `.venv/bin/python -m benchmarks.bench_scale [--devices 160] [--window 300]`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import subprocess
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import aiomqtt
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from benchmarks.bench_stack import quantile
from tests.helpers import children_of, dcs_argv, free_port
from trackerdcs.bus.session import payload_bytes, session
from trackerdcs.bus.settings import BrokerSettings, client_id

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def stand_text(devices: int, channels: int) -> str:
    pairs = devices // 2
    parts = ['name = "scale"\n']
    for i in range(pairs):
        for kind in ("hv", "lv"):
            name = f"{kind}_{i:03d}"
            parts.append(
                f'[[devices]]\nname = "{name}"\nkind = "{kind}"\nchannels = {channels}\nperiod = 1.0\n'
            )
    parts.append('[[devices]]\nname = "env"\nkind = "env"\nperiod = 1.0\n')
    parts.append("sim = { temperature = 20.0, humidity = 30.0, drift = 0.0, noise = 0.0 }\n")
    for i in range(pairs):
        for c in range(channels):
            parts.append(
                f'[[modules]]\nname = "M{i:03d}_{c:02d}"\nlv = "lv_{i:03d}:{c}"\nhv = "hv_{i:03d}:{c}"\n'
            )
    parts.append(
        '[[rules]]\nname = "dewpoint"\nsignal = "env.dewpoint_margin"\nbelow = 3.0\nhysteresis = 0.5\n'
        'hv_off = ["*"]\n'
    )
    return "".join(parts)


# -- the processes of the stack ------------------------------------------------------------------
def label(pid: int) -> str:
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return "?"
    words = [a.decode(errors="replace") for a in argv if a]
    if any("mosquitto" in w for w in words[:1]):
        return "broker (mosquitto)"
    if "multiprocessing" in " ".join(words):
        return "archiver workers"
    for key, name in (("host", "device hosts"), ("run", None)):
        if key in words:
            i = words.index(key)
            return name or f"{words[i - 1]} service"
    return "dcs up (supervisor)"


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def memory(pid: int) -> tuple[int, int]:
    """(RSS, PSS) in bytes."""
    rss = pss = 0
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Rss:"):
                rss = int(line.split()[1]) * 1024
            elif line.startswith("Pss:"):
                pss = int(line.split()[1]) * 1024
    except OSError:
        pass
    return rss, pss


def stack_pids(root: int) -> list[int]:
    return [root, *children_of(root)]


# -- what is seen on the bus ---------------------------------------------------------------------
@dataclass
class BusWatch:
    """Every status on the bus: seq gaps per topic, and the archiver's latest status."""

    port: int
    last: dict[str, int] = field(default_factory=dict)
    gaps: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    messages: int = 0
    archive: dict[str, float] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> None:
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id("scale-watch"))
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", self.port)
        self.client.subscribe("/+/status", qos=0)
        self.client.loop_start()

    def stop(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()

    def reset(self) -> None:
        with self.lock:
            self.gaps.clear()
            self.messages = 0

    def _on_message(self, _client: object, _userdata: object, message: mqtt.MQTTMessage) -> None:
        if message.retain:
            return
        try:
            body = json.loads(message.payload)
        except ValueError:
            return
        entry = body[0] if isinstance(body, list) and body else body
        seq = entry.get("seq") if isinstance(entry, dict) else None
        with self.lock:
            self.messages += 1
            if message.topic == "/archive/status" and isinstance(entry, dict):
                self.archive = {k: v for k, v in entry.items() if isinstance(v, int | float)}
            if isinstance(seq, int):
                previous = self.last.get(message.topic)
                if previous is not None and seq > previous + 1:
                    self.gaps[message.topic] += seq - previous - 1
                self.last[message.topic] = seq


# -- commands under load -------------------------------------------------------------------------
async def setv_latencies(broker: BrokerSettings, devices: int, channels: int, count: int) -> list[float]:
    out = []
    async with session(broker, client_id("scale-setv")) as client:
        await client.subscribe("/+/reply", qos=1)
        messages = aiter(client.messages)
        for _ in range(count):
            device = f"hv_{random.randrange(devices // 2):03d}"
            topic = f"/{device}/cmd/setv/{random.randrange(channels)}"
            start = time.perf_counter()
            await client.publish(topic, "0", qos=1)
            while True:
                message = await anext(messages)
                reply = message.topic.value == f"/{device}/reply"
                if reply and json.loads(payload_bytes(message.payload)).get("topic") == topic:
                    out.append(time.perf_counter() - start)
                    break
            await asyncio.sleep(0.02)
    return out


def env_sample(margin: float) -> str:
    return json.dumps({"temperature": 20.0, "humidity": 50.0, "dewpoint": 20.0 - margin, "ts": time.time()})


@dataclass
class Trips:
    """Per trip, from the violating sample: hv_000's switch-off on the bus, and accepted;
    every HV device's switch-off accepted."""

    commanded: list[float] = field(default_factory=list)
    accepted: list[float] = field(default_factory=list)
    all_accepted: list[float] = field(default_factory=list)


async def interlock_trips(broker: BrokerSettings, cycles: int, gap: float, hv_devices: int) -> Trips:
    """Trip the dew-point rule ``cycles`` times; time what each trip's switch-offs took.

    Between trips, ``gap`` s for the stand to settle: a trip and its acknowledgement
    change every module's status (5,120 at full size), which the safety service
    publishes for a while after; back to back (``gap`` 0), a trip also waits for the
    last one's aftermath.
    """
    out = Trips()
    async with session(broker, client_id("scale-trip")) as client:
        await client.subscribe("/+/reply", qos=1)
        await client.subscribe("/hv_000/cmd/#", qos=1)
        await client.subscribe("/interlock/status", qos=1)
        messages = aiter(client.messages)
        for _ in range(cycles):
            start = time.perf_counter()
            await client.publish("/env/status", env_sample(1.0), qos=1)
            sent, off = None, set[str]()
            while len(off) < hv_devices:
                message = await anext(messages)
                topic = message.topic.value
                if topic.startswith("/hv_000/cmd/switch") and sent is None:
                    sent = time.perf_counter() - start
                elif topic.endswith("/reply") and _switch_off(json.loads(payload_bytes(message.payload))):
                    off.add(topic)
                    if topic == "/hv_000/reply":
                        out.accepted.append(time.perf_counter() - start)
            out.all_accepted.append(time.perf_counter() - start)
            out.commanded.append(sent if sent is not None else out.accepted[-1])
            await _wait_cleared(client, messages)
            await _drain(messages, gap)
    return out


async def _drain(messages: AsyncIterator[aiomqtt.Message], seconds: float) -> None:
    """Read (and drop) what arrives for ``seconds``."""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(left):
                await anext(messages)


def _switch_off(reply: dict[str, object]) -> bool:
    """The reply to a switch-off: one for the device (``/cmd/switch``) or one channel's."""
    topic = str(reply.get("topic"))
    return topic.endswith("/cmd/switch") or "/cmd/switch/" in topic


async def _wait_cleared(client: aiomqtt.Client, messages: AsyncIterator[aiomqtt.Message]) -> None:
    """Publish good samples and acknowledge until the rule is clear (it latches)."""
    await client.publish("/env/status", env_sample(10.0), qos=1)
    await client.publish("/interlock/cmd/ack", json.dumps({"id": "dewpoint", "by": "bench"}), qos=1)
    while True:
        message = await anext(messages)
        if message.topic.value == "/interlock/status":
            rule = json.loads(payload_bytes(message.payload))["rules"]["dewpoint"]
            if not rule["active"]:
                return


# -- the run -------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--devices", type=int, default=160)
    parser.add_argument("--channels", type=int, default=64)
    parser.add_argument("--window", type=float, default=300.0, help="s of steady state measured")
    parser.add_argument("--warmup", type=float, default=20.0)
    parser.add_argument("--setv", type=int, default=300)
    parser.add_argument("--trips", type=int, default=20)
    parser.add_argument(
        "--trip-gap", type=float, default=2.0, help="s between a trip's acknowledgement and the next trip"
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        run(args, Path(tmp))


def run(args: argparse.Namespace, tmp: Path) -> None:
    stand = tmp / "scale.toml"
    stand.write_text(stand_text(args.devices, args.channels))
    port = free_port()
    argv = dcs_argv(
        "up",
        "--config",
        str(stand),
        "--mqtt-port",
        str(port),
        "--web-port",
        str(free_port()),
        "--data-dir",
        str(tmp / "data"),
    )
    log = (tmp / "stack.log").open("w")
    started = time.monotonic()
    up = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=log, text=True)
    try:
        assert up.stdout is not None
        for line in up.stdout:
            if "Stand is up" in line:
                break
        else:  # the log goes with the temporary folder: show its end
            log.flush()
            tail = (tmp / "stack.log").read_text().splitlines()[-30:]
            raise SystemExit("dcs up ended before the stand was up:\n" + "\n".join(tail))
        online = time.monotonic() - started
        print(
            f"stand: {args.devices} devices x {args.channels} channels = {args.devices * args.channels:,} "
            f"channels, {args.devices // 2 * args.channels:,} modules"
        )
        print(f"dcs up -> every service online: {online:.1f} s")
        measure(args, up.pid, BrokerSettings("127.0.0.1", port))
    finally:
        up.send_signal(2)
        up.wait(120)


def measure(args: argparse.Namespace, root: int, broker: BrokerSettings) -> None:
    watch = BusWatch(broker.port)
    watch.start()
    time.sleep(args.warmup)  # a benchmark, not a test: let the start-up transients pass
    watch.reset()
    pids = stack_pids(root)
    cpu0 = {pid: cpu_seconds(pid) for pid in pids}
    archive0 = dict(watch.archive)
    t0 = time.monotonic()
    time.sleep(args.window)
    elapsed = time.monotonic() - t0
    cpu1 = {pid: cpu_seconds(pid) for pid in pids}
    archive1 = dict(watch.archive)
    report_resources(pids, cpu0, cpu1, elapsed)
    with watch.lock:
        gaps = dict(watch.gaps)
        messages = watch.messages
    print(
        f"seq gaps on the bus: {sum(gaps.values())} over {messages:,} status messages in {elapsed:.0f} s"
        + (f" ({', '.join(f'{t} {n}' for t, n in sorted(gaps.items())[:5])})" if gaps else "")
    )
    report_archive(archive0, archive1, elapsed)
    # The watcher parses every status in this process: during a trip, thousands of module
    # statuses, which kept the measuring client below from reading its replies.
    watch.stop()
    setv = asyncio.run(setv_latencies(broker, args.devices, args.channels, args.setv))
    print(f"setv -> reply: {spread(setv)} over {len(setv)} commands")
    trips = asyncio.run(interlock_trips(broker, args.trips, args.trip_gap, args.devices // 2))
    print(
        f"interlock reaction (violating sample -> HV switch-off accepted): {spread(trips.accepted)}",
        f"over {len(trips.accepted)} trips, {args.trip_gap:g} s apart",
    )
    print(f"  of which violating sample -> the switch-off on the bus: {spread(trips.commanded)}")
    print(f"  violating sample -> every HV device's switch-off accepted: {spread(trips.all_accepted)}")


def spread(values: list[float]) -> str:
    return f"median {quantile(values, 0.5) * 1e3:.1f} ms, p99 {quantile(values, 0.99) * 1e3:.1f} ms"


def report_resources(pids: list[int], cpu0: dict[int, float], cpu1: dict[int, float], elapsed: float) -> None:
    groups: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0, 0.0])
    for pid in pids:
        g = groups[label(pid)]
        rss, pss = memory(pid)
        g[0] += rss
        g[1] += pss
        g[2] += (cpu1.get(pid, 0.0) - cpu0.get(pid, 0.0)) / elapsed
        g[3] += 1
    total = [sum(g[i] for g in groups.values()) for i in range(4)]
    gib_rss, gib_pss, count = total[0] / 2**30, total[1] / 2**30, int(total[3])
    print(f"memory, every process of the stack: {gib_rss:.2f} GiB RSS ({gib_pss:.2f} GiB PSS), {count} proc")
    print(f"CPU, steady state, broker included: {total[2]:.2f} cores")
    for name, (g_rss, g_pss, cores, n) in sorted(groups.items(), key=lambda kv: -kv[1][2]):
        print(
            f"  {name:<24} {int(n):>3} proc  {g_rss / 2**20:8.0f} MiB RSS  {g_pss / 2**20:8.0f} MiB PSS  "
            f"{cores:5.2f} cores"
        )


def report_archive(start: dict[str, float], end: dict[str, float], elapsed: float) -> None:
    """Keeping up: every message received is stored, and the spool does not grow."""
    if not start or not end:
        print("archive: no /archive/status seen")
        return
    received, stored = end["received"] - start["received"], end["messages"] - start["messages"]
    points = (end["stored"] - start["stored"]) / elapsed
    print(
        f"archive: {received / elapsed:,.0f} messages/s received, {stored / elapsed:,.0f} stored "
        f"({points:,.0f} points/s); in all received {end['received']:,.0f}, stored {end['messages']:,.0f}; "
        f"pending segments {start['pending_segments']:.0f} -> {end['pending_segments']:.0f}, spool "
        f"{start['spool_bytes'] / 2**20:.1f} -> {end['spool_bytes'] / 2**20:.1f} MiB, gaps {end['gaps']:.0f}"
    )


if __name__ == "__main__":
    main()
