"""Each provider's client, by provider: the services ask through this mapping only."""

from __future__ import annotations

from ..domain.providers import ProviderKey
from . import ari, cloudonix, exotel, plivo, signalwire, telnyx, twilio, vobiz, vonage
from .base import ProviderClient

CLIENTS: dict[ProviderKey, ProviderClient] = {
    ProviderKey.TELNYX: telnyx.CLIENT,
    ProviderKey.TWILIO: twilio.CLIENT,
    ProviderKey.VONAGE: vonage.CLIENT,
    ProviderKey.PLIVO: plivo.CLIENT,
    ProviderKey.CLOUDONIX: cloudonix.CLIENT,
    ProviderKey.VOBIZ: vobiz.CLIENT,
    ProviderKey.SIGNALWIRE: signalwire.CLIENT,
    ProviderKey.ARI: ari.CLIENT,
    ProviderKey.EXOTEL: exotel.CLIENT,
}
