"""The benchmark's data: one organization whose configurations and numbers look like an account's."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from gql_telephony.app import build_runtime
from gql_telephony.domain.phone_numbers import normalize_number
from gql_telephony.domain.providers import PROVIDERS, ProviderKey
from gql_telephony.services.tenancy import create_api_key, create_organization
from gql_telephony.settings import Settings
from gql_telephony.storage.migrate import upgrade_to_head
from gql_telephony.storage.tables import PhoneNumberRow, utcnow
from tests.documents import VONAGE

# Twenty configs' worth of providers, roughly as accounts use them: mostly Twilio and Telnyx.
P = ProviderKey
PROVIDER_MIX = [P.TWILIO, P.TELNYX, P.TWILIO, P.VONAGE, P.TELNYX, P.TWILIO, P.PLIVO, P.SIGNALWIRE,
                P.TELNYX, P.TWILIO, P.CLOUDONIX, P.TWILIO, P.TELNYX, P.VONAGE, P.PLIVO, P.TWILIO,
                P.SIGNALWIRE, P.TELNYX, P.VOBIZ, P.ARI]
REGIONS = ["US East", "US West", "EU", "UK", "APAC", "Canada", "LATAM"]
AREA_CODES = ["415", "212", "312", "646", "206", "617", "303", "512", "305", "702"]
LABELS = ["Sales", "Support", "Outbound", "Collections", "Reminders"]
PAUSED = 13  # every 20th config from this one has all its numbers inactive (a warning)


# -- seeding ---------------------------------------------------------------------------------

def provider_config(provider: ProviderKey, i: int) -> dict[str, Any]:
    """Valid settings that vary from config to config, some missing an optional key (a warning)."""
    rng = random.Random(i)

    def token(n: int = 16) -> str:
        return f"{rng.getrandbits(n * 8):0{n * 2}x}"

    def uuid() -> str:
        h = token(16)
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    if provider is P.TWILIO:
        return {"account_sid": "AC" + token(), "auth_token": token(), **({"amd_enabled": True} if i % 3 == 0 else {})}
    if provider is P.TELNYX:
        extra = {"webhook_public_key": "pk_" + token(22)} if i % 2 == 0 else {}
        return {"api_key": "KEY" + token(20).upper(), "connection_id": str(1_800_000_000 + i), **extra}
    if provider is P.VONAGE:
        extra = {"signature_secret": token(12)} if i % 2 == 1 else {}
        return {"application_id": uuid(), "private_key": VONAGE["private_key"], "api_key": token(4),
                "api_secret": token(8), **extra}
    if provider is P.PLIVO:
        return {"auth_id": "MA" + token(9).upper(), "auth_token": token(20), "application_id": str(10**10 + i)}
    if provider is P.CLOUDONIX:
        return {"bearer_token": "XI-" + token(), "domain_id": f"tenant{i}", "application_name": "voice-ai"}
    if provider is P.VOBIZ:
        return {"auth_id": f"MA_VOBIZ{i:06d}", "auth_token": token(20)}
    if provider is P.SIGNALWIRE:
        return {"project_id": uuid(), "api_token": "PT" + token(24), "space_url": f"https://tenant{i}.signalwire.com/"}
    return {"ari_endpoint": f"https://pbx{i}.example.com:8089", "app_name": "voice-ai",
            "app_password": token(12), "ws_client_name": f"pbx{i}"}


async def seed(settings: Settings, configs: int, numbers: int, *,
               config_of: Callable[[int], tuple[ProviderKey, dict[str, Any]]] | None = None) -> tuple[str, str]:
    """One organization with `configs` configs of `numbers` numbers each; returns two API keys,
    a read-only one (the dashboard's) and one that may write (for the writes between reads).
    `config_of(i)` gives the i-th config's provider and settings (default: the account-like mix)."""
    runtime = build_runtime(settings)
    try:
        await upgrade_to_head(runtime.db)
        org_id = await create_organization(runtime.db, "Bench Inc.")
        key = await create_api_key(runtime.db, org_id, read_only=True)
        write_key = await create_api_key(runtime.db, org_id)
        created = []
        for i in range(configs):
            provider = PROVIDER_MIX[i % len(PROVIDER_MIX)]
            provider, config = config_of(i) if config_of else (provider, provider_config(provider, i))
            row, _ = await runtime.configs.create(
                org_id, name=f"{PROVIDERS[provider].name} {REGIONS[i % len(REGIONS)]} #{i}", provider=provider,
                config=config, make_default=i == 0,
            )
            created.append(row)
        rows, k, now = [], 0, utcnow()
        for n in range(numbers):  # as numbers are bought over time: interleaved across configs
            for i, config in enumerate(created):
                connectivity = PROVIDERS[ProviderKey(config.provider)].connectivity
                raw = (f"sip:agent{k}@pbx{i}.example.com" if connectivity.value == "SIP" and n % 4 == 3
                       else f"+1{AREA_CODES[k % len(AREA_CODES)]}{2_000_000 + k:07d}")
                rows.append({
                    "organization_id": org_id, "telephony_config_id": config.id,
                    "phone_number": normalize_number(raw, region=None, connectivity=connectivity),
                    "label": f"{LABELS[n % len(LABELS)]} {n}" if n % 3 == 0 else None,
                    "is_active": i % 20 != PAUSED and n % 10 != 9,
                    "created_at": now, "updated_at": now,
                })
                k += 1
        if rows:
            async with runtime.db.writing() as session:
                await session.execute(sa.insert(PhoneNumberRow.__table__), rows)  # type: ignore[attr-defined]  # SQLModel sets it undeclared
        return key, write_key
    finally:
        await runtime.broker.close()
        await runtime.db.dispose()
