"""Load for the archive benchmark: N hv status messages of K channels at a fixed rate.

Run as its own process: `python -m benchmarks.status_publisher PORT N K RATE DEVICE OUT`.
Each message carries its publish time as ``ts``; the publish times are written to OUT
(JSON) so that the benchmark can compute publish-to-queryable latencies.
"""

from __future__ import annotations

import json
import sys
import time

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from trackerdcs.contract.payloads import dumps


def channels(k: int, i: int) -> list[dict[str, float | int | str]]:
    return [
        {
            "number": c,
            "on": 1,
            "vreq": 150.0,
            "vmon": 150.0 - 0.01 * ((i + c) % 7),
            "imon": 1.2e-6 + 1e-9 * c,
            "ilimit": 1e-4,
            "rampup": 10.0,
            "rampdown": 10.0,
            "state": "on",
        }
        for c in range(k)
    ]


def main() -> None:
    port, count, k, rate = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    device, out = sys.argv[5], sys.argv[6]
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-{device}")
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.connect("127.0.0.1", port)
    client.loop_start()
    # Serialise once per variant and splice the time in: the load generator must cost
    # far less CPU than what it measures (json per message took ~0.4 core at 4,000/s).
    variants = []
    for v in range(7):
        body = [{**e, "ts": 1.5, "seq": 7} for e in channels(k, v)]
        variants.append(dumps(body).encode().replace(b'"ts": 1.5, "seq": 7', b'"ts": %b, "seq": %b'))
    times: list[float] = []
    start = time.perf_counter()
    info = None
    topic = f"/{device}/status"
    for i in range(count):
        due = start + i / rate
        while (now := time.perf_counter()) < due:
            time.sleep(min(due - now, 0.001))
        ts = time.time()
        stamp = (repr(ts).encode(), str(i).encode())
        payload = variants[i % 7] % (stamp * k)
        info = client.publish(topic, payload, qos=1)
        times.append(ts)
    if info is not None:
        info.wait_for_publish(120)
    elapsed = time.perf_counter() - start
    client.loop_stop()
    client.disconnect()
    with open(out, "w") as f:
        json.dump({"times": times, "elapsed": elapsed}, f)


if __name__ == "__main__":
    main()
