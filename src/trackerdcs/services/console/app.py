"""The console's FastAPI app: the page, its login, the API and the live feed."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from trackerdcs.services.console import api, live
from trackerdcs.services.console.api import set_cookie
from trackerdcs.services.console.auth import console_of, session_of
from trackerdcs.services.console.context import Console

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"
NO_STORE = {"Cache-Control": "no-store"}


def create_app(console: Console) -> FastAPI:
    """The app; the hub and the feed run for as long as it is served."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with _running(console):
            yield

    app = FastAPI(title="Tracker DCS console", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.console = console
    app.include_router(api.router)
    app.include_router(live.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_api_route("/", index, methods=["GET"], include_in_schema=False)
    app.add_api_route("/login", login_page, methods=["GET"], include_in_schema=False)
    app.add_api_route("/healthz", healthz, methods=["GET"], include_in_schema=False)
    return app


@contextlib.asynccontextmanager
async def _running(console: Console) -> AsyncIterator[None]:
    tasks = [asyncio.create_task(console.hub.run()), asyncio.create_task(console.feed.run())]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def index(request: Request) -> Response:
    if session_of(request) is None:
        return RedirectResponse("login", status_code=303)
    return FileResponse(STATIC / "index.html", headers=NO_STORE)


async def login_page(request: Request, token: str | None = None) -> Response:
    """The login form; ``?token=`` with the token `dcs up` printed logs the local user in."""
    console = console_of(request)
    if token is not None and console.local_token and console.local_user:
        if secrets.compare_digest(token, console.local_token):
            response = RedirectResponse("./", status_code=303)
            set_cookie(response, request, console.sessions.open(console.local_user).token)
            return response
        log.warning("console: a login with a wrong token from %s", request.client)
    return FileResponse(STATIC / "login.html", headers=NO_STORE)


async def healthz(request: Request) -> dict[str, bool]:
    """For a container's health check: no session needed, nothing revealed."""
    return {"ok": True, "bus": console_of(request).hub.connected.is_set()}
