"""Every declared provider has its client: adding a provider without one fails here."""

from gql_telephony.domain.providers import PROVIDERS
from gql_telephony.outbound.clients import CLIENTS


def test_every_provider_has_a_client():
    assert set(CLIENTS) == set(PROVIDERS)
