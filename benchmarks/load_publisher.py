"""Background load for the interlock benchmark: sensor samples at a fixed rate.

Run as a separate process so it does not share the measuring client's interpreter.
Usage: python -m benchmarks.load_publisher PORT RATE SECONDS
"""

from __future__ import annotations

import json
import sys
import time

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion


def main() -> None:
    port, rate, seconds = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-load")
    client.max_queued_messages_set(100_000)
    client.connect("127.0.0.1", port)
    client.loop_start()
    start, sent = time.perf_counter(), 0
    while (elapsed := time.perf_counter() - start) < seconds:
        due = int(elapsed * rate)
        while sent < due:
            body = {"temperature": 20.0 + (sent % 10) / 10, "humidity": 30.0, "ts": time.time(), "seq": sent}
            info = client.publish(f"/load{sent % 50}/status", json.dumps(body), qos=0)
            if info.rc != mqtt.MQTT_ERR_SUCCESS:
                raise SystemExit(f"publish failed: {mqtt.error_string(info.rc)}")
            sent += 1
        time.sleep(0.001)
    client.loop_stop()
    client.disconnect()
    print(f"{sent} samples in {seconds:g} s")


if __name__ == "__main__":
    main()
