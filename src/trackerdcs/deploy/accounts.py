"""Who talks to the broker, and which topics each may publish and read.

Roles (see docs/decisions/0016): a device service owns ``/<dev>/...``; the safety
service owns the interlock's and the modules' topics and may switch channels off;
the archiver reads everything; operators (people, and Node-RED) may command; viewers
only read. The console commands like an operator and owns its own topics: who of its
users may do what is the console's check, not the broker's. Each service has its own
account, so a leaked password exposes one role.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from trackerdcs.contract.topics import DaqTopics, DeviceTopics, InterlockTopics, wildcard
from trackerdcs.stand import Stand

ARCHIVER, SAFETY, NODERED, HEALTH, DAQ = "archiver", "safety", "nodered", "health", "daq"
CONSOLE = "console"
ARCHIVE_DEVICE = "archive"  # the archiver's own /archive/... topics
ALL = "#"
SIM_DRIVER = "sim"


@dataclass(frozen=True)
class Account:
    """One MQTT user and its ACL."""

    user: str
    role: str  # device, safety, archiver, daq, console, operator, viewer, health
    write: tuple[str, ...] = ()
    read: tuple[str, ...] = field(default=())

    @property
    def secret(self) -> str:
        """The name of the file under secrets/ that holds its password."""
        return f"mqtt-{self.user}"


def device_user(device: str) -> str:
    return f"device-{device}"


def accounts(stand: Stand) -> list[Account]:
    """Every account of the stand, services first, then people."""
    out = [_device(stand, d.name) for d in stand.devices]
    out.append(_safety(stand))
    out.append(_archiver())
    if stand.daq is not None:
        out.append(_daq(stand))
    commands = _operator_topics(stand)
    own = DeviceTopics(stand.console.name).root + "/#"  # its availability and audit events
    out.append(Account(CONSOLE, "console", (own, *commands), (ALL,)))
    out.append(Account(NODERED, "operator", commands, (ALL,)))
    out += [Account(u, "operator", commands, (ALL,)) for u in stand.deploy.operators]
    out += [Account(u, "viewer", (), (ALL,)) for u in stand.deploy.viewers]
    out.append(Account(HEALTH, "health", (), ("/health",)))  # the broker's own healthcheck
    _check_unique(out)
    return out


def _operator_topics(stand: Stand) -> tuple[str, ...]:
    """Every command; simulator steering only on simulated devices (never on hardware)."""
    sims = [DeviceTopics(d.name).sim_filter for d in stand.devices if d.driver == SIM_DRIVER]
    return (wildcard("cmd") + "/#", *sims)


def _device(stand: Stand, name: str) -> Account:
    t = DeviceTopics(name)
    write = (t.status, t.availability, t.meta, t.reply, t.reply + "/#")
    partners = sorted({DeviceTopics(ref.device).status for ref in stand.module_map().partners(name)})
    lock = InterlockTopics(stand.interlock.name)
    read = (t.cmd_filter, t.sim_filter, *partners, lock.inhibit_of(name), lock.heartbeat)
    return Account(device_user(name), "device", write, read)


def _safety(stand: Stand) -> Account:
    lock = InterlockTopics(stand.interlock.name)
    write = [lock.root + "/#"]
    write += [DeviceTopics(m.name).root + "/#" for m in stand.modules]
    write += [DeviceTopics(d.name).cmd_filter for d in stand.devices]
    return Account(SAFETY, "safety", tuple(write), (ALL,))


def _daq(stand: Stand) -> Account:
    """The DAQ service: its own topics; it reads its commands, the modules and the interlocks."""
    assert stand.daq is not None
    t, lock = DaqTopics(stand.daq.name), InterlockTopics(stand.interlock.name)
    modules = tuple(DeviceTopics(m.name).status for m in stand.modules)
    return Account(DAQ, "daq", (t.root + "/#",), (t.cmd_filter, *modules, lock.inhibit, lock.events))


def _archiver() -> Account:
    own = DeviceTopics(ARCHIVE_DEVICE).root + "/#"
    return Account(ARCHIVER, "archiver", (own, wildcard("cmd") + "/rebirth"), (ALL,))


def _check_unique(out: list[Account]) -> None:
    users = [a.user for a in out]
    repeated = sorted({u for u in users if users.count(u) > 1})
    if repeated:
        raise ValueError(f"[deploy] accounts clash with service accounts: {', '.join(repeated)}")
