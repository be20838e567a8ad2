"""The HTTP API the page uses, and scripts may: state, commands, acknowledgements, history, runs."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from trackerdcs.archive.backend import Query as HistoryQuery
from trackerdcs.contract.topics import TopicError
from trackerdcs.runstore.base import RunQuery
from trackerdcs.services.console.auth import console_of, current_user, token_of
from trackerdcs.services.console.commands import UnknownTarget
from trackerdcs.services.console.hub import NotConnected
from trackerdcs.services.console.policy import CommandRequest, Forbidden, whoami
from trackerdcs.services.console.reading import ReadFailed, when
from trackerdcs.services.console.sessions import COOKIE
from trackerdcs.services.console.users import User

router = APIRouter(prefix="/api")
Caller = Annotated[User, Depends(current_user)]


class Login(BaseModel):
    model_config = ConfigDict(extra="forbid")
    user: str = Field(max_length=64)
    password: str = Field(max_length=256)


class Ack(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(max_length=128)


@router.post("/login")
async def login(body: Login, request: Request, response: Response) -> dict[str, str]:
    console = console_of(request)
    address = request.client.host if request.client else "?"
    wait = console.throttle.wait_s(address)
    if wait > 0:
        raise HTTPException(429, f"too many failed logins: try again in {wait:.0f} s")
    user = await asyncio.to_thread(console.users.verify, body.user, body.password)
    if user is None:
        console.throttle.failed(address)
        raise HTTPException(401, "wrong user or password")
    console.throttle.succeeded(address)
    session = console.sessions.open(user)
    set_cookie(response, request, session.token)
    return {"user": user.name, "role": user.role.label, "token": session.token}


def set_cookie(response: Response, request: Request, token: str) -> None:
    secure = request.url.scheme == "https"  # behind the TLS gateway; plain http only on loopback
    response.set_cookie(
        COOKIE, token, httponly=True, samesite="strict", secure=secure, path=cookie_path(request)
    )


def cookie_path(request: Request) -> str:
    """Only the console's own paths: behind the gateway, not Grafana's or Node-RED's."""
    return str(request.scope.get("root_path") or "").rstrip("/") + "/"


@router.post("/logout")
async def logout(request: Request, response: Response) -> dict[str, bool]:
    console_of(request).sessions.close(token_of(request))
    response.delete_cookie(COOKIE, path=cookie_path(request))
    return {"ok": True}


@router.get("/state")
async def state(request: Request, user: Caller) -> dict[str, Any]:
    console = console_of(request)
    return {**console.state.snapshot(console.clock()), **whoami(console.config, user)}


@router.post("/command")
async def command(body: CommandRequest, request: Request, user: Caller) -> dict[str, Any]:
    console = console_of(request)
    try:
        reply = await console.commands.run(user, body)
    except Forbidden as exc:
        raise HTTPException(403, str(exc)) from None
    except UnknownTarget as exc:
        raise HTTPException(404, str(exc)) from None
    except TopicError as exc:
        raise HTTPException(422, str(exc)) from None
    except NotConnected as exc:
        raise HTTPException(503, str(exc)) from None
    except TimeoutError:
        raise HTTPException(504, f"no reply within 5 s: is {body.device} online?") from None
    return {"reply": reply.model_dump(mode="json")}


@router.post("/ack")
async def ack(body: Ack, request: Request, user: Caller) -> dict[str, Any]:
    safety = console_of(request).state.layout.safety
    if safety is None:
        raise HTTPException(404, "this stand has no safety service")
    payload = json.dumps({"id": body.id, "by": user.name})
    return await command(CommandRequest(device=safety, command="ack", payload=payload), request, user)


@router.get("/history")
async def history(
    request: Request,
    user: Caller,
    device: str,
    field: str,
    channel: str | None = None,
    since: Annotated[float, Query(ge=0)] = 3600.0,
    until: Annotated[float | None, Query(ge=0)] = None,
) -> dict[str, Any]:
    console = console_of(request)
    now = console.clock()
    start = when(since, now) or 0.0
    query = HistoryQuery(device, field, channel or None, start, when(until, now))
    try:
        return await console.history.read(query)
    except ReadFailed as exc:
        raise HTTPException(503, str(exc)) from None


@router.get("/runs")
async def runs(
    request: Request,
    user: Caller,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    module: str | None = None,
    status: str | None = None,
    calibration: str | None = None,
) -> dict[str, Any]:
    store = console_of(request).runs
    if store is None:
        return {"runs": []}
    query = RunQuery(module=module or None, status=status or None, limit=limit)
    try:
        return {"runs": await store.find(query, calibration)}
    except ReadFailed as exc:
        raise HTTPException(503, str(exc)) from None


@router.get("/runs/{key}")
async def run(key: str, request: Request, user: Caller) -> dict[str, Any]:
    store = console_of(request).runs
    try:
        record = await store.get(key) if store is not None else None
    except ReadFailed as exc:
        raise HTTPException(503, str(exc)) from None
    if record is None:
        raise HTTPException(404, f"no run {key!r}")
    return {"run": record}


@router.get("/audit")
async def audit(
    request: Request, user: Caller, limit: Annotated[int, Query(ge=1, le=1000)] = 200
) -> dict[str, Any]:
    return {"audit": list(console_of(request).state.audit)[-limit:]}
