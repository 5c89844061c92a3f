"""The nine provider declarations against the contract's Providers table (Exotel as its issue declares it)."""

from __future__ import annotations

import pytest

from gql_telephony.domain.providers import PROVIDERS, Connectivity, FieldType, ProviderKey

PASSWORD, TEXTAREA, BOOLEAN, URL, TEXT = (
    FieldType.PASSWORD, FieldType.TEXTAREA, FieldType.BOOLEAN, FieldType.URL, FieldType.TEXT,
)

# provider -> ([required keys], [optional keys]) as the contract's table lists them, in order.
TABLE: dict[ProviderKey, tuple[list[str], list[str]]] = {
    ProviderKey.TELNYX: (["api_key"], ["connection_id", "webhook_public_key"]),
    ProviderKey.TWILIO: (["account_sid", "auth_token"], ["amd_enabled"]),
    ProviderKey.VONAGE: (["application_id", "private_key", "api_key", "api_secret"], ["signature_secret"]),
    ProviderKey.PLIVO: (["auth_id", "auth_token"], ["application_id"]),
    ProviderKey.CLOUDONIX: (["bearer_token", "domain_id"], ["application_name"]),
    ProviderKey.VOBIZ: (["auth_id", "auth_token"], ["application_id"]),
    ProviderKey.SIGNALWIRE: (["project_id", "api_token", "space_url"], []),
    ProviderKey.ARI: (["ari_endpoint", "app_name", "app_password"], ["ws_client_name"]),
    ProviderKey.EXOTEL: (["api_key", "api_token", "account_sid"], ["subdomain", "app_id"]),
}

SECRETS: dict[ProviderKey, set[str]] = {
    ProviderKey.TELNYX: {"api_key"},
    ProviderKey.TWILIO: {"account_sid", "auth_token"},
    ProviderKey.VONAGE: {"private_key", "api_key", "api_secret", "signature_secret"},
    ProviderKey.PLIVO: {"auth_id", "auth_token"},
    ProviderKey.CLOUDONIX: {"bearer_token"},
    ProviderKey.VOBIZ: {"auth_id", "auth_token"},
    ProviderKey.SIGNALWIRE: {"api_token"},
    ProviderKey.ARI: {"app_password"},
    ProviderKey.EXOTEL: {"api_token"},
}

# Every field whose type is not TEXT (a one-line secret is PASSWORD, a multi-line one TEXTAREA).
TYPES: dict[tuple[ProviderKey, str], FieldType] = {
    (ProviderKey.TELNYX, "api_key"): PASSWORD,
    (ProviderKey.TWILIO, "account_sid"): PASSWORD,
    (ProviderKey.TWILIO, "auth_token"): PASSWORD,
    (ProviderKey.TWILIO, "amd_enabled"): BOOLEAN,
    (ProviderKey.VONAGE, "private_key"): TEXTAREA,
    (ProviderKey.VONAGE, "api_key"): PASSWORD,
    (ProviderKey.VONAGE, "api_secret"): PASSWORD,
    (ProviderKey.VONAGE, "signature_secret"): PASSWORD,
    (ProviderKey.PLIVO, "auth_id"): PASSWORD,
    (ProviderKey.PLIVO, "auth_token"): PASSWORD,
    (ProviderKey.CLOUDONIX, "bearer_token"): PASSWORD,
    (ProviderKey.VOBIZ, "auth_id"): PASSWORD,
    (ProviderKey.VOBIZ, "auth_token"): PASSWORD,
    (ProviderKey.SIGNALWIRE, "api_token"): PASSWORD,
    (ProviderKey.ARI, "ari_endpoint"): URL,
    (ProviderKey.ARI, "app_password"): PASSWORD,
    (ProviderKey.EXOTEL, "api_token"): PASSWORD,
}

NOTES = {
    ProviderKey.TELNYX: "Recommended for high volume",
    ProviderKey.TWILIO: "Widest geographic coverage",
    ProviderKey.VONAGE: "Strong European coverage",
    ProviderKey.PLIVO: "Cost-effective option",
    ProviderKey.CLOUDONIX: "Enterprise SIP",
    ProviderKey.VOBIZ: "Regional provider",
    ProviderKey.SIGNALWIRE: "Twilio-compatible API",
    ProviderKey.ARI: "Self-hosted Asterisk",
    ProviderKey.EXOTEL: "Strong Indian coverage",
}


