"""The uvicorn server, with what uvicorn lacks against slow or piling-up connections.

- A header deadline: a connection must send a request's complete headers within
  `header_timeout` seconds of opening (or of the first byte of its next request on a kept-alive
  connection), else it is closed. uvicorn has none: a client trickling header lines (slowloris)
  holds its descriptor forever.
- A connection cap: at most `max_connections` open connections (WebSockets included), so that
  descriptors never run out for the connections being served, the database and Redis. A new
  connection over the cap takes the place of the connection that has been sending its headers
  the longest (a normal client sends them at once: the one still sending is the slow one); only
  when every connection is past its headers (requests in flight, WebSockets) is the new one
  answered 503 and closed at once. By default the cap leaves RESERVED_DESCRIPTORS of the
  process's descriptor limit (`ulimit -n`) free.
- X-Forwarded-For is read only from GQL_TELEPHONY_TRUSTED_PROXIES (uvicorn would otherwise trust
  127.0.0.1, or its FORWARDED_ALLOW_IPS environment variable, without saying so).

And a collector setting for a long-lived process holding many connections (GC_THRESHOLDS).

Both guards log a WARNING when they act, at most one line a minute each with a count, so that
an attack cannot flood the log.
"""

from __future__ import annotations

import gc
import logging
import resource
import time
from asyncio import TimerHandle, Transport
from collections import OrderedDict
from typing import Any

from .settings import Settings, SettingsError

logger = logging.getLogger("gql_telephony.server")

RESERVED_DESCRIPTORS = 128  # database and Redis connections, SQLite files, the listening socket
MAX_WS_MESSAGE_BYTES = 1024 * 1024  # the HTTP body limit, for WebSocket messages too
LOG_EVERY_SECONDS = 60.0
# CPython's default (700, 10, 10) considers a full pass over every object after about 70,000
# net allocations, and (CPython 3.11 to 3.13) makes it when the objects that survived since the
# last one are over a quarter of those it kept. A process holding 2,500 subscriptions tracks
# some 400,000 objects: each full pass took about 270 ms of its CPU, 15 of them in a ten-round
# fan-out, holding every socket back (docs/PERFORMANCE.md, "Round 7: the garbage collector").
# Here the young generation is collected every 10,000 allocations and a full pass waits for 100
# middle ones. Rare full passes cost no memory because nothing the caches keep (documents,
# plans) holds a reference cycle.
GC_THRESHOLDS = (10_000, 10, 100)
OVER_CAPACITY = (b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\ncontent-length: 20\r\n"
                 b"retry-after: 1\r\nconnection: close\r\n\r\nToo many connections")


class RareWarning:
    """A WARNING at the first occurrence, then at most one a minute, with how many since the last."""

    def __init__(self, message: str, every: float = LOG_EVERY_SECONDS) -> None:
        self.message, self.every = message, every
        self.count, self.logged_at = 0, float("-inf")

    def happened(self) -> None:
        self.count += 1
        now = time.monotonic()
        if now - self.logged_at >= self.every:
            logger.warning(self.message, self.count)
            self.count, self.logged_at = 0, now


def descriptor_limit() -> int:
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def connection_cap(settings: Settings) -> int:
    """The most connections this process may hold open, below its descriptor limit."""
    limit = descriptor_limit()
    room = limit - RESERVED_DESCRIPTORS if limit != resource.RLIM_INFINITY else 1_000_000
    if room < 1:
        raise SettingsError(f"the descriptor limit (ulimit -n = {limit}) leaves no room for connections: raise it")
    if settings.max_connections > room:
        raise SettingsError(
            f"GQL_TELEPHONY_MAX_CONNECTIONS ({settings.max_connections}) must leave {RESERVED_DESCRIPTORS} "
            f"of the descriptor limit (ulimit -n = {limit}) free: at most {room}, or raise the limit"
        )
    return settings.max_connections or room


