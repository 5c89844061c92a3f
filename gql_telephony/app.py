"""The ASGI application, composed from settings at run time (nothing is built on import)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import sqlalchemy as sa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import Route, WebSocketRoute

from .api.body_limit import BodySizeLimit
from .api.context import Runtime
from .api.request_log import RequestLog
from .api.http import GraphQLView
from .api.schema import build_schema
from .crypto import vault_from_settings
from .services.events import Broker, MemoryBroker
from .settings import Settings
from .storage.db import Database

READY_TIMEOUT_SECONDS = 1.0


def make_broker(settings: Settings) -> Broker:
    if settings.broker_url.startswith("memory://"):
        return MemoryBroker()
    from .services.redis_events import RedisBroker  # noqa: PLC0415 - only scale-out needs Redis

    return RedisBroker(settings.broker_url)


def build_runtime(settings: Settings) -> Runtime:
    return Runtime(settings=settings, db=Database(settings), vault=vault_from_settings(settings), broker=make_broker(settings))


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> Starlette:
    runtime = runtime or build_runtime(settings or Settings.from_env())
    view = GraphQLView(build_schema(production=runtime.settings.is_production), runtime)

    async def healthz(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def readyz(_: Request) -> JSONResponse:
        try:
            async with asyncio.timeout(READY_TIMEOUT_SECONDS), runtime.db.reading() as session:
                await session.execute(sa.text("SELECT 1"))
        except Exception:  # any failure to answer means not ready
            return JSONResponse({"status": "unavailable", "database": "down"}, status_code=503)
        return JSONResponse({"status": "ok", "database": "up"})

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        yield
        await runtime.broker.close()
        await runtime.db.dispose()

    middleware = [Middleware(RequestLog), Middleware(BodySizeLimit)]
    if runtime.settings.allowed_origins:
        # Dashboards on these origins may call the API from a browser (the same list lets them
        # open WebSockets). Keys travel in the Authorization header, never in cookies.
        middleware.insert(1, Middleware(
            CORSMiddleware, allow_origins=list(runtime.settings.allowed_origins),
            allow_methods=["GET", "POST"], allow_headers=["authorization", "content-type", "accept", "x-request-id"],
            max_age=600,
        ))
    app = Starlette(
        routes=[
            Route("/graphql", view, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", view),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
        ],
        middleware=middleware,
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    return app
