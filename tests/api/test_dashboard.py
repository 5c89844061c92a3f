"""The dashboard's files are served at / and /dashboard/<name> in every environment: only files of
the package's dashboard directory, with their types, caching and a strict Content-Security-Policy,
and nothing the page loads comes from anywhere but this server."""

from __future__ import annotations

import gzip
import hashlib
import re

import pytest

from gql_telephony.api.http.dashboard import DASHBOARD_DIR

from ..support import Api, app_client

VENDOR_DIR = DASHBOARD_DIR / "vendor"
# What a page or module makes the browser load: src=/href= attributes, and ES module imports.
LOADED = re.compile(r"""\b(?:src|href)\s*=\s*["']([^"']*)["']""")
IMPORTED = re.compile(r"""^\s*(?:import|export)\b[^'"]*?from\s*['"]([^'"]+)['"]|^\s*import\s*['"]([^'"]+)['"]""", re.M)
OWN_FILES = sorted(p for p in DASHBOARD_DIR.iterdir() if p.is_file())


def loaded_addresses() -> set[str]:
    """Every address the page loads, the modules' imports followed (relative to /dashboard/)."""
    found = {address for address in LOADED.findall((DASHBOARD_DIR / "index.html").read_text())
             if not address.startswith("data:")}
    for module in DASHBOARD_DIR.glob("*.js"):
        for match in IMPORTED.finditer(module.read_text()):
            target = match[1] or match[2]
            assert target.startswith("./"), f"{module.name} imports {target}: only files of the page"
            found.add("/dashboard/" + target.removeprefix("./"))
    return found


