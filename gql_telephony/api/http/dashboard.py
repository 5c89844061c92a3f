"""The dashboard: a static page at `/` and its files at `/dashboard/<name>`, in every environment.

The page is a client of the public GraphQL API like any other (docs/DASHBOARD.md): nothing here
reads a key or the database. Only files of the package's static/dashboard directory are served,
found once by walking it, so a name is looked up in that set and never joined onto a path.

Each file is held in memory (under 100 kB in all) with its SHA-256 as a strong ETag, and a gzip copy
for clients that accept it: the API's own responses are not compressed (JSON of a few kB, and a
compressed response that mixes a secret's mask with reflected input invites BREACH-style guessing),
so compression is done here, once per file, rather than by a middleware over everything.
"""

from __future__ import annotations

import gzip
import hashlib
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..graph.documents import error_body

DASHBOARD_DIR = Path(__file__).parent / "static" / "dashboard"
ROUTE_PREFIX = "/dashboard/"
INDEX = "index.html"

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
}
COMPRESSED_BELOW = 512  # smaller files gain less than the header costs
# Vendored names hold their version, so their content never changes; the page's own files do
# change with a release under the same name, so the browser asks again (a 304 when unchanged).
CACHE_FOREVER = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
_HOST = re.compile(r"[A-Za-z0-9.-]+(?::\d{1,5})?|\[[0-9A-Fa-f:.]+\](?::\d{1,5})?")
_ENTITY_TAG = re.compile(r'(?:W/)?("[^"]*")')
_QUALITY = re.compile(r"q=([0-9.]+)", re.I)


@dataclass(frozen=True)
class Asset:
    content: bytes
    gzipped: bytes | None
    content_type: str
    etag: str
    cache_control: str


@cache
def assets() -> dict[str, Asset]:
    """Relative POSIX name -> file, for every servable file under the dashboard directory."""
    found: dict[str, Asset] = {}
    for path in sorted(DASHBOARD_DIR.rglob("*")):
        content_type = CONTENT_TYPES.get(path.suffix)
        if not path.is_file() or content_type is None:
            continue
        name = path.relative_to(DASHBOARD_DIR).as_posix()
        content = path.read_bytes()
        gzipped = gzip.compress(content, compresslevel=9, mtime=0) if len(content) >= COMPRESSED_BELOW else None
        found[name] = Asset(content=content, gzipped=gzipped, content_type=content_type,
                            etag='"' + hashlib.sha256(content).hexdigest()[:32] + '"',
                            cache_control=CACHE_FOREVER if name.startswith("vendor/") else REVALIDATE)
    return found


def content_security_policy(host: str | None) -> str:
    """Scripts, styles and fetches from this server only. CSP's 'self' covers ws: and wss: to the
    same host in current browsers but not in older ones, so the WebSocket's own address is named
    when the Host header is a plain host; otherwise any ws:/wss: host (the page only ever opens
    its own)."""
    sockets = f"ws://{host} wss://{host}" if host and _HOST.fullmatch(host) else "ws: wss:"
    return ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            f"connect-src 'self' {sockets}; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


def accepts_gzip(accept_encoding: str) -> bool:
    """Whether an Accept-Encoding value allows gzip (RFC 9110, 12.5.3): named, or covered by `*`,
    with a quality above zero. `gzip;q=0` means "not gzip", and a name outweighs `*`."""
    qualities: dict[str, float] = {}
    for item in accept_encoding.lower().split(","):
        coding, _, params = item.partition(";")
        coding = coding.strip()
        if not coding:
            continue
        quality = _QUALITY.search(params)
        try:
            qualities[coding] = float(quality[1]) if quality else 1.0
        except ValueError:  # an unreadable weight counts as a refusal rather than a guess
            qualities[coding] = 0.0
    for name in ("gzip", "x-gzip"):
        if name in qualities:
            return qualities[name] > 0
    return qualities.get("*", 0.0) > 0


def not_modified(if_none_match: str | None, etag: str) -> bool:
    """If-None-Match (RFC 9110, 13.1.2): `*` matches any file that exists; otherwise a list of
    entity tags compared weakly (a `W/` prefix on either side is ignored)."""
    if if_none_match is None:
        return False
    if if_none_match.strip() == "*":
        return True
    opaque = _ENTITY_TAG.fullmatch(etag)
    wanted = opaque[1] if opaque else etag
    return wanted in _ENTITY_TAG.findall(if_none_match)


def _respond(request: Request, asset: Asset) -> Response:
    body, etag = asset.content, asset.etag
    headers = {"cache-control": asset.cache_control, "x-content-type-options": "nosniff",
               "referrer-policy": "no-referrer", "vary": "Accept-Encoding"}
    if asset.content_type.startswith("text/html"):  # a policy for documents; scripts and styles need none
        headers.update({"content-security-policy": content_security_policy(request.headers.get("host")),
                        "cross-origin-opener-policy": "same-origin", "x-frame-options": "DENY"})
    if asset.gzipped is not None and accepts_gzip(request.headers.get("accept-encoding", "")):
        body, etag = asset.gzipped, asset.etag[:-1] + '-gzip"'
        headers["content-encoding"] = "gzip"
    headers["etag"] = etag
    if not_modified(request.headers.get("if-none-match"), etag):
        headers.pop("content-encoding", None)
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=asset.content_type, headers=headers)


async def dashboard_page(request: Request) -> Response:
    return _respond(request, assets()[INDEX])


async def dashboard_asset(request: Request) -> Response:
    asset = assets().get(request.path_params["name"])  # a name as found on disk, or nothing
    if asset is None:
        return JSONResponse(error_body("No such dashboard file.", "NOT_FOUND"), status_code=404)
    return _respond(request, asset)
