import ipaddress

import pytest

from gql_telephony.domain.addresses import refusal_of


@pytest.mark.parametrize(("address", "rule"), [
    ("127.0.0.1", "loopback"), ("127.8.9.1", "loopback"), ("::1", "loopback"),
    ("::ffff:127.0.0.1", "loopback"), ("10.1.2.3", "private"), ("172.16.0.9", "private"),
    ("192.168.1.1", "private"), ("fc00::1", "private"), ("169.254.169.254", "metadata"),
    ("fe80::1", "link-local"), ("100.100.100.200", "metadata"), ("fd00:ec2::254", "metadata"),
    ("0.0.0.0", "unspecified"), ("100.64.0.1", "reserved"), ("224.0.0.1", "multicast"),
    # IPv6 addresses that lead to an IPv4 host are judged by that host: NAT64, 6to4.
    ("64:ff9b::7f00:1", "loopback"), ("64:ff9b::10.0.0.1", "private"), ("64:ff9b::169.254.169.254", "metadata"),
    ("2002:7f00:1::1", "loopback"), ("2002:c0a8:101::1", "private"),
    # Local-use NAT64 and IPv4-compatible addresses lead who knows where.
    ("64:ff9b:1::a00:1", "reserved"), ("64:ff9b:1::808:808", "reserved"), ("::127.0.0.1", "reserved"),
    ("::8.8.8.8", "reserved"),
])
def test_addresses_a_tenant_may_not_reach(address, rule):
    assert rule in refusal_of(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", [
    "8.8.8.8", "2606:4700:4700::1111", "52.1.2.3",
    "64:ff9b::8.8.8.8", "2002:808:808::1",  # a public IPv4 host reached over NAT64 or 6to4
])
def test_public_addresses_are_allowed(address):
    assert refusal_of(ipaddress.ip_address(address)) is None
