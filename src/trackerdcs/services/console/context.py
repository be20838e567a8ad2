"""Everything one running console holds, shared by its routes (``app.state.console``)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from trackerdcs.services.console.commands import Commands
from trackerdcs.services.console.feed import Feed
from trackerdcs.services.console.hub import Hub
from trackerdcs.services.console.reading import History, Runs
from trackerdcs.services.console.sessions import Sessions, Throttle
from trackerdcs.services.console.state import StandState
from trackerdcs.services.console.users import User, Users
from trackerdcs.stand.console import ConsoleConfig


@dataclass
class Console:
    config: ConsoleConfig
    state: StandState
    hub: Hub
    feed: Feed
    commands: Commands
    users: Users
    history: History
    runs: Runs | None  # None: the stand has no [daq]
    sessions: Sessions = field(default_factory=Sessions)
    throttle: Throttle = field(default_factory=Throttle)
    local_token: str | None = None  # the URL `dcs up` prints logs in as local_user
    local_user: User | None = None
    clock: Callable[[], float] = time.time
