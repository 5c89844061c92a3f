"""docs/PROVIDER_CHECKS.md keeps up with the code: a section for every declared provider, and
every outcome the provider client counts for /metrics in its table."""

from __future__ import annotations

import re
from pathlib import Path

from gql_telephony.domain.providers import PROVIDERS
from gql_telephony.outbound import http

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "PROVIDER_CHECKS.md"


def sections() -> set[str]:
    return {title.strip() for title in re.findall(r"^## (.+)$", DOC.read_text(), flags=re.MULTILINE)}


def outcomes_in_metrics_table() -> set[str]:
    text = DOC.read_text().split("## `/metrics`", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([a-z_0-9]+)` \|", text, flags=re.MULTILINE))


def outcomes_counted() -> set[str]:
    """What ProviderHttp counts: the outcomes named where it counts, and those of each status."""
    named = set(re.findall(r'count\("([a-z_0-9]+)"\)', Path(http.__file__).read_text()))
    return named | {http._outcome_of(status) for status in (200, 302, 401, 403, 404)}


def test_every_declared_provider_has_a_section():
    missing = [provider.name for provider in PROVIDERS.values() if provider.name not in sections()]
    assert not missing, f"docs/PROVIDER_CHECKS.md has no '## <name>' section for {missing}"


def test_every_counted_outcome_is_in_the_metrics_table():
    counted = outcomes_counted()
    assert {"ok", "rejected", "timeout", "refused_host"} <= counted  # the reading of http.py still works
    assert outcomes_in_metrics_table() == counted
