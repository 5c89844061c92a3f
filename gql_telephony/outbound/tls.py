"""The TLS settings every outbound HTTP client shares: made once per process.

Building one reads the whole CA bundle (tens of milliseconds); a context serves any number of
connections, so the provider clients and the webhook sender all use this one.
"""

from __future__ import annotations

import ssl
from functools import cache

import certifi


@cache
def client_tls() -> ssl.SSLContext:
    """Certificates checked against certifi's bundle (as httpx does by default), hostnames too."""
    return ssl.create_default_context(cafile=certifi.where())
