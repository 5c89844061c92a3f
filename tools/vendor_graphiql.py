"""Vendor GraphiQL's scripts and styles (`make graphiql-assets`; needs npm and the registry).

Reads the CDN addresses from the GraphiQL page of the installed Strawberry, fetches each
package at the pinned version with `npm pack`, checks each file against the page's integrity
hash, and writes the files, their packages' licences and SHA256SUMS into
gql_telephony/api/http/static/graphiql/ (files no longer named are removed).
"""

from __future__ import annotations

import base64
import hashlib
import re
import subprocess
import sys
import tarfile
import tempfile
from importlib.resources import files
from pathlib import Path

from gql_telephony.api.http.graphiql_assets import ASSET_DIR, CDN_URL, MANIFEST, local_name

# An element's CDN address and the integrity hash that follows it in the same tag.
WITH_INTEGRITY = re.compile(r'(?:src|href)="(?P<url>https://unpkg\.com/[^"]+)"\s+integrity="(?P<integrity>[^"]+)"')
LICENCES = ("LICENSE", "LICENSE.md", "LICENSE.txt")


def strawberry_page() -> str:
    return (files("strawberry") / "static" / "graphiql.html").read_text()


def npm_pack(package: str, version: str, into: Path) -> tarfile.TarFile:
    result = subprocess.run(["npm", "pack", "--silent", f"{package}@{version}", "--pack-destination", str(into)],
                            capture_output=True, text=True, check=False)
    if result.returncode != 0:
        sys.exit(f"npm pack {package}@{version} failed (is the npm registry reachable?):\n{result.stderr}")
    return tarfile.open(into / result.stdout.strip().splitlines()[-1])


def member(archive: tarfile.TarFile, path: str) -> bytes | None:
    try:
        extracted = archive.extractfile(f"package/{path}")
    except KeyError:
        return None
    return extracted.read() if extracted is not None else None


def check_integrity(url: str, content: bytes, integrity: str | None) -> None:
    if integrity is None:
        return
    algorithm, _, expected = integrity.partition("-")
    actual = base64.b64encode(hashlib.new(algorithm, content).digest()).decode()
    if actual != expected:
        sys.exit(f"{url}: the npm package's file does not match the page's integrity hash {integrity}")


def vendor() -> dict[str, bytes]:
    page = strawberry_page()
    integrities = {match["url"]: match["integrity"] for match in WITH_INTEGRITY.finditer(page)}
    wanted: dict[tuple[str, str], list[str]] = {}
    for match in CDN_URL.finditer(page):
        wanted.setdefault((match["package"], match["version"]), []).append(match["path"])
    if not wanted:
        sys.exit("Strawberry's GraphiQL page names no CDN file: nothing to vendor")
    vendored: dict[str, bytes] = {}
    with tempfile.TemporaryDirectory() as scratch:
        for (package, version), paths in sorted(wanted.items()):
            with npm_pack(package, version, Path(scratch)) as archive:
                for path in paths:
                    url = f"https://unpkg.com/{package}@{version}/{path}"
                    content = member(archive, path)
                    if content is None:
                        sys.exit(f"{package}@{version} has no file {path}")
                    check_integrity(url, content, integrities.get(url))
                    vendored[local_name(package, version, path)] = content
                licence = next((text for name in LICENCES if (text := member(archive, name)) is not None), None)
                if licence is not None:
                    vendored[local_name(package, version, "LICENSE")] = licence
            print(f"{package}@{version}: {', '.join(paths)}")
    return vendored


def write(vendored: dict[str, bytes]) -> None:
    ASSET_DIR.mkdir(parents=True, exist_ok=True)
    for stale in ASSET_DIR.iterdir():
        if stale.name not in vendored:
            stale.unlink()
    for name, content in vendored.items():
        (ASSET_DIR / name).write_bytes(content)
    # `sha256sum` format, so `cd ASSET_DIR && sha256sum -c SHA256SUMS` checks the copy too.
    MANIFEST.write_text("".join(f"{hashlib.sha256(content).hexdigest()}  {name}\n"
                                for name, content in sorted(vendored.items())))
    print(f"{len(vendored)} files and SHA256SUMS in {ASSET_DIR}")


if __name__ == "__main__":
    write(vendor())