async def test_the_page_is_served_at_the_root_with_strict_headers(api: Api):
    response = await api.client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert '<script type="module" src="/dashboard/app.js">' in response.text
    policy = response.headers["content-security-policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    # 'self' does not cover ws: in every browser: the page's own host is named for its WebSocket.
    assert directives["connect-src"] == "'self' ws://test wss://test"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["etag"].startswith('"')


async def test_a_host_header_that_is_not_a_plain_host_is_not_copied_into_the_policy(api: Api):
    response = await api.client.get("/", headers={"host": "evil.example; script-src *"})
    policy = response.headers["content-security-policy"]
    assert "evil" not in policy and "connect-src 'self' ws: wss:;" in policy


async def test_production_serves_the_dashboard_too(api: Api):
    async with app_client(api.runtime.settings, beside=api.runtime, env="production") as served:
        assert served.runtime.settings.is_production
        page = await served.client.get("/")
        script = await served.client.get("/dashboard/app.js")
        graphiql = await served.client.get("/graphql", headers={"accept": "text/html"})
    assert page.status_code == 200 and "/dashboard/app.js" in page.text
    assert script.status_code == 200
    assert graphiql.status_code == 404  # GraphiQL stays a development tool


async def test_everything_the_page_loads_is_served_with_its_type(api: Api):
    addresses = loaded_addresses()
    assert {"/dashboard/app.js", "/dashboard/styles.css", "/dashboard/lib.js"} <= addresses
    assert any(address.startswith("/dashboard/vendor/htm-") for address in addresses)
    assert any(address.startswith("/dashboard/vendor/graphql-ws-") for address in addresses)
    for address in addresses:
        response = await api.client.get(address)
        assert response.status_code == 200, address
        expected = "text/javascript" if address.endswith(".js") else "text/css"
        assert response.headers["content-type"] == f"{expected}; charset=utf-8", address
        assert response.headers["x-content-type-options"] == "nosniff"
        vendored = address.startswith("/dashboard/vendor/")
        assert ("immutable" in response.headers["cache-control"]) == vendored, address


def test_every_module_is_preloaded_by_the_page():
    """The browser fetches them all at once instead of one level of imports after another."""
    page = (DASHBOARD_DIR / "index.html").read_text()
    preloaded = set(re.findall(r'<link rel="modulepreload" href="([^"]+)">', page))
    modules = {address for address in loaded_addresses() if address.endswith(".js")} - {"/dashboard/app.js"}
    assert preloaded == modules


async def test_the_page_names_no_address_outside_this_server():
    for path in OWN_FILES:
        text = path.read_text()
        assert not re.search(r"https?://|//[a-z0-9-]+\.[a-z]", text, re.I), f"{path.name} names another server"
    for address in loaded_addresses():
        assert address.startswith("/dashboard/"), address


def test_vendored_files_match_their_checksums():
    listed = dict(reversed(line.split(maxsplit=1)) for line in (VENDOR_DIR / "SHA256SUMS").read_text().splitlines())
    on_disk = {path.name for path in VENDOR_DIR.iterdir()} - {"SHA256SUMS"}
    assert on_disk == set(listed)
    assert any(name.endswith("LICENSE.txt") and name.startswith("htm-") for name in listed)
    assert any(name.endswith("LICENSE.txt") and name.startswith("graphql-ws-") for name in listed)
    assert any(name.endswith("LICENSE.txt") and name.startswith("preact-") for name in listed)
    for name, digest in listed.items():
        assert hashlib.sha256((VENDOR_DIR / name).read_bytes()).hexdigest() == digest, name


@pytest.mark.parametrize("address", [
    "/dashboard/missing.js",
    "/dashboard/vendor/SHA256SUMS",  # not a type the dashboard serves
    "/dashboard/../dashboard.py",
    "/dashboard/..%2Fdashboard.py",
    "/dashboard/%2E%2E%2F%2E%2E%2Fview.py",
    "/dashboard/vendor/..%2F..%2Fdashboard.py",
    "/dashboard//app.js",
    "/dashboard/",
    "/index.html",
    "/app.js",
])
async def test_only_the_dashboards_files_are_served(api: Api, address: str):
    response = await api.client.get(address)
    assert response.status_code == 404, address
    assert "import" not in response.text


async def test_files_come_compressed_when_the_client_accepts_it_and_revalidate(api: Api):
    plain = await api.client.get("/dashboard/app.js", headers={"accept-encoding": "identity"})
    packed = await api.client.get("/dashboard/app.js", headers={"accept-encoding": "gzip, br"})
    assert "content-encoding" not in plain.headers
    assert packed.headers["content-encoding"] == "gzip" and packed.headers["vary"] == "Accept-Encoding"
    # httpx decodes it; what travelled is smaller than the file.
    assert packed.content == plain.content == (DASHBOARD_DIR / "app.js").read_bytes()
    assert int(packed.headers["content-length"]) < len(gzip.compress(plain.content, 1)) + 64
    assert packed.headers["etag"] != plain.headers["etag"]

    again = await api.client.get("/dashboard/app.js", headers={"accept-encoding": "gzip",
                                                              "if-none-match": packed.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    stale = await api.client.get("/dashboard/app.js", headers={"accept-encoding": "gzip", "if-none-match": '"old"'})
    assert stale.status_code == 200


async def test_the_page_needs_no_key_and_counts_in_the_log_and_metrics_under_its_own_routes(api: Api):
    assert (await api.client.get("/", headers={"authorization": "Bearer gqlt_not_a_key"})).status_code == 200
    assert (await api.client.get("/dashboard/app.js")).status_code == 200
    metrics = (await api.client.get("/metrics")).text
    assert 'route="/",status="200"' in metrics and 'route="/dashboard/",status="200"' in metrics


async def test_the_page_is_charged_to_the_address_like_any_request_without_a_key(api: Api):
    """Its files are cheap but not free: a client that asks for them too fast gets 429 (the
    default burst, 300, is far above the dozen requests of a page load)."""
    async with app_client(api.runtime.settings, beside=api.runtime, rate_limit_per_minute=1,
                          rate_limit_burst=3) as limited:
        statuses = [(await limited.client.get(address)).status_code
                    for address in ("/", "/dashboard/app.js", "/dashboard/styles.css", "/")]
    assert statuses == [200, 200, 200, 429]
