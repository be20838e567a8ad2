"""What every service process gets from run_async: its start frozen, the collector's pace."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.helpers import TIMEOUT
from trackerdcs.cli.common import GC_THRESHOLDS

PROGRAM = """
import gc, json
from trackerdcs.cli.common import run_async

async def main():
    return {"threshold": gc.get_threshold(), "frozen": gc.get_freeze_count()}

print(json.dumps(run_async(main())))
"""


def test_a_service_runs_with_its_start_frozen_and_the_collector_slowed() -> None:
    # in a process of its own: freezing would reach into the test session's objects
    out = subprocess.run(
        [sys.executable, "-c", PROGRAM], capture_output=True, text=True, timeout=TIMEOUT, check=True
    )
    seen = json.loads(out.stdout)
    assert tuple(seen["threshold"]) == GC_THRESHOLDS != (700, 10, 10)
    assert seen["frozen"] > 1000  # the imports at least
