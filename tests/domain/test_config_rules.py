"""apply_config (create and merge-on-update), mask and present_config."""

from __future__ import annotations

from typing import Any

import pytest

from gql_telephony.domain.config_rules import (
    CUT_MARK,
    MAX_KEY_SHOWN,
    MAX_UNKNOWN_KEYS_SHOWN,
    MAX_VALUE_LENGTH,
    StoredConfig,
    apply_config,
    mask,
    present_config,
    shown_key,
)
from gql_telephony.domain.errors import ErrorCode, UserError, UserErrors
from gql_telephony.domain.providers import PROVIDERS, FieldType, ProviderKey

UUID = "0f8fad5b-d9cb-469f-a165-70867728950e"
PEM = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----"
SID = "AC" + "0123456789abcdef" * 2

# A valid config per provider, every field filled in.
FULL: dict[ProviderKey, dict[str, Any]] = {
    ProviderKey.TELNYX: {"api_key": "KEY0123456789SECRET", "connection_id": "conn-1", "webhook_public_key": "pubkey=="},
    ProviderKey.TWILIO: {"account_sid": SID, "auth_token": "f" * 32, "amd_enabled": True},
    ProviderKey.VONAGE: {"application_id": UUID, "private_key": PEM, "api_key": "vonage-key-1",
                         "api_secret": "vonage-secret-123", "signature_secret": "sig-secret-0123"},
    ProviderKey.PLIVO: {"auth_id": "MAXXXXXXXXXXXXXXXXXX", "auth_token": "plivo-token-0123456789", "application_id": "app-1"},
    ProviderKey.CLOUDONIX: {"bearer_token": "XI-0123456789abcdef", "domain_id": "acme.cloudonix.net", "application_name": "voice"},
    ProviderKey.VOBIZ: {"auth_id": "vobiz-id-001", "auth_token": "vobiz-token-0123456789", "application_id": "app-2"},
    ProviderKey.SIGNALWIRE: {"project_id": UUID, "api_token": "PT0123456789abcdef", "space_url": "example.signalwire.com"},
    ProviderKey.ARI: {"ari_endpoint": "https://pbx.example.com:8089", "app_name": "voice-ai",
                      "app_password": "ari-password-123", "ws_client_name": "client-1"},
    ProviderKey.EXOTEL: {"api_key": "exotel-key-01", "api_token": "exotel-token-0123456789", "account_sid": "acme1",
                         "subdomain": "api.in.exotel.com", "app_id": "31337"},
}

ALL = list(ProviderKey)
IDS = [k.value for k in ALL]


def required_only(key: ProviderKey) -> dict[str, Any]:
    return {k: v for k, v in FULL[key].items() if PROVIDERS[key].field(k).required}  # type: ignore[union-attr]  # every key of FULL is a field of its provider


def errors_of(key: ProviderKey, given: object, current: StoredConfig | None = None) -> list[UserError]:
    with pytest.raises(UserErrors) as caught:
        apply_config(PROVIDERS[key], given, current)
    assert caught.value.errors, "UserErrors raised with no error"
    return caught.value.errors


def one_error(key: ProviderKey, given: object, current: StoredConfig | None = None) -> UserError:
    errors = errors_of(key, given, current)
    assert len(errors) == 1, errors
    return errors[0]


def path(key: str) -> tuple[str, ...]:
    return ("input", "config", key)


def stored(key: ProviderKey, config: dict[str, Any] | None = None) -> StoredConfig:
    return apply_config(PROVIDERS[key], FULL[key] if config is None else config)


def values(result: StoredConfig) -> dict[str, object]:
    return {**result.settings, **result.secrets}


# --- create -------------------------------------------------------------------------------

@pytest.mark.parametrize("key", ALL, ids=IDS)
def test_full_valid_config_is_accepted_and_split_into_settings_and_secrets(key: ProviderKey) -> None:
    result = stored(key)
    secret_keys = {f.key for f in PROVIDERS[key].fields if f.secret}
    assert set(result.secrets) == secret_keys & set(FULL[key])
    assert set(result.settings) == set(FULL[key]) - secret_keys
    assert set(result.secrets).isdisjoint(result.settings)


@pytest.mark.parametrize("key", ALL, ids=IDS)
def test_required_fields_alone_are_enough(key: ProviderKey) -> None:
    result = apply_config(PROVIDERS[key], required_only(key))
    assert set(values(result)) == set(required_only(key))


