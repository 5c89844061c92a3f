"""Dependencies point one way: api -> services -> storage -> domain; the domain imports no framework."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "gql_telephony"
FRAMEWORKS = {"strawberry", "starlette", "uvicorn", "sqlalchemy", "sqlmodel", "aiosqlite", "asyncpg",
              "redis", "cryptography", "alembic", "graphql", "httpx"}
LAYERS = ["domain", "storage", "outbound", "services", "workers", "api"]


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    package_parts = path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package_parts[: len(package_parts) - node.level + 1]
                found.add(".".join([*base, node.module] if node.module else base))
            elif node.module:
                found.add(node.module)
    return found


def layer_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] == "gql_telephony" and len(parts) > 1 and parts[1] in LAYERS:
        return parts[1]
    return None


@pytest.mark.parametrize("layer", LAYERS)
def test_layer_imports_only_lower_layers(layer):
    allowed = set(LAYERS[: LAYERS.index(layer) + 1])
    for path in (PACKAGE / layer).rglob("*.py"):
        for module in imported_modules(path):
            target = layer_of(module)
            assert target is None or target in allowed, f"{path.name} ({layer}) imports {module}"


def test_domain_is_pure():
    for path in (PACKAGE / "domain").rglob("*.py"):
        for module in imported_modules(path):
            assert module.split(".")[0] not in FRAMEWORKS, f"{path.name} imports {module}"
