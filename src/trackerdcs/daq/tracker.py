"""The state of one run, followed from Ph2_ACF's output and its end: pure, no I/O.

``starting`` (the record exists, the process is being launched) → ``configuring`` (it runs)
→ ``running`` (``Run N started``) → ``stopping`` (a stop was asked) → ``done``, ``failed`` or
``aborted``. A run stopped by the operator, a timeout or an interlock ends ``aborted``; its record's
status says ``interlocked`` when an interlock stopped it.
"""

from __future__ import annotations

import signal as signals
from dataclasses import dataclass, field
from enum import StrEnum

from trackerdcs.daq.errors import ErrorClass, classify
from trackerdcs.daq.logline import Kind, LogLine


class State(StrEnum):
    IDLE = "idle"
    STARTING = "starting"
    CONFIGURING = "configuring"
    RUNNING = "running"
    STOPPING = "stopping"
    DONE = "done"
    FAILED = "failed"
    ABORTED = "aborted"


FINAL = (State.DONE, State.FAILED, State.ABORTED)


class StopReason(StrEnum):
    OPERATOR = "operator"
    RUN_TIMEOUT = "run_timeout"
    IDLE_TIMEOUT = "idle_timeout"
    INTERLOCK = "interlock"
    MODULE_STATE = "module_state"  # a module of the run left the required state (tripped, switched off)
    SERVICE_STOPPED = "service_stopped"


@dataclass
class RunTracker:
    state: State = State.STARTING
    run: int | None = None
    step: str | None = None
    steps: list[str] = field(default_factory=list)
    results: str | None = None
    monitor: str | None = None
    halted: bool = False
    error_class: ErrorClass | None = None
    error_line: str | None = None
    first_local: str | None = None  # Ph2_ACF's own local timestamps of its first and last lines
    last_local: str | None = None
    stop_reason: StopReason | None = None
    stop_detail: str | None = None  # the interlock rule, the timeout that fired

    def launched(self) -> None:
        if self.state is State.STARTING:
            self.state = State.CONFIGURING

    def feed(self, line: LogLine) -> bool:
        """Take one line; True when the published status should change (state or step)."""
        if line.local_time is not None:
            self.first_local = self.first_local or line.local_time
            self.last_local = line.local_time
        if self.error_class is None and (error := classify(line.text)) is not None:
            self.error_class, self.error_line = error, line.text
        return self._event(line)

    def _event(self, line: LogLine) -> bool:
        kind = line.kind
        if kind is Kind.RUN_STARTED and line.value is not None:
            self.run = int(line.value)
            if self.state is State.CONFIGURING:
                self.state = State.RUNNING
            return True
        if kind is Kind.STEP_STARTED:
            self.step = line.value
            self.steps.append(line.value or "")
            return True
        if kind is Kind.RESULT_FILE:
            self.results = line.value
        elif kind is Kind.MONITOR_FILE:
            self.monitor = line.value
        elif kind is Kind.HALTED:
            self.halted = True
        return False

    def stopping(self, reason: StopReason, detail: str | None = None) -> None:
        if self.stop_reason is None:
            self.stop_reason, self.stop_detail = reason, detail
        self.state = State.STOPPING

    def ended(self, returncode: int | None) -> None:
        """The process ended: ``returncode`` as asyncio gives it (negative: the signal)."""
        if self.stop_reason is not None:
            self.state = State.ABORTED
        elif returncode == 0 and self.error_class is None and self.results is not None:
            self.state = State.DONE
        else:
            self.state = State.FAILED
            if self.error_class is None:
                self.error_class = _unexplained(returncode, self.results)

    def failed_to_launch(self, problem: str) -> None:
        self.state, self.error_class, self.error_line = State.FAILED, ErrorClass.LAUNCH_FAILED, problem

    @property
    def status(self) -> str:
        """The record's status: the final state, or ``interlocked``."""
        if self.state is State.ABORTED and self.stop_reason is StopReason.INTERLOCK:
            return "interlocked"
        return self.state.value


def _unexplained(returncode: int | None, results: str | None) -> ErrorClass:
    if returncode is not None and returncode < 0:
        return ErrorClass.SIGNAL
    if returncode:
        return ErrorClass.EXIT_CODE
    return ErrorClass.NO_RESULT


def exit_fields(returncode: int | None) -> dict[str, int | str | None]:
    """The record's ``exit_code`` and ``signal`` (by name) from asyncio's return code."""
    if returncode is None:
        return {"exit_code": None, "signal": None}
    if returncode < 0:
        try:
            name = signals.Signals(-returncode).name
        except ValueError:
            name = str(-returncode)
        return {"exit_code": None, "signal": name}
    return {"exit_code": returncode, "signal": None}
