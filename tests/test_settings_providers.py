"""The settings of provider calls: API origins per provider, private hosts, the re-check
interval and the per-attempt timeout; refused values stop the process with a message that names
the variable and never repeats a value that could hold a password."""

from __future__ import annotations

import pytest

from gql_telephony.domain.providers import ProviderKey
from gql_telephony.outbound.http import ProviderHttp
from gql_telephony.settings import Settings, SettingsError

ORIGIN = "GQL_TELEPHONY_PROVIDER_API_"


def test_the_defaults():
    settings = Settings.from_env({})
    assert settings.provider_api_origins == {}
    assert settings.allow_private_provider_hosts is False
    assert settings.provider_check_interval == 21600
    assert settings.provider_timeout == 10.0


def test_an_origin_per_provider():
    settings = Settings.from_env({
        f"{ORIGIN}TWILIO": "http://127.0.0.1:8081",
        f"{ORIGIN}EXOTEL": " https://api.in.exotel.com/v1/ ",
        f"{ORIGIN}TELNYX": "http://[::1]:9000/prefix",
        f"{ORIGIN}PLIVO": "",  # set but empty: as if unset
    })
    assert settings.provider_api_origins == {
        "TWILIO": "http://127.0.0.1:8081", "EXOTEL": "https://api.in.exotel.com/v1/", "TELNYX": "http://[::1]:9000/prefix",
    }


def test_every_provider_may_have_an_origin():
    environ = {f"{ORIGIN}{key.value}": f"https://{key.value.lower()}.example" for key in ProviderKey}
    assert set(Settings.from_env(environ).provider_api_origins) == {key.value for key in ProviderKey}


@pytest.mark.parametrize("bad", [
    "https://user:hunter2@api.example.com",
    "https://api.example.com/?token=hunter2",
    "https://api.example.com/#hunter2",
    "ftp://hunter2.example",
    "hunter2.example",
    "https://",
    "https://hunter2.example:99999",
    "https://hunter2.example:port",
    "https://hunter2.example:",
    "https://hunter2.example/a path",
    "https://hunter2.exámple",
])
def test_a_malformed_origin_is_refused_without_its_value(bad):
    with pytest.raises(SettingsError, match=f"{ORIGIN}TWILIO must be an http:// or https:// origin") as refused:
        Settings.from_env({f"{ORIGIN}TWILIO": bad})
    assert "hunter2" not in str(refused.value)


def test_an_origin_for_no_provider_is_refused():
    with pytest.raises(SettingsError, match=f"{ORIGIN}TWILLIO names no provider.*TWILIO") as refused:
        Settings.from_env({f"{ORIGIN}TWILLIO": "https://user:hunter2@api.example.com"})
    assert "hunter2" not in str(refused.value)
    with pytest.raises(SettingsError, match=f"{ORIGIN}twilio names no provider"):
        Settings.from_env({f"{ORIGIN}twilio": "https://api.example.com"})


@pytest.mark.parametrize(("raw", "expected"), [("1", True), ("true", True), ("on", True), ("0", False), ("off", False)])
def test_private_provider_hosts_switch(raw, expected):
    assert Settings.from_env({"GQL_TELEPHONY_ALLOW_PRIVATE_PROVIDER_HOSTS": raw}).allow_private_provider_hosts is expected


def test_private_provider_hosts_refuses_anything_else():
    with pytest.raises(SettingsError, match="GQL_TELEPHONY_ALLOW_PRIVATE_PROVIDER_HOSTS must be 1 or 0"):
        Settings.from_env({"GQL_TELEPHONY_ALLOW_PRIVATE_PROVIDER_HOSTS": "yes please"})


def test_check_interval():
    assert Settings.from_env({"GQL_TELEPHONY_PROVIDER_CHECK_INTERVAL": "3600"}).provider_check_interval == 3600
    assert Settings.from_env({"GQL_TELEPHONY_PROVIDER_CHECK_INTERVAL": "0"}).provider_check_interval == 0  # off
    for bad in ("-1", "1.5", "6h", "٣"):
        with pytest.raises(SettingsError, match="GQL_TELEPHONY_PROVIDER_CHECK_INTERVAL must be a whole number"):
            Settings.from_env({"GQL_TELEPHONY_PROVIDER_CHECK_INTERVAL": bad})


def test_provider_timeout():
    for raw, expected in (("10", 10.0), ("0.5", 0.5), (" 2.25 ", 2.25), ("30", 30.0)):
        assert Settings.from_env({"GQL_TELEPHONY_PROVIDER_TIMEOUT": raw}).provider_timeout == expected
    for bad in ("0", "0.0", "-1", "1e3", "inf", "nan", ".5", "5.", "1_0", "ten", "٣"):
        with pytest.raises(SettingsError, match="GQL_TELEPHONY_PROVIDER_TIMEOUT must be a positive number of seconds"):
            Settings.from_env({"GQL_TELEPHONY_PROVIDER_TIMEOUT": bad})


async def test_the_provider_client_follows_the_settings():
    http = ProviderHttp.from_settings(Settings.from_env({
        f"{ORIGIN}SIGNALWIRE": "http://127.0.0.1:9001",
        "GQL_TELEPHONY_ALLOW_PRIVATE_PROVIDER_HOSTS": "1",
        "GQL_TELEPHONY_PROVIDER_TIMEOUT": "0.5",
    }))
    try:
        assert http.origins == {ProviderKey.SIGNALWIRE: "http://127.0.0.1:9001"}
        assert http.origin(ProviderKey.SIGNALWIRE, "https://tenant.signalwire.com") == ("http://127.0.0.1:9001", True)
        assert http.origin(ProviderKey.TWILIO, "https://api.twilio.com/") == ("https://api.twilio.com", False)
        assert http.allow_private_hosts is True
        assert (http.policy.total_timeout, http.policy.connect_timeout) == (0.5, 0.5)
    finally:
        await http.aclose()
    http = ProviderHttp.from_settings(Settings())
    try:
        assert (http.origins, http.allow_private_hosts) == ({}, False)
        assert (http.policy.total_timeout, http.policy.connect_timeout) == (10.0, 3.0)
    finally:
        await http.aclose()
