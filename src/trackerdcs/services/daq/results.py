"""Ph2_ACF's Results.root: the metadata the Pisa tools read, with uproot (pure Python ROOT I/O).

A key that is missing is recorded as missing; a file that cannot be read is recorded with its
error. Nothing here raises.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

START = "Detector/CalibrationStartTimestamp_Detector"
STOP = "Detector/CalibrationStopTimestamp_Detector"
GIT = "Detector/GitCommitHash_Detector"
FUSE_RE = re.compile(r"^Detector/Board_(\d+)/OpticalGroup_(\d+)/D_B\(\d+\)_LpGBTFuseId_OpticalGroup\(\d+\)$")


def read_metadata(path: Path) -> dict[str, Any]:
    """``start_local``, ``stop_local``, ``git_hash``, ``fuse_ids`` and what was ``missing``."""
    found: dict[str, Any] = {"start_local": None, "stop_local": None, "git_hash": None, "fuse_ids": {}}
    found["missing"] = []
    try:
        import uproot

        with uproot.open(path) as root:
            keys = set(root.keys(recursive=True, cycle=False))
            for name, key in (("start_local", START), ("stop_local", STOP), ("git_hash", GIT)):
                if key in keys:
                    found[name] = str(root[key])
                else:
                    found["missing"].append(key)
            for key in sorted(keys):
                match = FUSE_RE.match(key)
                if match:
                    found["fuse_ids"][f"Board_{match.group(1)}/OpticalGroup_{match.group(2)}"] = str(
                        root[key]
                    )
            if not found["fuse_ids"]:
                found["missing"].append("Detector/Board_*/OpticalGroup_*/..._LpGBTFuseId_...")
    except Exception as exc:  # a truncated or foreign file must not lose the run's record
        log.warning("cannot read %s: %s", path, exc)
        found["error"] = f"{type(exc).__name__}: {exc}"
    return found
