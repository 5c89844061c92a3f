"""The GraphQL-over-HTTP audit suite (npm package `graphql-http`, `auditServer`) against a live
server: every audit must pass, none may warn. The package is installed with `npm ci` from the
committed package-lock.json into tests/conformance/node/node_modules the first time."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from ..backends import skip_or_fail
from ..live.server import LiveServer

NODE_DIR = Path(__file__).resolve().parent / "node"
INSTALLED = NODE_DIR / "node_modules" / ".package-lock.json"


@pytest.fixture(scope="module")
def audit_tool() -> None:
    """node and the locked graphql-http installed, or a skip (a failure when services are required).
    Asked for before `live_server`, so that a skip starts no server."""
    missing = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    if missing:
        skip_or_fail(f"the graphql-http audit needs Node.js: {' and '.join(missing)} not found on PATH")
    lock = NODE_DIR / "package-lock.json"
    if INSTALLED.exists() and INSTALLED.stat().st_mtime >= lock.stat().st_mtime:
        return
    try:
        result = subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=NODE_DIR,
                                capture_output=True, text=True, timeout=300)
    except subprocess.TimeoutExpired:
        skip_or_fail("`npm ci` for the graphql-http audit did not finish within 300 s")
    if result.returncode != 0:
        skip_or_fail(f"`npm ci` for the graphql-http audit failed: {result.stderr[-1500:]}")


def audit(url: str, key: str) -> list[dict[str, Any]]:
    result = subprocess.run(["node", "audit.mjs", url], cwd=NODE_DIR, capture_output=True, text=True, timeout=180,
                            env={**os.environ, "GQL_TELEPHONY_AUDIT_KEY": key})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def counts(results: list[dict[str, Any]]) -> dict[str, int]:
    seen = Counter(result["status"] for result in results)
    return {status: seen.get(status, 0) for status in ("ok", "notice", "warn", "error")}


def test_every_graphql_over_http_audit_passes(
    audit_tool: None, live_server: LiveServer, capsys: pytest.CaptureFixture[str],
) -> None:
    results = audit(live_server.url, live_server.key)
    summary = counts(results)
    with capsys.disabled():
        print(f"\ngraphql-http audit: {summary['error']} errors, {summary['warn']} warnings, "
              f"{summary['notice']} notices, {summary['ok']} ok of {len(results)}")
    assert len(results) >= 40, results  # graphql-http 1.23 has 61 server audits: none was lost
    failed = [result for result in results if result["status"] != "ok"]
    assert not failed, json.dumps(failed, indent=2)
    assert "Traceback" not in live_server.log()


def test_the_audit_judges_the_server(audit_tool: None, live_server: LiveServer) -> None:
    """Without a valid key every document is refused with 401, which the audit reports: so the
    passing run above is the server's doing, not an audit that cannot fail."""
    summary = counts(audit(live_server.url, "not-a-key"))
    assert summary["warn"] + summary["error"] > 0, summary
