"""The documentation a clone carries is whole: nothing points outside the repository, and every
relative link of the README and docs/ leads to a file (and a heading) that exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gql_telephony.api.graph.schema import build_schema
from gql_telephony.domain.errors import ErrorCode
from gql_telephony.domain.providers import PROVIDERS
from gql_telephony.domain.warnings import WarningCode

from .api.test_schema_descriptions import descriptions

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
OUTSIDE = "../shared"  # the workspace's shared contract: a clone does not have it
# [text](target) and [text](target "title"); an image's ![alt](target) too.
LINK = re.compile(r"\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")


def relative_links(text: str) -> list[str]:
    """The targets of the Markdown links of `text` that stay in the repository, code blocks left out."""
    prose = re.sub(r"```.*?```", "", text, flags=re.S)
    return [target for target in LINK.findall(prose) if not re.match(r"[a-z][a-z0-9+.-]*:", target)]


def anchors(markdown: str) -> set[str]:
    """The ids GitHub gives the headings: lower case, punctuation dropped, spaces to hyphens."""
    headings = re.findall(r"^#{1,6}\s+(.+?)\s*$", re.sub(r"```.*?```", "", markdown, flags=re.S), flags=re.M)
    return {re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-") for heading in headings}


def broken_links(document: Path) -> list[str]:
    broken = []
    for target in relative_links(document.read_text()):
        path, _, fragment = target.partition("#")
        linked = (document.parent / path).resolve() if path else document
        if not linked.is_file():
            broken.append(target)
        elif fragment and linked.suffix == ".md" and fragment not in anchors(linked.read_text()):
            broken.append(target)
    return broken


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: path.name)
def test_no_document_points_outside_the_repository(document):
    assert OUTSIDE not in document.read_text()


def test_no_schema_description_points_outside_the_repository():
    outside = {coordinate: text for coordinate, text in descriptions(build_schema()._schema).items()
               if text and (OUTSIDE in text or "contract README" in text)}
    assert outside == {}
    assert OUTSIDE not in (ROOT / "schema.graphql").read_text()


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: path.name)
def test_every_relative_link_leads_to_a_file_and_heading_that_exist(document):
    assert broken_links(document) == []


def test_a_broken_link_is_found(tmp_path):
    (tmp_path / "there.md").write_text("# A heading, with punctuation\n")
    page = tmp_path / "page.md"
    page.write_text("[ok](there.md) [ok](there.md#a-heading-with-punctuation) [web](https://example.com/x)\n"
                    "[gone](missing.md) [no heading](there.md#nowhere) [self](#nor-here)\n"
                    "```\n[in code](not-a-link.md)\n```\n")
    assert broken_links(page) == ["missing.md", "there.md#nowhere", "#nor-here"]


def test_the_api_reference_is_linked_from_the_readme():
    assert "(docs/API.md)" in (ROOT / "README.md").read_text()


def table_rows(markdown: str, header: str) -> list[list[str]]:
    """The cells of each row of the table whose header line starts with `header`."""
    table = markdown.split(header, 1)[1].split("\n\n", 1)[0]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in table.splitlines()[2:]]


def test_the_api_reference_lists_every_provider_key_and_code_as_the_code_declares():
    reference = (ROOT / "docs" / "API.md").read_text()
    listed = {}
    for provider, connectivity, required, optional in table_rows(reference, "| provider | connectivity |"):
        listed[provider.strip("`")] = (connectivity, re.findall(r"`(\w+)`", required), re.findall(r"`(\w+)`", optional))
    declared = {
        key.value: (provider.connectivity.value, [f.key for f in provider.fields if f.required],
                    [f.key for f in provider.fields if not f.required])
        for key, provider in PROVIDERS.items()
    }
    # Optional keys' defaults are in backquotes too: only the declared keys are compared.
    assert {name: (c, r, [k for k in o if k in declared[name][2]]) for name, (c, r, o) in listed.items()} == declared
    warnings = [row[0].strip("`") for row in table_rows(reference, "| code | severity | when |")]
    assert warnings == [code.value for code in WarningCode]
    assert all(f"`{code.value}`" in reference for code in ErrorCode)
