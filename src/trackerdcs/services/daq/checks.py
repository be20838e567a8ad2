"""What a run needs before it starts: the request well-formed, the calibration allowed, the
service free, every module in the required state and not inhibited by an interlock."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from trackerdcs.contract.payloads import CommandRejected, Reason, decode_text
from trackerdcs.daq.config import DaqConfig


class StartRequest(BaseModel):
    """The payload of ``/daq/cmd/start``."""

    model_config = ConfigDict(extra="forbid")

    calibration: str = Field(min_length=1, max_length=64)
    modules: list[str] | None = None
    config: str | None = Field(default=None, max_length=512)
    session: str | None = Field(default=None, max_length=128)
    operator: str | None = Field(default=None, max_length=128)
    note: str | None = Field(default=None, max_length=512)


def parse_start(raw: bytes) -> StartRequest:
    text = decode_text(raw)
    try:
        data = json.loads(text)
    except ValueError:
        raise CommandRejected(
            Reason.BAD_PAYLOAD, 'expected a JSON object such as {"calibration": "pedenoise"}'
        ) from None
    if not isinstance(data, dict):
        raise CommandRejected(Reason.BAD_PAYLOAD, "expected a JSON object")
    try:
        return StartRequest.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "payload"
        raise CommandRejected(Reason.BAD_PAYLOAD, f"{where}: {first['msg']}") from None


def check_request(request: StartRequest, config: DaqConfig, known_modules: list[str]) -> list[str]:
    """The run's modules, once the calibration and the module names are known to be good."""
    if request.calibration not in config.calibrations:
        allowed = ", ".join(config.calibrations)
        raise CommandRejected(
            Reason.UNKNOWN_CALIBRATION,
            f"calibration {request.calibration!r} is not allowed here (allowed: {allowed})",
        )
    if request.config is not None and (request.config.startswith("/") or ".." in request.config.split("/")):
        raise CommandRejected(Reason.BAD_PAYLOAD, "config: give a path inside the DAQ's working directory")
    modules = request.modules if request.modules is not None else config.modules
    unknown = [m for m in modules if m not in known_modules]
    if unknown:
        raise CommandRejected(
            Reason.BAD_PAYLOAD, f"no module {unknown[0]!r} (modules: {', '.join(known_modules) or 'none'})"
        )
    if not modules:
        raise CommandRejected(Reason.BAD_PAYLOAD, "no modules: name them, or set [daq] modules")
    return modules


def check_modules(
    modules: list[str], required: str, states: dict[str, str], inhibits: dict[str, list[str]] | None
) -> None:
    """Refuse a run whose module is inhibited (``interlocked``) or not in ``required`` (``not_ready``)."""
    if inhibits is None:
        raise CommandRejected(
            Reason.INTERLOCKED, "no inhibit list from the safety service yet: not safe to start"
        )
    for module in modules:
        rules = inhibits.get(module)
        if rules:
            raise CommandRejected(Reason.INTERLOCKED, f"module {module}: inhibited by {', '.join(rules)}")
    for module in modules:
        state = states.get(module, "unknown")
        if state != required:
            raise CommandRejected(Reason.NOT_READY, f"module {module} is {state}, the run needs {required}")


def inhibit_list(payload: Any) -> dict[str, list[str]] | None:
    """The ``inhibit`` part of ``/interlock/inhibit``, or None if it cannot be read."""
    if not isinstance(payload, dict) or not isinstance(payload.get("inhibit"), dict):
        return None
    return {str(k): [str(r) for r in v] for k, v in payload["inhibit"].items() if isinstance(v, list)}