@pytest.mark.parametrize(
    ("key", "field"),
    [(k, f.key) for k in ALL for f in PROVIDERS[k].fields if f.required],
    ids=lambda v: getattr(v, "value", v),
)
@pytest.mark.parametrize("how", ["missing", "null", "empty", "blank"])
def test_each_required_field_missing_or_empty_is_required(key: ProviderKey, field: str, how: str) -> None:
    config = dict(required_only(key))
    if how == "missing":
        del config[field]
    else:
        config[field] = {"null": None, "empty": "", "blank": "  \n "}[how]
    error = one_error(key, config)
    assert error.field == path(field)
    assert error.code is ErrorCode.REQUIRED


def test_an_empty_config_names_every_required_field() -> None:
    errors = errors_of(ProviderKey.VONAGE, {})
    assert [(e.field, e.code) for e in errors] == [
        (path(k), ErrorCode.REQUIRED) for k in ("application_id", "private_key", "api_key", "api_secret")
    ]


@pytest.mark.parametrize("given", [None, [], "api_key=x", 3])
def test_config_must_be_an_object(given: object) -> None:
    error = one_error(ProviderKey.TELNYX, given)
    assert error.field == ("input", "config")
    assert error.code is ErrorCode.INVALID


def test_unknown_key_is_invalid() -> None:
    error = one_error(ProviderKey.TELNYX, {**FULL[ProviderKey.TELNYX], "account_sid": SID})
    assert (error.field, error.code) == (path("account_sid"), ErrorCode.INVALID)


def test_unknown_key_with_null_value_is_still_invalid() -> None:
    error = one_error(ProviderKey.TELNYX, {**FULL[ProviderKey.TELNYX], "nope": None})
    assert (error.field, error.code) == (path("nope"), ErrorCode.INVALID)


def test_keys_are_case_sensitive() -> None:
    error = one_error(ProviderKey.TELNYX, {"api_key": "KEY0123456789SECRET", "API_KEY": "KEY0123456789SECRET"})
    assert (error.field, error.code) == (path("API_KEY"), ErrorCode.INVALID)


@pytest.mark.parametrize("value", ["true", "false", 1, 0, "", []])
def test_boolean_field_takes_booleans_only(value: object) -> None:
    error = one_error(ProviderKey.TWILIO, {**FULL[ProviderKey.TWILIO], "amd_enabled": value})
    assert (error.field, error.code) == (path("amd_enabled"), ErrorCode.INVALID)


@pytest.mark.parametrize("flag", [True, False])
def test_boolean_field_stores_the_boolean(flag: bool) -> None:
    result = stored(ProviderKey.TWILIO, {**FULL[ProviderKey.TWILIO], "amd_enabled": flag})
    assert result.settings["amd_enabled"] is flag


@pytest.mark.parametrize("value", [True, 12, 1.5, ["a"], {"a": "b"}])
@pytest.mark.parametrize("field", ["api_key", "connection_id"])
def test_text_and_secret_fields_take_strings_only(field: str, value: object) -> None:
    error = one_error(ProviderKey.TELNYX, {**FULL[ProviderKey.TELNYX], field: value})
    assert (error.field, error.code) == (path(field), ErrorCode.INVALID)


@pytest.mark.parametrize("field", ["api_key", "connection_id", "webhook_public_key"])
def test_string_length_limit(field: str) -> None:
    at_limit = {**FULL[ProviderKey.TELNYX], field: "k" * MAX_VALUE_LENGTH}
    assert values(stored(ProviderKey.TELNYX, at_limit))[field] == "k" * MAX_VALUE_LENGTH
    error = one_error(ProviderKey.TELNYX, {**FULL[ProviderKey.TELNYX], field: "k" * (MAX_VALUE_LENGTH + 1)})
    assert (error.field, error.code) == (path(field), ErrorCode.TOO_LONG)
    assert MAX_VALUE_LENGTH == 8192


def test_values_are_trimmed() -> None:
    result = stored(ProviderKey.TELNYX, {"api_key": "  KEY0123456789SECRET\n", "connection_id": " conn-1 "})
    assert result.secrets == {"api_key": "KEY0123456789SECRET"}
    assert result.settings == {"connection_id": "conn-1"}


def test_optional_field_given_empty_or_null_is_simply_absent() -> None:
    result = stored(ProviderKey.TELNYX, {"api_key": "KEY0123456789SECRET", "connection_id": "", "webhook_public_key": None})
    assert values(result) == {"api_key": "KEY0123456789SECRET"}


