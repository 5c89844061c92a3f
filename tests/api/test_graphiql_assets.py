"""GraphiQL's scripts and styles come from this server, as vendored (no CDN): the files match
their checksums and the page names nothing outside the server."""

from __future__ import annotations

import base64
import hashlib
import re
from importlib.resources import files

from gql_telephony.api.http.graphiql_assets import ASSET_DIR, CDN_URL, MANIFEST, local_name, read_manifest

from ..support import Api, app_client

# Every address the page makes the browser load: src= and href= attributes.
LOADED = re.compile(r"""\b(?:src|href)\s*=\s*["']([^"']*)["']""")


def test_vendored_files_match_their_checksums():
    digests = read_manifest()
    assert any(name.startswith("graphiql-") and name.endswith(".min.js") for name in digests)
    on_disk = {path.name for path in ASSET_DIR.iterdir()} - {MANIFEST.name}
    assert on_disk == set(digests), "every vendored file is in SHA256SUMS, and only those"
    for name, digest in digests.items():
        assert hashlib.sha256((ASSET_DIR / name).read_bytes()).hexdigest() == digest, name


def test_vendored_files_are_the_ones_strawberrys_page_pins():
    """Byte for byte what the page's integrity hashes name: the right package versions, and a
    Strawberry upgrade that pins others is noticed here."""
    page = (files("strawberry") / "static" / "graphiql.html").read_text()
    pinned = re.findall(r'(?:src|href)="(https://unpkg\.com/[^"]+)"\s+integrity="sha384-([^"]+)"', page)
    assert len(pinned) == len(CDN_URL.findall(page)) >= 7
    for url, integrity in pinned:
        match = CDN_URL.fullmatch(url)
        assert match, url
        content = (ASSET_DIR / local_name(match["package"], match["version"], match["path"])).read_bytes()
        assert base64.b64encode(hashlib.sha384(content).digest()).decode() == integrity, url


async def test_the_page_loads_only_files_this_server_serves(api: Api):
    page = (await api.client.get("/graphql", headers={"accept": "text/html"})).text
    addresses = LOADED.findall(page)
    assert len(addresses) >= 7  # React, ReactDOM, js-cookie, GraphiQL and the explorer: scripts and styles
    external = [address for address in addresses if not address.startswith(("/graphiql/static/", "data:"))]
    assert external == []
    assert "unpkg.com" not in page and "https://" not in page

    digests = read_manifest()
    for address in addresses:
        if address.startswith("data:"):
            continue
        response = await api.client.get(address)
        assert response.status_code == 200, address
        expected_type = "text/javascript" if address.endswith(".js") else "text/css"
        assert response.headers["content-type"].startswith(expected_type)
        assert "immutable" in response.headers["cache-control"]
        assert hashlib.sha256(response.content).hexdigest() == digests[address.rsplit("/", 1)[1]]


async def test_only_vendored_scripts_and_styles_are_served(api: Api):
    licence = next(name for name in read_manifest() if name.endswith("LICENSE"))
    for name in ("SHA256SUMS", licence, "missing.js", "graphiql_assets.py"):
        response = await api.client.get(f"/graphiql/static/{name}")
        assert response.status_code == 404, name
        assert response.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    # Only a name from SHA256SUMS is served: nothing else under the package, however spelled.
    for escape in ("..%2Fgraphiql.py", "%2E%2E%2F%2E%2E%2Fview.py"):
        assert (await api.client.get(f"/graphiql/static/{escape}")).status_code == 404


async def test_production_serves_no_graphiql_files(api: Api):
    name = next(name for name in read_manifest() if name.endswith(".js"))
    async with app_client(api.runtime.settings, beside=api.runtime, env="production") as served:
        response = await served.client.get(f"/graphiql/static/{name}")
    assert response.status_code == 404
