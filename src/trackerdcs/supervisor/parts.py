"""``dcs up --only``: the part of a stand that runs on this machine.

A big stand spreads over several PCs that share one broker (or brokers joined by
mosquitto's bridge). Each PC runs the devices that match its patterns; the safety
service, the archiver, the DAQ service and the console run where a pattern names them
(``safety``, ``archive``, ``daq``, ``console``), once.
"""

from __future__ import annotations

from fnmatch import fnmatchcase

from trackerdcs.stand import Stand, StandError

ARCHIVE, SAFETY, DAQ, CONSOLE = "archive", "safety", "daq", "console"


def part_names(stand: Stand) -> list[str]:
    """What ``--only`` patterns can name: the services (archiver, safety, DAQ, console), every device."""
    services = [ARCHIVE, *([SAFETY] if stand.has_safety else []), *([DAQ] if stand.daq is not None else [])]
    services.append(CONSOLE)
    return [*services, *(d.name for d in stand.devices)]


def select(stand: Stand, patterns: tuple[str, ...]) -> set[str] | None:
    """The names the patterns match (comma-separated globs); None: the whole stand."""
    if not patterns:
        return None
    names = part_names(stand)
    chosen: set[str] = set()
    for pattern in (p.strip() for text in patterns for p in text.split(",") if p.strip()):
        matched = [n for n in names if fnmatchcase(n, pattern)]
        if not matched:
            raise StandError(
                f"{stand.source}: --only {pattern!r} matches nothing (parts: {', '.join(names)})"
            )
        chosen.update(matched)
    return chosen