# --- checks named by field descriptions ------------------------------------------------------

@pytest.mark.parametrize(
    ("key", "field", "bad"),
    [
        (ProviderKey.TWILIO, "account_sid", "AC123"),
        (ProviderKey.TWILIO, "account_sid", "SK" + "0" * 32),
        (ProviderKey.TWILIO, "auth_token", "not-hex"),
        (ProviderKey.VONAGE, "application_id", "app-1"),
        (ProviderKey.VONAGE, "private_key", "just text"),
        (ProviderKey.SIGNALWIRE, "project_id", "12345"),
        (ProviderKey.SIGNALWIRE, "space_url", "http://example.signalwire.com"),
        (ProviderKey.SIGNALWIRE, "space_url", "not a host"),
        (ProviderKey.CLOUDONIX, "domain_id", "acme corp"),
        (ProviderKey.ARI, "ari_endpoint", "pbx.example.com:8089"),
        (ProviderKey.ARI, "ari_endpoint", "ftp://pbx.example.com"),
    ],
)
def test_field_checks_refuse_with_invalid_at_the_key(key: ProviderKey, field: str, bad: str) -> None:
    error = one_error(key, {**FULL[key], field: bad})
    assert (error.field, error.code) == (path(field), ErrorCode.INVALID)
    assert bad not in error.message  # a refused value (maybe a secret) is never echoed


@pytest.mark.parametrize(
    ("key", "field", "given", "kept"),
    [
        (ProviderKey.CLOUDONIX, "domain_id", "Acme", "acme.cloudonix.net"),
        (ProviderKey.CLOUDONIX, "domain_id", "Voice.Acme.COM.", "voice.acme.com"),
        (ProviderKey.SIGNALWIRE, "space_url", "https://Example.signalwire.com/", "example.signalwire.com"),
        (ProviderKey.SIGNALWIRE, "project_id", UUID.upper(), UUID),
        (ProviderKey.VONAGE, "application_id", f" {UUID} ", UUID),
        (ProviderKey.TWILIO, "account_sid", f" {SID} ", SID),
    ],
)
def test_field_checks_normalize(key: ProviderKey, field: str, given: str, kept: str) -> None:
    assert values(stored(key, {**FULL[key], field: given}))[field] == kept


def test_all_errors_come_back_together_each_with_its_path() -> None:
    errors = errors_of(ProviderKey.TWILIO, {"account_sid": "bad", "amd_enabled": "yes", "extra": "x"})
    assert {(e.field, e.code) for e in errors} == {
        (path("account_sid"), ErrorCode.INVALID),
        (path("amd_enabled"), ErrorCode.INVALID),
        (path("extra"), ErrorCode.INVALID),
        (path("auth_token"), ErrorCode.REQUIRED),
    }
    assert all(e.message for e in errors)


def test_a_refused_required_field_is_not_also_reported_required() -> None:
    error = one_error(ProviderKey.TWILIO, {**FULL[ProviderKey.TWILIO], "account_sid": 5})
    assert (error.field, error.code) == (path("account_sid"), ErrorCode.INVALID)


def test_error_messages_never_hold_the_values_given() -> None:
    secret = "s3cr3t-VALUE-never-echoed"
    errors = errors_of(
        ProviderKey.TWILIO, {"account_sid": secret, "auth_token": secret, "amd_enabled": secret, "other": secret}
    )
    assert len(errors) == 4
    for error in errors:
        assert secret not in error.message


# --- masks --------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("secret", "masked"),
    [
        ("", ""),
        ("a", "*"),
        ("abcd", "****"),
        ("abcdefghijk", "*" * 11),            # 11 characters: all hidden
        ("abcdefghijkl", "********ijkl"),     # 12: last 4 kept
        ("KEY0123456789SECRET", "*" * 15 + "CRET"),
    ],
)
def test_mask(secret: str, masked: str) -> None:
    assert mask(secret) == masked
    assert len(mask(secret)) == len(secret)


def test_mask_of_a_multi_line_secret_keeps_its_length() -> None:
    assert mask(PEM) == "*" * (len(PEM) - 4) + PEM[-4:]


