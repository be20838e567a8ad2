"""Login sessions: random tokens held in memory, carried by a cookie or a Bearer header."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from trackerdcs.services.console.users import User

IDLE_S = 12 * 3600.0  # a session unused this long ends
COOKIE = "dcs_session"


@dataclass
class Session:
    token: str
    user: User
    last_used: float


class Sessions:
    """Tokens to users. In memory on purpose: a console restart logs everyone out."""

    def __init__(self, idle_s: float = IDLE_S, clock: Callable[[], float] = time.monotonic) -> None:
        self.idle_s = idle_s
        self.clock = clock
        self._by_token: dict[str, Session] = {}

    def open(self, user: User) -> Session:
        self._expire()
        session = Session(secrets.token_urlsafe(32), user, self.clock())
        self._by_token[session.token] = session
        return session

    def get(self, token: str | None) -> Session | None:
        if not token:
            return None
        session = self._by_token.get(token)
        if session is None:
            return None
        now = self.clock()
        if now - session.last_used > self.idle_s:
            del self._by_token[token]
            return None
        session.last_used = now
        return session

    def close(self, token: str | None) -> None:
        if token:
            self._by_token.pop(token, None)

    def _expire(self) -> None:
        now = self.clock()
        for token in [t for t, s in self._by_token.items() if now - s.last_used > self.idle_s]:
            del self._by_token[token]
