"""Strawberry's runner of schema extensions, calling only the hooks an extension has.

Strawberry calls every extension's `get_results` and `on_stream_result` for each result, also
for each event of each subscription, where that is once per subscriber; ours have neither, so
those calls (a tenth of a subscriber's cost per event, before shared_events.py) are skipped."""

from __future__ import annotations

from typing import Any

from strawberry.extensions import SchemaExtension
from strawberry.extensions.context import StreamResultContextManager
from strawberry.extensions.runner import SchemaExtensionsRunner
from strawberry.types import ExecutionContext, StreamExecutionResult
from strawberry.utils.await_maybe import await_maybe


def _has(extension: SchemaExtension, hook: str) -> bool:
    return getattr(type(extension), hook) is not getattr(SchemaExtension, hook)


class ExtensionHooks(SchemaExtensionsRunner):
    def __init__(self, execution_context: ExecutionContext, extensions: list[SchemaExtension] | None = None) -> None:
        super().__init__(execution_context, extensions)
        self._with_results = [e for e in self.extensions if _has(e, "get_results")]
        self._on_stream_result = [e for e in self.extensions if _has(e, "on_stream_result")]

    def on_stream_result(self, result: StreamExecutionResult) -> StreamResultContextManager:
        return StreamResultContextManager(self._on_stream_result, result)

    async def get_extensions_results(self, ctx: ExecutionContext) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for extension in self._with_results:
            data.update(await await_maybe(extension.get_results()))
        data.update(ctx.extensions_results)
        return data