@pytest.mark.parametrize("key", [k for k in ALL if any(f.secret for f in PROVIDERS[k].fields)], ids=lambda k: k.value)
def test_a_mask_is_refused_on_create(key: ProviderKey) -> None:
    spec = next(f for f in PROVIDERS[key].fields if f.secret)
    for masked in ["****", "****1234", "*" * 20, "  ****abcd  ", mask(str(FULL[key][spec.key]))]:
        error = one_error(key, {**FULL[key], spec.key: masked})
        assert (error.field, error.code) == (path(spec.key), ErrorCode.INVALID)


def test_four_stars_are_fine_in_a_plain_field() -> None:
    result = stored(ProviderKey.TELNYX, {**FULL[ProviderKey.TELNYX], "connection_id": "****1234"})
    assert result.settings["connection_id"] == "****1234"


# --- update: merge --------------------------------------------------------------------------

def test_update_with_nothing_given_keeps_everything() -> None:
    current = stored(ProviderKey.VONAGE)
    assert apply_config(PROVIDERS[ProviderKey.VONAGE], {}, current) == current


def test_update_key_given_sets_it_and_others_are_unchanged() -> None:
    current = stored(ProviderKey.TELNYX)
    result = apply_config(PROVIDERS[ProviderKey.TELNYX], {"connection_id": "conn-2", "api_key": "NEWKEY-0123456789"}, current)
    assert result.settings == {"connection_id": "conn-2", "webhook_public_key": "pubkey=="}
    assert result.secrets == {"api_key": "NEWKEY-0123456789"}


def test_update_does_not_mutate_the_current_config() -> None:
    current = stored(ProviderKey.TELNYX)
    before = (dict(current.settings), dict(current.secrets))
    apply_config(PROVIDERS[ProviderKey.TELNYX], {"connection_id": None, "api_key": "NEWKEY-0123456789"}, current)
    assert (current.settings, current.secrets) == before


@pytest.mark.parametrize("cleared", [None, "", "   "])
def test_update_null_or_empty_clears_an_optional_field(cleared: object) -> None:
    current = stored(ProviderKey.VONAGE)
    result = apply_config(PROVIDERS[ProviderKey.VONAGE], {"signature_secret": cleared}, current)
    assert "signature_secret" not in result.secrets
    assert set(result.secrets) == {"private_key", "api_key", "api_secret"}


def test_update_null_clears_an_optional_boolean_back_to_its_default() -> None:
    provider = PROVIDERS[ProviderKey.TWILIO]
    result = apply_config(provider, {"amd_enabled": None}, stored(ProviderKey.TWILIO))
    assert "amd_enabled" not in result.settings
    assert present_config(provider, result)["amd_enabled"] is False


@pytest.mark.parametrize(
    ("key", "field"),
    [(k, f.key) for k in ALL for f in PROVIDERS[k].fields if f.required],
    ids=lambda v: getattr(v, "value", v),
)
def test_update_null_on_a_required_field_is_required(key: ProviderKey, field: str) -> None:
    error = one_error(key, {field: None}, stored(key))
    assert (error.field, error.code) == (path(field), ErrorCode.REQUIRED)


def test_update_unknown_key_is_invalid() -> None:
    error = one_error(ProviderKey.PLIVO, {"api_key": "x"}, stored(ProviderKey.PLIVO))
    assert (error.field, error.code) == (path("api_key"), ErrorCode.INVALID)


def test_update_runs_the_same_checks_and_limits_as_create() -> None:
    current = stored(ProviderKey.TWILIO)
    assert one_error(ProviderKey.TWILIO, {"account_sid": "AC1"}, current).code is ErrorCode.INVALID
    assert one_error(ProviderKey.TWILIO, {"amd_enabled": "true"}, current).code is ErrorCode.INVALID
    assert one_error(ProviderKey.TWILIO, {"auth_token": 1}, current).code is ErrorCode.INVALID
    too_long = one_error(ProviderKey.TWILIO, {"auth_token": "f" * (MAX_VALUE_LENGTH + 1)}, current)
    assert (too_long.field, too_long.code) == (path("auth_token"), ErrorCode.TOO_LONG)


# --- update: secrets and their masks --------------------------------------------------------

@pytest.mark.parametrize("key", [k for k in ALL if any(f.secret for f in PROVIDERS[k].fields)], ids=lambda k: k.value)
def test_update_with_every_secret_sent_back_as_its_mask_keeps_them_all(key: ProviderKey) -> None:
    current = stored(key)
    shown = present_config(PROVIDERS[key], current)
    result = apply_config(PROVIDERS[key], shown, current)  # the whole form sent back unchanged
    assert result == current


