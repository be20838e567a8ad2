"""A command from the console: checked against the user's role, sent over the contract, audited.

Every attempt is audited, refused ones too: who, what, the value before, and the reply.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from trackerdcs.contract.payloads import Reply
from trackerdcs.contract.topics import DeviceTopics, TopicError
from trackerdcs.services.console.hub import Hub
from trackerdcs.services.console.policy import SIM, CommandRequest, Forbidden, check, required_role
from trackerdcs.services.console.state import StandState
from trackerdcs.services.console.users import User
from trackerdcs.stand.console import ConsoleConfig

log = logging.getLogger(__name__)

REPLY_TIMEOUT = 5.0
# The status field a command changes: its value before goes into the audit log.
FIELD_OF = {
    "setv": "vreq",
    "switch": "on",
    "setilimit": "ilimit",
    "seti": "ilimit",
    "setrampup": "rampup",
    "setrampdown": "rampdown",
    "setpoint": "setpoint",
}


class UnknownTarget(LookupError):
    """Not a device, module or service of this stand."""


@dataclass
class Commands:
    hub: Hub
    state: StandState
    config: ConsoleConfig
    clock: Callable[[], float]

    def targets(self) -> set[str]:
        lay = self.state.layout
        return {*lay.devices, *lay.modules, *(n for n in (lay.safety, lay.daq) if n)}

    async def run(self, user: User, request: CommandRequest) -> Reply:
        """The device's reply; raises Forbidden, UnknownTarget, TopicError, NotConnected, TimeoutError."""
        if request.device not in self.targets():
            raise UnknownTarget(f"no device, module or service {request.device!r} on this stand")
        kind = self.state.layout.devices.get(request.device)
        before = self._before(request)
        try:
            check(
                user.role,
                required_role(request, kind, self.config, self.state.vreqs(request.device, request.channel)),
            )
        except Forbidden as exc:
            self._audit(user, request, before, None, f"refused by the console: {exc}")
            raise
        if request.device == self.state.layout.daq and request.command == "start":
            request = sign_daq_start(request, user)
        topics = DeviceTopics(request.device)
        topic = (topics.sim if request.action == SIM else topics.cmd)(request.command, request.channel)
        try:
            reply = await self.hub.send(topic, request.payload, REPLY_TIMEOUT)
        except TimeoutError:
            self._audit(user, request, before, None, f"no reply within {REPLY_TIMEOUT:g} s")
            raise
        self._audit(user, request, before, reply, reply.message)
        return reply

    def _before(self, request: CommandRequest) -> Any:
        if request.device in self.state.layout.modules:
            module = self.state.module(request.device)
            return module.get("state") if isinstance(module, dict) else None
        entry = self.state.channel(request.device, request.channel)
        field = FIELD_OF.get(request.command, request.command if request.action == SIM else "")
        return entry.get(field) if entry is not None else None

    def _audit(
        self, user: User, request: CommandRequest, before: Any, reply: Reply | None, message: str
    ) -> None:
        entry = {
            "ts": self.clock(),
            "user": user.name,
            "role": user.role.label,
            "device": request.device,
            "command": request.command,
            "action": request.action,
            "channel": request.channel,
            "payload": request.payload,
            "before": before,
            "ok": reply.ok if reply is not None else False,
            "reason": (reply.reason if reply is not None else None),
            "message": message,
        }
        log.info(
            "audit: %s (%s) %s %s/%s %r: %s",
            user.name,
            user.role.label,
            request.action,
            request.device,
            request.command,
            request.payload,
            message,
        )
        self.state.add_audit(entry)
        self.hub.event({"event": "command", **entry})


__all__ = ["Commands", "Forbidden", "TopicError", "UnknownTarget"]


def sign_daq_start(request: CommandRequest, user: User) -> CommandRequest:
    """A DAQ start names the logged-in user as its operator, whatever the page sent; a payload
    that is not a JSON object is left for the DAQ to refuse with its reason."""
    try:
        body = json.loads(request.payload or "{}")
    except ValueError:
        return request
    if not isinstance(body, dict):
        return request
    return request.model_copy(update={"payload": json.dumps({**body, "operator": user.name})})
