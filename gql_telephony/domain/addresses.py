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


def refusal_of(address: IPAddress) -> str | None:
    """Why the server must not connect to this address (a rule people can read), or None."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address in _METADATA or (address.is_link_local and not address.is_multicast):
        return "a link-local or cloud metadata address"
    if address.is_loopback:
        return "a loopback address"
    if address.is_unspecified:
        return "an unspecified address"
    if address.is_multicast:
        return "a multicast address"
    if address.is_private or not address.is_global:
        return "a private or reserved address"
    return None