@pytest.mark.parametrize("secret", ["short", "exactly12chr", "KEY0123456789SECRET"])
def test_update_mask_sent_back_keeps_the_stored_secret(secret: str) -> None:
    current = stored(ProviderKey.TELNYX, {"api_key": secret})
    result = apply_config(PROVIDERS[ProviderKey.TELNYX], {"api_key": mask(secret)}, current)
    assert result.secrets["api_key"] == secret


def test_update_mask_sent_back_with_surrounding_spaces_keeps_the_stored_secret() -> None:
    current = stored(ProviderKey.TELNYX)
    result = apply_config(PROVIDERS[ProviderKey.TELNYX], {"api_key": f" {mask('KEY0123456789SECRET')} "}, current)
    assert result.secrets["api_key"] == "KEY0123456789SECRET"


@pytest.mark.parametrize(
    "other",
    [
        "****",
        "*" * 15 + "XXXX",                   # same length, other last 4
        "*" * 16 + "CRET",                   # one longer
        "****CRET",
        " " + "*" * 14 + "ECRET",
    ],
)
def test_update_any_other_star_value_is_invalid(other: str) -> None:
    current = stored(ProviderKey.TELNYX)
    error = one_error(ProviderKey.TELNYX, {"api_key": other}, current)
    assert (error.field, error.code) == (path("api_key"), ErrorCode.INVALID)


def test_update_mask_of_an_unset_optional_secret_is_invalid() -> None:
    current = stored(ProviderKey.VONAGE, required_only(ProviderKey.VONAGE))
    error = one_error(ProviderKey.VONAGE, {"signature_secret": "*" * 15}, current)
    assert (error.field, error.code) == (path("signature_secret"), ErrorCode.INVALID)


def test_update_mask_of_another_fields_secret_is_invalid() -> None:
    current = stored(ProviderKey.VONAGE)
    api_secret_mask = mask(FULL[ProviderKey.VONAGE]["api_secret"])
    assert api_secret_mask != mask(FULL[ProviderKey.VONAGE]["api_key"])
    error = one_error(ProviderKey.VONAGE, {"api_key": api_secret_mask}, current)
    assert (error.field, error.code) == (path("api_key"), ErrorCode.INVALID)


def test_update_a_kept_secret_is_not_rechecked_but_a_new_one_is() -> None:
    provider = PROVIDERS[ProviderKey.TWILIO]
    # Stored before today's check existed: sending its mask back must still keep it.
    legacy = StoredConfig(settings={}, secrets={"account_sid": "legacy-sid-value", "auth_token": "f" * 32})
    result = apply_config(provider, {"account_sid": mask("legacy-sid-value"), "amd_enabled": True}, legacy)
    assert result.secrets["account_sid"] == "legacy-sid-value"
    assert one_error(ProviderKey.TWILIO, {"account_sid": "legacy-sid-value2"}, legacy).code is ErrorCode.INVALID


def test_update_a_secret_given_in_clear_replaces_it() -> None:
    current = stored(ProviderKey.ARI)
    result = apply_config(PROVIDERS[ProviderKey.ARI], {"app_password": "new-password-456"}, current)
    assert result.secrets["app_password"] == "new-password-456"
    assert result.settings == current.settings


# --- present_config -------------------------------------------------------------------------

@pytest.mark.parametrize("key", ALL, ids=IDS)
def test_present_masks_every_secret_and_shows_the_rest(key: ProviderKey) -> None:
    provider = PROVIDERS[key]
    result = stored(key)
    shown = present_config(provider, result)
    assert list(shown) == [f.key for f in provider.fields if f.key in shown]  # declared order
    for spec in provider.fields:
        if spec.secret:
            assert shown[spec.key] == mask(result.secrets[spec.key])
            assert shown[spec.key] != result.secrets[spec.key]
        else:
            assert shown[spec.key] == result.settings[spec.key]


def test_present_shows_defaults_for_what_was_never_given() -> None:
    provider = PROVIDERS[ProviderKey.TWILIO]
    shown = present_config(provider, apply_config(provider, required_only(ProviderKey.TWILIO)))
    assert shown["amd_enabled"] is False
    assert [f.type for f in provider.fields if f.key == "amd_enabled"] == [FieldType.BOOLEAN]


def test_present_shows_a_given_value_over_the_default() -> None:
    provider = PROVIDERS[ProviderKey.TWILIO]
    shown = present_config(provider, stored(ProviderKey.TWILIO))
    assert shown["amd_enabled"] is True


