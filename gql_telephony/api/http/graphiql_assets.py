"""GraphiQL's scripts and styles, served by this server instead of a CDN.

The files are vendored from the npm packages Strawberry's page names, at the versions it pins
(`make graphiql-assets`, tools/vendor_graphiql.py). Each is stored under a flat name that holds
its package and version, so a response may be cached for good. SHA256SUMS lists every file.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path, PurePosixPath

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response

from ..graph.documents import error_body

ASSET_DIR = Path(__file__).parent / "static" / "graphiql"
MANIFEST = ASSET_DIR / "SHA256SUMS"
ROUTE_PREFIX = "/graphiql/static/"

# A CDN address in Strawberry's page: https://unpkg.com/<package>@<version>/<path in the package>.
CDN_URL = re.compile(r"https://unpkg\.com/(?P<package>(?:@[\w.-]+/)?[\w.-]+)@(?P<version>[\w.-]+)/(?P<path>[\w./-]+)")

CONTENT_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
# A name holds the version, so its content never changes.
CACHE_FOREVER = "public, max-age=31536000, immutable"


def local_name(package: str, version: str, path: str) -> str:
    """The flat file name for a file of a package: `@graphiql/plugin-explorer`, `1.0.2`,
    `dist/style.css` gives `graphiql-plugin-explorer-1.0.2-style.css`."""
    return f"{package.lstrip('@').replace('/', '-')}-{version}-{PurePosixPath(path).name}"


def read_manifest(manifest: Path = MANIFEST) -> dict[str, str]:
    """File name -> SHA-256 (hex), from a file in `sha256sum` format."""
    if not manifest.exists():
        return {}
    digests: dict[str, str] = {}
    for line in manifest.read_text().splitlines():
        if line.strip():
            digest, name = line.split(maxsplit=1)
            digests[name.lstrip("*")] = digest
    return digests


@cache
def vendored_names() -> frozenset[str]:
    return frozenset(read_manifest())


def with_local_assets(page: str) -> str:
    """The page with each CDN address replaced by this server's copy of the file."""

    def local(match: re.Match[str]) -> str:
        name = local_name(match["package"], match["version"], match["path"])
        if name not in vendored_names():
            # Strawberry now pins another version than the one vendored.
            raise RuntimeError(f"GraphiQL asset {name} is not vendored: run `make graphiql-assets`")
        return ROUTE_PREFIX + name

    return CDN_URL.sub(local, page)


async def graphiql_asset(request: Request) -> Response:
    name = request.path_params["name"]
    content_type = CONTENT_TYPES.get(PurePosixPath(name).suffix)
    if name not in vendored_names() or content_type is None:
        return JSONResponse(error_body("No such GraphiQL file.", "NOT_FOUND"), status_code=404)
    return FileResponse(ASSET_DIR / name, media_type=content_type, headers={"cache-control": CACHE_FOREVER})