def test_all_nine_providers_are_declared_in_schema_order() -> None:
    assert list(PROVIDERS) == [
        ProviderKey.TELNYX, ProviderKey.TWILIO, ProviderKey.VONAGE, ProviderKey.PLIVO,
        ProviderKey.CLOUDONIX, ProviderKey.VOBIZ, ProviderKey.SIGNALWIRE, ProviderKey.ARI, ProviderKey.EXOTEL,
    ]
    assert all(PROVIDERS[key].key is key for key in PROVIDERS)


@pytest.mark.parametrize("key", list(ProviderKey), ids=lambda k: k.value)
def test_required_and_optional_fields_match_the_table(key: ProviderKey) -> None:
    required, optional = TABLE[key]
    fields = PROVIDERS[key].fields
    assert [f.key for f in fields if f.required] == required
    assert [f.key for f in fields if not f.required] == optional
    assert len({f.key for f in fields}) == len(fields), "a key declared twice"


@pytest.mark.parametrize("key", list(ProviderKey), ids=lambda k: k.value)
def test_secret_fields_match_the_table(key: ProviderKey) -> None:
    assert {f.key for f in PROVIDERS[key].fields if f.secret} == SECRETS[key]


@pytest.mark.parametrize("key", list(ProviderKey), ids=lambda k: k.value)
def test_field_types(key: ProviderKey) -> None:
    for spec in PROVIDERS[key].fields:
        assert spec.type is TYPES.get((key, spec.key), TEXT), spec.key


def test_every_secret_is_a_password_or_textarea_and_no_plain_field_is() -> None:
    for provider in PROVIDERS.values():
        for spec in provider.fields:
            assert spec.secret == (spec.type in (PASSWORD, TEXTAREA)), (provider.key, spec.key)


def test_only_twilio_amd_enabled_and_the_exotel_host_have_defaults() -> None:
    defaults = {
        (provider.key, spec.key): spec.default
        for provider in PROVIDERS.values() for spec in provider.fields if spec.default is not None
    }
    assert defaults == {(ProviderKey.TWILIO, "amd_enabled"): False, (ProviderKey.EXOTEL, "subdomain"): "api.exotel.com"}
    assert defaults[(ProviderKey.TWILIO, "amd_enabled")] is False  # a boolean, not 0


@pytest.mark.parametrize("key", list(ProviderKey), ids=lambda k: k.value)
def test_notes(key: ProviderKey) -> None:
    assert PROVIDERS[key].notes == NOTES[key]


def test_connectivity_is_sip_for_cloudonix_and_ari_only() -> None:
    sip = {key for key, provider in PROVIDERS.items() if provider.connectivity is Connectivity.SIP}
    assert sip == {ProviderKey.CLOUDONIX, ProviderKey.ARI}
    assert all(p.connectivity is Connectivity.API for k, p in PROVIDERS.items() if k not in sip)


def test_every_field_has_a_label_and_every_checked_field_a_description() -> None:
    # The contract: "the checks the field's description names". A check with no description
    # would be a rule the dashboard form cannot show.
    for provider in PROVIDERS.values():
        assert provider.name.strip()
        for spec in provider.fields:
            assert spec.label.strip(), (provider.key, spec.key)
            if spec.check is not None:
                assert spec.description, (provider.key, spec.key)


@pytest.mark.parametrize(
    ("key", "field"),
    [
        (ProviderKey.TWILIO, "account_sid"),
        (ProviderKey.VONAGE, "application_id"),
        (ProviderKey.SIGNALWIRE, "project_id"),
        (ProviderKey.SIGNALWIRE, "space_url"),
        (ProviderKey.CLOUDONIX, "domain_id"),
        (ProviderKey.ARI, "ari_endpoint"),
    ],
)
def test_fields_the_contract_names_a_check_for_have_one(key: ProviderKey, field: str) -> None:
    spec = PROVIDERS[key].field(field)
    assert spec is not None and spec.check is not None


def test_field_lookup() -> None:
    twilio = PROVIDERS[ProviderKey.TWILIO]
    spec = twilio.field("auth_token")
    assert spec is not None and spec.key == "auth_token"
    assert twilio.field("api_key") is None
    assert twilio.field("") is None
