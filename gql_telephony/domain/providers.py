"""The nine telephony providers, each declared once.

The metadata query, the config validation, the masking and the dashboard form all read
these declarations: adding a provider is adding one entry to PROVIDERS.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from . import field_checks as checks
from .field_checks import FieldCheck


class ProviderKey(enum.Enum):
    TELNYX = "TELNYX"
    TWILIO = "TWILIO"
    VONAGE = "VONAGE"
    PLIVO = "PLIVO"
    CLOUDONIX = "CLOUDONIX"
    VOBIZ = "VOBIZ"
    SIGNALWIRE = "SIGNALWIRE"
    ARI = "ARI"
    EXOTEL = "EXOTEL"


class Connectivity(enum.Enum):
    API = "API"
    SIP = "SIP"


class FieldType(enum.Enum):
    TEXT = "TEXT"
    PASSWORD = "PASSWORD"
    TEXTAREA = "TEXTAREA"
    BOOLEAN = "BOOLEAN"
    URL = "URL"


@dataclass(frozen=True)
class ProviderField:
    key: str
    label: str
    type: FieldType = FieldType.TEXT
    required: bool = False
    secret: bool = False
    description: str | None = None
    placeholder: str | None = None
    default: object = None
    check: FieldCheck | None = None
    # The only values it takes, when it is a choice (the check normalizes to one of them).
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class Provider:
    key: ProviderKey
    name: str
    notes: str
    connectivity: Connectivity
    docs_url: str | None
    fields: tuple[ProviderField, ...]
    # What its API lets the server verify (outbound/<provider>.py does the asking).
    checks_account: bool = True
    checks_numbers: bool = True  # whether each registered number is looked up in the account
    imports_numbers: bool = True  # whether the account's number inventory can be listed

    def field(self, key: str) -> ProviderField | None:
        return next((f for f in self.fields if f.key == key), None)


def _secret(
    key: str, label: str, *, required: bool = True, description: str | None = None, placeholder: str | None = None,
    check: FieldCheck | None = None,
) -> ProviderField:
    return ProviderField(
        key, label, FieldType.PASSWORD, required=required, secret=True, description=description,
        placeholder=placeholder, check=check,
    )


_DECLARATIONS = (
    Provider(
        ProviderKey.TELNYX, "Telnyx", "Recommended for high volume", Connectivity.API,
        "https://developers.telnyx.com/",
        (
            _secret("api_key", "API key", placeholder="KEY0123..."),
            ProviderField("connection_id", "Connection ID",
                          description="The Call Control application or SIP connection that places calls."),
            ProviderField("webhook_public_key", "Webhook public key",
                          description="Verifies Telnyx webhook signatures; without it webhooks cannot be verified."),
        ),
    ),
    Provider(
        ProviderKey.TWILIO, "Twilio", "Widest geographic coverage", Connectivity.API,
        "https://www.twilio.com/docs/voice",
        (
            _secret("account_sid", "Account SID", description="AC followed by 32 hexadecimal digits.",
                    placeholder="AC" + "0" * 32, check=checks.twilio_account_sid),
            _secret("auth_token", "Auth token", description="32 hexadecimal digits.", check=checks.hex32),
            ProviderField("amd_enabled", "Answering machine detection", FieldType.BOOLEAN, default=False,
                          description="Detect answering machines on outbound calls."),
        ),
    ),
    Provider(
        ProviderKey.VONAGE, "Vonage", "Strong European coverage", Connectivity.API,
        "https://developer.vonage.com/en/voice/voice-api/overview",
        (
            ProviderField("application_id", "Application ID", required=True,
                          description="The Vonage application's UUID.", check=checks.uuid_text),
            ProviderField("private_key", "Private key", FieldType.TEXTAREA, required=True, secret=True,
                          description="The application's PEM private key.", placeholder="-----BEGIN PRIVATE KEY-----",
                          check=checks.pem_private_key),
            _secret("api_key", "API key"),
            _secret("api_secret", "API secret"),
            _secret("signature_secret", "Signature secret", required=False,
                    description="Verifies signed webhooks; without it they are refused."),
        ),
    ),
    Provider(
        ProviderKey.PLIVO, "Plivo", "Cost-effective option", Connectivity.API,
        "https://www.plivo.com/docs/voice/",
        (
            _secret("auth_id", "Auth ID"),
            _secret("auth_token", "Auth token"),
            ProviderField("application_id", "Application ID"),
        ),
    ),
    Provider(
        ProviderKey.CLOUDONIX, "Cloudonix", "Enterprise SIP", Connectivity.SIP,
        "https://developers.cloudonix.com/",
        (
            _secret("bearer_token", "Bearer token"),
            ProviderField("domain_id", "Domain", required=True,
                          description="A host name; .cloudonix.net is added when it has no dot.",
                          placeholder="acme.cloudonix.net", check=checks.cloudonix_domain),
            ProviderField("application_name", "Application name"),
        ),
    ),
    Provider(
        ProviderKey.VOBIZ, "Vobiz", "Regional provider", Connectivity.API, None,
        (
            _secret("auth_id", "Auth ID"),
            _secret("auth_token", "Auth token"),
            ProviderField("application_id", "Application ID"),
        ),
    ),
    Provider(
        ProviderKey.SIGNALWIRE, "SignalWire", "Twilio-compatible API", Connectivity.API,
        "https://developer.signalwire.com/",
        (
            ProviderField("project_id", "Project ID", required=True, description="The project's UUID.",
                          check=checks.uuid_text),
            _secret("api_token", "API token"),
            ProviderField("space_url", "Space URL", required=True,
                          description="The space's host name; an https:// prefix is removed.",
                          placeholder="example.signalwire.com", check=checks.signalwire_space),
        ),
    ),
    Provider(
        ProviderKey.ARI, "Asterisk ARI", "Self-hosted Asterisk", Connectivity.SIP,
        "https://docs.asterisk.org/Configuration/Interfaces/Asterisk-REST-Interface-ARI/",
        (
            ProviderField("ari_endpoint", "ARI endpoint", FieldType.URL, required=True,
                          description="An http:// or https:// URL of the Asterisk HTTP server.",
                          placeholder="https://pbx.example.com:8089", check=checks.http_url),
            ProviderField("app_name", "Stasis application name", required=True),
            _secret("app_password", "ARI password"),
            ProviderField("ws_client_name", "WebSocket client name"),
        ),
        # Asterisk dials through its own trunks: ARI has no inventory of caller-ID numbers.
        checks_numbers=False, imports_numbers=False,
    ),
    Provider(
        ProviderKey.EXOTEL, "Exotel", "Strong Indian coverage", Connectivity.API,
        "https://developer.exotel.com/api/",
        (
            ProviderField("api_key", "API key", required=True),
            _secret("api_token", "API token"),
            ProviderField("account_sid", "Account SID", required=True,
                          description="The account's SID (its subdomain name)."),
            ProviderField("subdomain", "API host", default="api.exotel.com",
                          description="api.exotel.com (Singapore) or api.in.exotel.com (Mumbai): where the account is.",
                          placeholder="api.exotel.com", check=checks.exotel_api_host,
                          choices=checks.EXOTEL_API_HOSTS),
            ProviderField("app_id", "App ID", description="The call flow (applet) outbound calls connect to."),
        ),
    ),
)

PROVIDERS: dict[ProviderKey, Provider] = {provider.key: provider for provider in _DECLARATIONS}
