"""Which network addresses a host typed by a tenant may resolve to.

A tenant types an ARI endpoint or a SignalWire space; the server then connects to it. Without
this rule a tenant could point the server at its own loopback, the private network behind it,
or a cloud metadata service, and read the answers through the check results.
"""

from __future__ import annotations

import ipaddress

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Metadata services that sit outside the link-local range (Alibaba Cloud's is in shared space).
_METADATA = {ipaddress.ip_address("100.100.100.200"), ipaddress.ip_address("fd00:ec2::254")}
# NAT64's well-known prefix (RFC 6052): a DNS64 resolver writes an IPv4 host as 64:ff9b::a.b.c.d,
# and the NAT64 gateway connects to a.b.c.d, private or not.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
# Not globally reachable, though Python before 3.12 calls them global: local-use NAT64 (RFC 8215),
# whose gateways lead into private networks, and IPv4-compatible addresses (deprecated, RFC 4291).
_RESERVED_IPV6 = (ipaddress.IPv6Network("64:ff9b:1::/48"), ipaddress.IPv6Network("::/96"))


def carried_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 host an IPv6 address leads to: IPv4-mapped, NAT64 or 6to4; None for the others."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address.sixtofour


def refusal_of(address: IPAddress) -> str | None:
    """Why the server must not connect to this address (a rule people can read), or None. An
    IPv6 address that leads to an IPv4 host is judged by that host."""
    if isinstance(address, ipaddress.IPv6Address):
        address = carried_ipv4(address) or address
    if address in _METADATA or (address.is_link_local and not address.is_multicast):
        return "a link-local or cloud metadata address"
    if address.is_loopback:
        return "a loopback address"
    if address.is_unspecified:
        return "an unspecified address"
    if address.is_multicast:
        return "a multicast address"
    reserved = isinstance(address, ipaddress.IPv6Address) and any(address in net for net in _RESERVED_IPV6)
    if address.is_private or not address.is_global or reserved:
        return "a private or reserved address"
    return None
