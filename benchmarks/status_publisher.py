"""Load for the archive benchmark: N hv status messages of K channels at a fixed rate.

Run as its own process: `python -m benchmarks.status_publisher PORT N K RATE DEVICE OUT`.
The messages go out through `mosquitto_pub -l -q 1` (QoS 1, as the device services
publish), fed one line per message: a load generator in C, so that the CPU the
benchmark measures is the archive's, not the generator's. Each message carries its
publish time as ``ts``; the publish times are written to OUT (JSON) for the latency
figures.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time

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


def templates(k: int) -> list[bytes]:
    """Payloads serialised once per variant, with %b holes for the time and sequence number."""
    out = []
    for v in range(7):
        body = [{**e, "ts": 1.5, "seq": 7} for e in channels(k, v)]
        out.append(dumps(body).encode().replace(b'"ts": 1.5, "seq": 7', b'"ts": %b, "seq": %b'))
    return out


def main() -> None:
    port, count, k, rate = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    device, out = sys.argv[5], sys.argv[6]
    pub = shutil.which("mosquitto_pub") or "/usr/bin/mosquitto_pub"
    argv = [pub, "-h", "127.0.0.1", "-p", str(port), "-q", "1", "-t", f"/{device}/status", "-l"]
    proc = subprocess.Popen([*argv, "-i", f"bench-{device}"], stdin=subprocess.PIPE)
    assert proc.stdin is not None
    variants = templates(k)
    times: list[float] = []
    start = time.perf_counter()
    for i in range(count):
        due = start + i / rate
        while (now := time.perf_counter()) < due:
            time.sleep(min(due - now, 0.001))
        ts = time.time()
        proc.stdin.write(variants[i % 7] % ((repr(ts).encode(), str(i).encode()) * k) + b"\n")
        proc.stdin.flush()
        times.append(ts)
    proc.stdin.close()
    proc.wait(120)
    elapsed = time.perf_counter() - start
    with open(out, "w") as f:
        cpu = time.process_time() + _child_cpu()
        json.dump({"times": times, "elapsed": elapsed, "cpu": cpu}, f)


def _child_cpu() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


if __name__ == "__main__":
    main()
