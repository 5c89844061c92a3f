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


def _respond(request: Request, asset: Asset) -> Response:
    accepts_gzip = "gzip" in request.headers.get("accept-encoding", "").lower()
    body, etag = asset.content, asset.etag
    headers = {"cache-control": asset.cache_control, "x-content-type-options": "nosniff",
               "referrer-policy": "no-referrer", "vary": "Accept-Encoding"}
    if asset.content_type.startswith("text/html"):  # a policy for documents; scripts and styles need none
        headers.update({"content-security-policy": content_security_policy(request.headers.get("host")),
                        "cross-origin-opener-policy": "same-origin", "x-frame-options": "DENY"})
    if accepts_gzip and asset.gzipped is not None:
        body, etag = asset.gzipped, asset.etag[:-1] + '-gzip"'
        headers["content-encoding"] = "gzip"
    headers["etag"] = etag
    if etag in {tag.strip().removeprefix("W/") for tag in request.headers.get("if-none-match", "").split(",")}:
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
