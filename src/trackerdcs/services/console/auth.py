"""Who is asking: the session from the cookie or the Bearer header, and the Origin check.

A websocket or a POST that carries a cookie could be sent by another site's page in the
same browser; SameSite cookies stop most of that, and a request whose Origin is not this
host's is refused as well (django/channels#364 is the classic hole).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import HTTPException, Request
from starlette.datastructures import Headers
from starlette.requests import HTTPConnection

from trackerdcs.services.console.context import Console
from trackerdcs.services.console.sessions import COOKIE, Session
from trackerdcs.services.console.users import Role, User


def console_of(conn: HTTPConnection) -> Console:
    console: Console = conn.app.state.console
    return console


def token_of(conn: HTTPConnection) -> str | None:
    header = conn.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return conn.cookies.get(COOKIE) or conn.query_params.get("token")


def session_of(conn: HTTPConnection) -> Session | None:
    return console_of(conn).sessions.get(token_of(conn))


def same_origin(headers: Headers) -> bool:
    """No Origin (a script, not a browser) or the Origin of this very host."""
    origin = headers.get("origin")
    if origin is None:
        return True
    host = headers.get("x-forwarded-host") or headers.get("host", "")
    return urlsplit(origin).netloc.lower() == host.lower()


async def current_user(request: Request) -> User:
    """FastAPI dependency: the logged-in user, or 401."""
    session = session_of(request)
    if session is None:
        raise HTTPException(401, "log in first (POST api/login, or the URL `dcs up` printed)")
    if request.method != "GET" and not same_origin(request.headers):
        raise HTTPException(403, "cross-origin request refused")
    return session.user


def at_least(user: User, role: Role, what: str) -> None:
    if user.role < role:
        raise HTTPException(403, f"{user.role.label}s may not {what}")
