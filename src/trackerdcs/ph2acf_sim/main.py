"""``runCalibration -f HW.xml -c CALIBRATION -b``, simulated.

Steered by the environment (the DCS never sets these; a stand file's ``[daq.env]`` or a test does):

- ``PH2ACF_SIM_FAIL`` (or ``<Simulator fail="..."/>`` in the hardware description): ``controlhub``
  (board unreachable), ``host`` (host not found), ``noobject``,
  ``lpgbt`` (firmware not loaded), ``hang`` (stops printing mid-run), ``crash`` (exit 1, no message);
- ``PH2ACF_SIM_STEP_S`` (or ``<Simulator step="..."/>``): seconds per measurement step (default 1);
- ``PH2ACF_SIM_NO_STOP_TS=1``: leave the stop timestamp out of Results.root, as some calibrations do;
- ``PH2ACF_SIM_MAKE_SETTINGS=1``: write a default hardware description when ``-f`` names none;
- ``PH2ACF_SIM_MONITOR_COUNT``: samples ``-c monitoronly`` publishes before it ends (default: until SIGINT).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from trackerdcs.ph2acf_sim import files
from trackerdcs.ph2acf_sim.output import log, plain

CALIBRATIONS: dict[str, list[str]] = {
    "configureonly": [],
    "pedenoise": ["PedeNoise"],
    "calibration": ["PedestalEqualization"],
    "calibrationandpedenoise": ["PedestalEqualization", "PedeNoise"],
    "noiseOT": ["OTNoise"],
    "alignment": ["OTAlignment"],
    "otlatency": ["OTLatency"],
    "cmNoise": ["OTCMNoise"],
    "psphysics": ["PSPhysics"],
    "vtrxoff": [],
    "PSquickTest": ["OTVTRxLightYieldScan", "OTPSADCCalibration", "PedeNoise"],
    "PSfullTest": [
        "OTVTRxLightYieldScan",
        "OTPSADCCalibration",
        "PedestalEqualization",
        "PedeNoise",
        "OTLatency",
    ],
    "monitoronly": [],
}
UHAL = "terminate called after throwing an instance of 'uhal::exception::{kind}'\n  what():  {what}"


def _abort(signum: int, frame: object) -> None:  # Ph2_ACF's SIGINT handler calls abort()
    os.abort()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="runCalibration")
    parser.add_argument("-f", "--file", help="hardware description XML")
    parser.add_argument("-c", "--calibration", required=True)
    parser.add_argument("-b", "--batch", action="store_true")
    parser.add_argument("-r", "--reconfigure", type=int, help="reuse Results/Run_N/Configuration.xml")
    args = parser.parse_args(argv)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # abort() leaves no core file behind
    signal.signal(signal.SIGINT, _abort)
    if not os.environ.get("PH2ACF_BASE_DIR"):
        plain("PH2ACF_BASE_DIR is not set: source setup.sh first", "err")
        sys.exit(1)
    sys.exit(_run(args, Path.cwd()))


def _settings(args: argparse.Namespace, workdir: Path) -> Path | None:
    if args.reconfigure is not None:
        path = workdir / "Results" / f"Run_{args.reconfigure}" / "Configuration.xml"
    else:
        path = workdir / (args.file or "")
    if not path.is_file() and args.file and os.environ.get("PH2ACF_SIM_MAKE_SETTINGS") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(files.DEFAULT_SETTINGS)
    return path if path.is_file() else None


def _run(args: argparse.Namespace, workdir: Path) -> int:
    started = time.time()
    if args.calibration not in CALIBRATIONS:
        log(f"Error: calibration tag {args.calibration} does not exist", "E")
        return 1
    settings = _settings(args, workdir)
    if settings is None:
        log(f"Error: hardware description file {args.file} not found", "E")
        return 1
    text = settings.read_text()
    fail = os.environ.get("PH2ACF_SIM_FAIL") or files.failure_in(text)
    _fail_early(fail)
    if fail == "noobject":
        log("ExceptionHandler Error: No object enabled in fDetectorContainer", "E")
        return 1
    if fail == "lpgbt":
        log("OpticalGroup 0 lpGBT TX Ready polling : FAILED", "E")
        return 0  # Ph2_ACF carries on and exits 0: only the text says it failed
    if fail == "crash":
        return 1
    log("Configured")
    if args.calibration == "monitoronly":
        return _monitor(text)
    run = files.next_run_number(workdir)
    _measure(run, args.calibration, fail, files.step_in(text))
    stop = None if os.environ.get("PH2ACF_SIM_NO_STOP_TS") == "1" else time.time()
    results = workdir / "Results" / f"Run_{run}"
    files.write_results(results, settings, started, stop, files.optical_groups(text))
    log(f"Closing result file: Results/Run_{run}/Results.root")
    log(f"Run {run} stopped")
    log(f"Closing monitor result file: {files.write_monitor(workdir, started)}")
    log("Halted")
    plain(f"Total execution time:  finished at: {time.ctime()}")
    plain(f"\telapsed time: {time.time() - started:.2f} seconds")
    return 0


def _fail_early(fail: str) -> None:
    if fail == "controlhub":
        plain(UHAL.format(kind="ControlHubErrorCodeSet", what="ControlHub returned error code 3"), "err")
        os.abort()
    if fail == "host":
        plain(UHAL.format(kind="TcpConnectionFailure", what="Host not found (authoritative)"), "err")
        os.abort()


def _measure(run: int, calibration: str, fail: str, step_s: float | None) -> None:
    step = step_s if step_s is not None else float(os.environ.get("PH2ACF_SIM_STEP_S", "1"))
    log(f"Run {run} started")
    for name in CALIBRATIONS[calibration]:
        log(f"Starting {name} measurement.")
        if fail == "hang":
            while True:
                time.sleep(3600)
        time.sleep(step)
        log(f"Done with {name}.")


def _monitor(settings: str) -> int:
    """``-c monitoronly``: JSON on MQTT with a monotonic timestamp, as Ph2_ACF publishes it."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    host, port, topic = files.mqtt_target(settings)
    client = mqtt.Client(CallbackAPIVersion.VERSION2)
    client.connect(host, port)
    client.loop_start()
    count = int(os.environ.get("PH2ACF_SIM_MONITOR_COUNT", "0")) or None
    step = float(os.environ.get("PH2ACF_SIM_STEP_S", "1"))
    counter = 0
    while count is None or counter < count:
        body: dict[str, object] = {
            "counter": counter,
            "timestamp": time.monotonic(),
            "LpGBT_OG0_temp": 31.5 + 0.1 * (counter % 5),
        }
        body["Sensor_OG0_temp"] = "NO_READ" if counter % 7 == 6 else -19.8
        client.publish(topic, json.dumps(body), qos=1).wait_for_publish(5)
        counter += 1
        time.sleep(step)
    client.loop_stop()
    client.disconnect()
    log("Halted")
    return 0
