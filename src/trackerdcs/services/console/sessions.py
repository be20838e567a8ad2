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


class Throttle:
    """Failed logins per client address: after ``limit`` within ``window_s``, wait the window out.

    bcrypt already makes each guess slow; this stops a patient script from guessing on.
    """

    def __init__(
        self, limit: int = 5, window_s: float = 300.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit, self.window_s, self.clock = limit, window_s, clock
        self._failures: dict[str, list[float]] = {}

    def wait_s(self, address: str) -> float:
        """0 if ``address`` may try now, else the seconds until it may."""
        recent = self._recent(address)
        if len(recent) < self.limit:
            return 0.0
        return recent[0] + self.window_s - self.clock()

    def failed(self, address: str) -> None:
        self._failures[address] = [*self._recent(address), self.clock()]

    def succeeded(self, address: str) -> None:
        self._failures.pop(address, None)

    def _recent(self, address: str) -> list[float]:
        now = self.clock()
        recent = [t for t in self._failures.get(address, []) if now - t < self.window_s]
        if recent:
            self._failures[address] = recent
        else:
            self._failures.pop(address, None)
        return recent
