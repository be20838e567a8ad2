"""``/api/live``: the websocket every page holds, a snapshot first and then the changes."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from trackerdcs.services.console.auth import console_of, same_origin, session_of
from trackerdcs.services.console.feed import TOO_SLOW, Client
from trackerdcs.services.console.policy import whoami

log = logging.getLogger(__name__)

router = APIRouter()
POLICY_VIOLATION = 1008
PONG = b'{"type":"pong"}'


@router.websocket("/api/live")
async def live(ws: WebSocket) -> None:
    session = session_of(ws)
    if session is None or not same_origin(ws.headers):
        await ws.close(code=POLICY_VIOLATION, reason="log in first" if session is None else "wrong origin")
        return
    await ws.accept()
    console = console_of(ws)
    feed = console.feed
    peer = f"{ws.client.host}:{ws.client.port}" if ws.client else "?"
    client = Client(f"{session.user.name}@{peer}", lambda data: ws.send_text(data.decode()))
    feed.join(client, whoami(console.config, session.user))
    reader = asyncio.create_task(_read(ws, client))
    try:
        await client.pump()
    finally:
        feed.leave(client)
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader
        if client.dropped is not None and client.dropped.startswith("too slow"):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(code=TOO_SLOW, reason="too slow: reconnect"), 1.0)


async def _read(ws: WebSocket, client: Client) -> None:
    """Pings from the page; the end of the socket ends the client."""
    try:
        while True:
            text = await ws.receive_text()
            if '"ping"' in text:
                client.offer(PONG)
    except (WebSocketDisconnect, RuntimeError) as exc:
        client.drop(f"closed ({exc.__class__.__name__})")
