"""The runner of schema extensions (api/graph/extension_hooks.py) skips only hooks an extension
does not have: one that has `get_results` or `on_stream_result` still has them called."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

from strawberry.extensions import SchemaExtension

from gql_telephony.api.graph.extension_hooks import ExtensionHooks


class Plain(SchemaExtension):
    pass


class WithHooks(SchemaExtension):
    def __init__(self) -> None:
        self.streamed: list[Any] = []

    def get_results(self) -> dict[str, Any]:
        return {"mine": 1}

    def on_stream_result(self, result: Any) -> Iterator[None]:
        self.streamed.append(result)
        yield


async def test_an_extensions_own_hooks_still_run_and_the_others_are_skipped():
    with_hooks = WithHooks()
    context: Any = SimpleNamespace(extensions_results={"theirs": 2})
    runner = ExtensionHooks(context, [Plain(), with_hooks])
    assert await runner.get_extensions_results(context) == {"mine": 1, "theirs": 2}
    async with runner.on_stream_result("a result"):  # type: ignore[arg-type]  # any value passes through
        pass
    assert with_hooks.streamed == ["a result"]
    assert await ExtensionHooks(context, [Plain()]).get_extensions_results(context) == {"theirs": 2}
