"""Vendor the dashboard's libraries (`make dashboard-assets`; needs npm and the registry).

Fetches each pinned package with `npm pack`, takes the one browser file the dashboard loads and
the package's licence, and writes them, with SHA256SUMS, into
gql_telephony/api/http/static/dashboard/vendor/ (files no longer named are removed). The server
never fetches anything: the files are committed.

- htm's `preact/standalone.module.js`: one ES module holding Preact, its hooks and htm (tagged
  templates instead of JSX, so the page needs no build step). It bundles Preact 10, whose
  licence is taken from the preact package at PREACT_LICENCE_VERSION.
- graphql-ws's UMD build: a classic script that defines `graphqlWs` (createClient) globally.

A new version: change it here, run the target, then the file names in
static/dashboard/index.html and lib.js (tests/api/test_dashboard.py checks they resolve).
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

# Found from this file, not from the installed package (which may be another checkout's).
ROOT = Path(__file__).resolve().parent.parent
VENDOR_DIR = ROOT / "gql_telephony" / "api" / "http" / "static" / "dashboard" / "vendor"
MANIFEST = VENDOR_DIR / "SHA256SUMS"
LICENCES = ("LICENSE", "LICENSE.md", "LICENSE.txt")
PREACT_LICENCE_VERSION = "10.7.3"


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    files: dict[str, str]  # path in the package -> name written into vendor/


PACKAGES = (
    Package("htm", "3.1.1", {"preact/standalone.module.js": "htm-3.1.1-preact-standalone.module.js"}),
    Package("graphql-ws", "6.4.2", {"umd/graphql-ws.min.js": "graphql-ws-6.4.2.umd.min.js"}),
    Package("preact", PREACT_LICENCE_VERSION, {}),  # its licence only: the code comes bundled in htm's file
)


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


def vendor() -> dict[str, bytes]:
    vendored: dict[str, bytes] = {}
    with tempfile.TemporaryDirectory() as scratch:
        for package in PACKAGES:
            with npm_pack(package.name, package.version, Path(scratch)) as archive:
                for path, name in package.files.items():
                    content = member(archive, path)
                    if content is None:
                        sys.exit(f"{package.name}@{package.version} has no file {path}")
                    vendored[name] = content
                licence = next((text for name in LICENCES if (text := member(archive, name)) is not None), None)
                if licence is None:
                    sys.exit(f"{package.name}@{package.version} has no licence file")
                # .txt: the server serves it as text, for anyone who wants to read it from the page.
                vendored[f"{package.name}-{package.version}-LICENSE.txt"] = licence
            print(f"{package.name}@{package.version}: {', '.join(package.files) or 'licence'}")
    return vendored


def write(vendored: dict[str, bytes]) -> None:
    VENDOR_DIR.mkdir(parents=True, exist_ok=True)
    for stale in VENDOR_DIR.iterdir():
        if stale.name not in vendored and stale != MANIFEST:
            stale.unlink()
    for name, content in vendored.items():
        (VENDOR_DIR / name).write_bytes(content)
    # `sha256sum` format, so `cd VENDOR_DIR && sha256sum -c SHA256SUMS` checks the copy too.
    MANIFEST.write_text("".join(f"{hashlib.sha256(content).hexdigest()}  {name}\n"
                                for name, content in sorted(vendored.items())))
    print(f"{len(vendored)} files and SHA256SUMS in {VENDOR_DIR}")


if __name__ == "__main__":
    write(vendor())
