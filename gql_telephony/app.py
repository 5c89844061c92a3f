"""The ASGI application, composed from settings at run time (nothing is built on import)."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import sqlalchemy as sa
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute

from .api.graph.schema import build_schema
from .api.http.dashboard import ROUTE_PREFIX as DASHBOARD_ASSETS
from .api.http.dashboard import dashboard_asset, dashboard_page
from .api.http.graphiql_assets import ROUTE_PREFIX as GRAPHIQL_ASSETS
from .api.http.graphiql_assets import graphiql_asset
from .api.http.key_watch import KeyWatch
from .api.http.view import GraphQLView
from .api.middleware.body_limit import BodySizeLimit
from .api.middleware.cors import LoggedCORS
from .api.middleware.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from .api.middleware.metrics import Metrics
from .api.middleware.rate_buckets import buckets_from_settings
from .api.middleware.rate_limit import RateLimit
from .api.middleware.request_log import RequestLog
from .api.runtime import ReadPaths, Runtime
from .crypto import Vault, vault_from_settings
from .outbound.clients import CLIENTS
from .outbound.http import ProviderHttp
from .services.events import Broker, MemoryBroker
from .services.key_usage import KeyUsage
from .services.organization_changes import OrganizationChanges
from .services.phone_numbers import PhoneNumbers
from .services.provider_checks import ProviderChecks
from .services.summary_feed import SummaryFeed
from .services.telephony_configs import TelephonyConfigs
from .services.tenancy import Principal, authenticate
from .services.webhook_delivery import WebhookSender
from .services.webhook_endpoints import WebhookEndpoints
from .settings import Settings
from .storage.db import Database
from .workers.maintenance import Maintenance
from .workers.provider_checks import CheckWorker
from .workers.webhook_delivery import DeliveryWorker

READY_TIMEOUT_SECONDS = 1.0


def make_broker(settings: Settings) -> Broker:
    if settings.broker_url.startswith("memory://"):
        return MemoryBroker()
    from .services.redis_events import RedisBroker  # noqa: PLC0415 - only scale-out needs Redis

    return RedisBroker(settings.broker_url)


def build_runtime(settings: Settings, *, db: Database | None = None, vault: Vault | None = None,
                  broker: Broker | None = None) -> Runtime:
    """The services over one database, vault and broker. Parts given are shared, not built: a
    second app on the same connections (tests do this); whoever built them closes them."""
    db = Database(settings) if db is None else db
    vault = vault_from_settings(settings) if vault is None else vault
    broker = make_broker(settings) if broker is None else broker
    provider_http = ProviderHttp.from_settings(settings)
    sender = WebhookSender(allow_private_hosts=settings.allow_private_webhook_hosts)
    delivery_worker = DeliveryWorker(db, vault, broker, sender, retry_base=settings.webhook_retry_base,
                                     give_up_after=settings.webhook_give_up_after)
    # A commit that wrote webhook deliveries wakes this process's sender; off, the outbox keeps them.
    webhooks_due = delivery_worker.wake if settings.webhook_deliveries else _nothing
    checks = ProviderChecks(db, vault, provider_http, broker, CLIENTS, webhooks_due=webhooks_due)
    worker = CheckWorker(db, checks, interval=settings.provider_check_interval)
    # Changes wake this process's worker; with checks off nothing runs by itself.
    wake = worker.wake if settings.provider_checks else _nothing
    return Runtime(
        settings=settings, db=db, vault=vault, broker=broker,
        configs=TelephonyConfigs(db, vault, broker, checks_due=wake, webhooks_due=webhooks_due),
        numbers=PhoneNumbers(db, broker, vault, checks_due=wake, webhooks_due=webhooks_due),
        endpoints=WebhookEndpoints(db, vault, broker, allow_private_hosts=settings.allow_private_webhook_hosts,
                                   webhooks_due=webhooks_due),
        summaries=SummaryFeed(db, vault, broker),
        changes=OrganizationChanges(db, vault, broker),
        read_paths=ReadPaths(),
        key_usage=KeyUsage(db),
        key_watch=KeyWatch(db),
        provider_http=provider_http,
        checks=checks,
        check_worker=worker,
        webhook_sender=sender,
        delivery_worker=delivery_worker,
        webhooks_due=webhooks_due,
        maintenance=Maintenance(db, retention_days=settings.audit_retention_days),
    )


def _nothing() -> None:
    pass


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> Starlette:
    runtime = runtime or build_runtime(settings or Settings.from_env())
    view = GraphQLView(build_schema(production=runtime.settings.is_production), runtime)

    metrics = Metrics(runtime.db, lambda: runtime.summaries.listener_count + runtime.changes.listener_count,
                      runtime.read_paths, runtime.provider_http.outcomes, runtime.delivery_worker.outcomes)

    async def healthz(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def database_answers() -> bool:
        try:
            async with asyncio.timeout(READY_TIMEOUT_SECONDS), runtime.db.reading() as session:
                await session.execute(sa.text("SELECT 1"))
        except Exception:  # any failure to answer means not ready
            return False
        return True

    async def broker_answers() -> bool:
        ping = getattr(runtime.broker, "ping", None)
        if ping is None:  # the memory broker lives in this process
            return True
        try:
            async with asyncio.timeout(READY_TIMEOUT_SECONDS):
                return bool(await ping())
        except Exception:  # refused, unreachable, too slow: not ready
            return False

    async def readyz(_: Request) -> JSONResponse:
        database, broker = await asyncio.gather(database_answers(), broker_answers())
        body = {"status": "ok" if database and broker else "unavailable",
                "database": "up" if database else "down", "broker": "up" if broker else "down"}
        return JSONResponse(body, status_code=200 if database and broker else 503)

    async def metrics_endpoint(_: Request) -> Response:
        return Response(metrics.render(), media_type=METRICS_CONTENT_TYPE)

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        # Everything built so far (modules, schema, engines) lives as long as the process: keep
        # it out of the garbage collector's full passes, which a large response's thousands of
        # short-lived objects would otherwise trigger over and over.
        gc.collect()
        gc.freeze()
        async with runtime.background():
            yield
        metrics.close()
        if buckets is not None:
            await buckets.close()
        await runtime.broker.close()
        await runtime.db.dispose()

    settings = runtime.settings
    buckets = buckets_from_settings(settings)

    async def authenticate_key(key: str) -> Principal | None:
        return await authenticate(runtime.db, key)

    # Outermost first: every response, refusals included, is logged, counted and carries X-Request-ID.
    middleware = [Middleware(RequestLog, metrics=metrics),
                  Middleware(RateLimit, buckets=buckets, authenticate=authenticate_key), Middleware(BodySizeLimit)]
    if settings.allowed_origins:
        # Dashboards on these origins may call the API from a browser (the same list lets them
        # open WebSockets). Keys travel in the Authorization header, never in cookies.
        middleware.insert(1, Middleware(
            LoggedCORS, allow_origins=list(settings.allowed_origins),
            allow_methods=["GET", "POST"], allow_headers=["authorization", "content-type", "accept", "x-request-id"],
            expose_headers=["x-request-id", "retry-after"], max_age=600,
        ))
    routes = [
        Route("/graphql", view, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", view),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/metrics", metrics_endpoint),
        # The dashboard (docs/DASHBOARD.md): static files, a client of /graphql like any other.
        Route("/", dashboard_page, methods=["GET", "HEAD"]),
        Route(DASHBOARD_ASSETS + "{name:path}", dashboard_asset, methods=["GET", "HEAD"]),
    ]
    if not settings.is_production:
        # GraphiQL's scripts and styles come from here, not a CDN: the explorer works offline.
        routes.append(Route(GRAPHIQL_ASSETS + "{name}", graphiql_asset))
    app = Starlette(
        routes=routes,
        middleware=middleware,
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    app.state.view = view
    app.state.metrics = metrics
    app.state.rate_buckets = buckets
    return app