def guarded_http_protocol(header_timeout: float, max_connections: int) -> type:
    """uvicorn's httptools protocol with the header deadline and the connection cap."""
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol  # noqa: PLC0415 - loaded only to serve

    timed_out = RareWarning(f"closed connections that sent no complete request headers within {header_timeout:g} s: "
                            "%d since the last such line")
    refused = RareWarning(
        f"refused connections over the cap of {max_connections} open connections: %d since the last such line")
    evicted = RareWarning(
        f"closed connections still sending request headers to make room under the cap of {max_connections} "
        "open connections: %d since the last such line")
    waiting: OrderedDict[Any, None] = OrderedDict()  # connections sending headers, oldest first

    class GuardedHttpProtocol(HttpToolsProtocol):
        _header_deadline: TimerHandle | None = None

        # asyncio declares a BaseTransport; a TCP connection's is a Transport (uvicorn narrows it too)
        def connection_made(self, transport: Transport) -> None:  # type: ignore[override]  # see above
            super().connection_made(transport)
            if len(self.connections) > max_connections and not self._close_the_slowest():
                refused.happened()
                transport.write(OVER_CAPACITY)
                transport.close()
                return
            self._start_header_deadline()

        def on_message_begin(self) -> None:
            super().on_message_begin()
            if self._header_deadline is None:  # the next request on a kept-alive connection
                self._start_header_deadline()

        def on_headers_complete(self) -> None:
            self._stop_header_deadline()
            super().on_headers_complete()

        def connection_lost(self, exc: Exception | None) -> None:
            self._stop_header_deadline()
            super().connection_lost(exc)

        def _start_header_deadline(self) -> None:
            self._header_deadline = self.loop.call_later(header_timeout, self._headers_too_slow)
            waiting[self] = None

        def _stop_header_deadline(self) -> None:
            waiting.pop(self, None)
            if self._header_deadline is not None:
                self._header_deadline.cancel()
                self._header_deadline = None

        def _close_the_slowest(self) -> bool:
            while waiting:
                slowest = next(iter(waiting))
                slowest._stop_header_deadline()
                if not slowest.transport.is_closing():
                    evicted.happened()
                    slowest.transport.close()
                    return True
            return False

        def _headers_too_slow(self) -> None:
            self._header_deadline = None
            waiting.pop(self, None)
            if not self.transport.is_closing():
                timed_out.happened()
                self.transport.close()

    return GuardedHttpProtocol


def uvicorn_config(app: Any, settings: Settings, host: str, port: int, **overrides: Any) -> Any:
    import uvicorn  # noqa: PLC0415 - loaded only to serve

    # WebSocket pings every 20 s keep idle subscriptions open through proxies and drop clients
    # that stopped answering (or reading). uvicorn's access log prints query strings, where GET
    # variables travel; the app's own log (api/middleware/request_log.py) does not. log_config=None:
    # uvicorn's loggers keep the JSON handler the command line gave the root logger. No
    # per-message deflate: messages are a few hundred bytes, and compressing each one for each
    # socket (with a compressor kept per socket) was a tenth of a fan-out's CPU.
    options: dict[str, Any] = {
        "host": host, "port": port, "log_level": "info", "ws": "websockets-sansio", "access_log": False,
        "ws_ping_interval": 20, "ws_ping_timeout": 20, "ws_max_size": MAX_WS_MESSAGE_BYTES, "log_config": None,
        "ws_per_message_deflate": False,
        "http": guarded_http_protocol(settings.header_timeout, connection_cap(settings)),
        "proxy_headers": bool(settings.trusted_proxies),
        "forwarded_allow_ips": list(settings.trusted_proxies),
        **overrides,
    }
    return uvicorn.Config(app, **options)


def serve(app: Any, settings: Settings, host: str, port: int) -> None:
    """Serve until SIGTERM or SIGINT, which end the process with status 0."""
    import uvicorn  # noqa: PLC0415 - loaded only to serve

    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: Any) -> None:
            super().handle_exit(sig, frame)
            self._captured_signals.clear()  # a requested stop is a clean stop, not a death by signal

    gc.set_threshold(*GC_THRESHOLDS)
    Server(uvicorn_config(app, settings, host, port)).run()
