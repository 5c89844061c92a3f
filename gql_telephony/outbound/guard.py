"""The network guard shared by every client that calls a host someone typed (provider hosts a
tenant configured, webhook endpoint URLs): the name is resolved here, every address it resolves
to is checked against the private-address rule (domain/addresses.py), and the connection goes to
an address that was checked, so a second lookup (DNS rebinding) cannot swap in another one."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any

import httpcore
import httpx

from ..domain.addresses import refusal_of
from .tls import client_tls


class RefusedHost(Exception):
    """A host typed by a tenant (or a webhook URL) resolves to an address the server must not contact."""

    def __init__(self, rule: str) -> None:
        super().__init__(rule)
        self.rule = rule


class UnresolvableHost(Exception):
    pass


class _GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolves the host itself, refuses private addresses, and connects to the address it
    checked, so that a second lookup (DNS rebinding) cannot swap in another one. TLS still
    verifies the host name, which httpcore passes separately."""

    def __init__(self) -> None:
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await _resolve(host, port)
        for address in addresses:
            rule = refusal_of(address)
            if rule is not None:
                raise RefusedHost(rule)
        # Each checked address in turn, as an unguarded connect would (a name with an IPv6
        # address first still works where only IPv4 is routed).
        for address in addresses[:-1]:
            try:
                return await self._inner.connect_tcp(
                    str(address), port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except httpcore.ConnectError:
                continue
        return await self._inner.connect_tcp(
            str(addresses[-1]), port, timeout=timeout, local_address=local_address, socket_options=socket_options
        )

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        raise RefusedHost("a local socket")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


async def _resolve(host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    try:
        found = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise UnresolvableHost() from None
    addresses = list(dict.fromkeys(ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in found))
    if not addresses:
        raise UnresolvableHost()
    return addresses


def guarded_transport(limits: httpx.Limits) -> httpx.AsyncHTTPTransport:
    transport = httpx.AsyncHTTPTransport(verify=client_tls(), trust_env=False, limits=limits)
    # httpx has no parameter for the network backend; its pool is rebuilt with ours (same limits).
    # No proxy from the environment either: through a proxy the guard would check the proxy's address.
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=client_tls(),
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        network_backend=_GuardedBackend(),
    )
    return transport


def no_cookies() -> CookieJar:
    """A jar that keeps nothing: clients shared by every organization must not carry one
    organization's cookie to another's request."""
    return CookieJar(DefaultCookiePolicy(allowed_domains=()))