def test_present_leaves_out_optional_fields_without_default_that_were_never_given() -> None:
    provider = PROVIDERS[ProviderKey.TELNYX]
    shown = present_config(provider, apply_config(provider, {"api_key": "KEY0123456789SECRET"}))
    assert shown == {"api_key": "*" * 15 + "CRET"}


def test_a_url_the_parser_refuses_is_not_quoted_in_the_error():
    given = {"ari_endpoint": "https://admin:hunter2\uff03x@pbx.example.com", "app_name": "a", "app_password": "p" * 12}
    with pytest.raises(UserErrors) as refused:
        apply_config(PROVIDERS[ProviderKey.ARI], given)
    [error] = refused.value.errors
    assert error.field == ("input", "config", "ari_endpoint") and "hunter2" not in error.message


def test_a_secret_field_is_masked_even_if_its_value_sits_among_the_settings():
    stored = StoredConfig(settings={"api_key": "KEY0123456789abcd", "connection_id": "conn-1"}, secrets={})
    shown = present_config(PROVIDERS[ProviderKey.TELNYX], stored)
    assert shown == {"api_key": "*************abcd", "connection_id": "conn-1"}


# Text a database cannot store alike on SQLite and PostgreSQL (NUL, an unpaired surrogate
# from a "\ud800" escape) is refused in every value, secret or not; a PEM key keeps its lines.
@pytest.mark.parametrize("bad", ["\x00", "\ud800", "\udc00", "\x1b[31m", "\u202e"])
@pytest.mark.parametrize("field", ["app_name", "app_password"])
def test_values_that_cannot_be_stored_as_text_are_invalid(bad: str, field: str) -> None:
    error = one_error(ProviderKey.ARI, {**FULL[ProviderKey.ARI], field: f"voice{bad}ai-123456"})
    assert (error.field, error.code) == (path(field), ErrorCode.INVALID)
    assert bad not in error.message


def test_multiline_values_keep_their_line_breaks_and_tabs() -> None:
    pem = PEM.replace("\n", "\r\n") + "\n\t"
    assert stored(ProviderKey.VONAGE, {**FULL[ProviderKey.VONAGE], "private_key": pem}).secrets["private_key"] == pem.strip()


def test_an_unknown_key_is_shown_cut_to_the_longest_declared_key() -> None:
    longest = max(len(spec.key) for provider in PROVIDERS.values() for spec in provider.fields)
    assert MAX_KEY_SHOWN == longest
    error = one_error(ProviderKey.TELNYX, {**FULL[ProviderKey.TELNYX], "k" * 100_000: "x"})
    assert error.field == path("k" * longest + CUT_MARK)
    assert one_error(ProviderKey.TELNYX, {**FULL[ProviderKey.TELNYX], "k" * longest: "x"}).field == path("k" * longest)


@pytest.mark.parametrize(("key", "shown"), [
    ("a\ud800b", "a\ufffdb"), ("a\x00b", "a\ufffdb"), ("a\u202eb", "a\ufffdb"), ("a\u200bb", "a\ufffdb"), ("n\u00e9", "n\u00e9"),
])
def test_an_unknown_key_is_shown_without_what_cannot_be_shown(key: str, shown: str) -> None:
    assert shown_key(key) == shown
    assert one_error(ProviderKey.TELNYX, {**FULL[ProviderKey.TELNYX], key: "x"}).field == path(shown)


def test_unknown_keys_are_listed_up_to_a_limit() -> None:
    errors = errors_of(ProviderKey.TELNYX, {**FULL[ProviderKey.TELNYX], **{f"k{index}": 1 for index in range(5000)}})
    assert [e.field for e in errors[:MAX_UNKNOWN_KEYS_SHOWN]] == [path(f"k{index}") for index in range(MAX_UNKNOWN_KEYS_SHOWN)]
    assert [(e.field, e.code) for e in errors[MAX_UNKNOWN_KEYS_SHOWN:]] == [(("input", "config"), ErrorCode.INVALID)]
    assert str(5000 - MAX_UNKNOWN_KEYS_SHOWN) in errors[-1].message


def test_unknown_keys_shown_alike_are_listed_once() -> None:
    errors = errors_of(ProviderKey.TELNYX, {**FULL[ProviderKey.TELNYX], "x" * 30 + "1": 1, "x" * 30 + "2": 1})
    assert [e.field for e in errors] == [path("x" * MAX_KEY_SHOWN + CUT_MARK)]
