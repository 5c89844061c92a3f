"""One bound in bytes for everything the process keeps per query document.

Three things are kept per document: whole responses (http/response_cache.py), parsed and
validated documents and compiled plans (plans/runner.py). Each is a shelf of one `MemoryBound`:
every entry is charged its estimated size when it is put, and the least recently used entry of
any shelf goes first when a new one would pass the bound. The estimates are calibrated with
tracemalloc (docs/PERFORMANCE.md, "Memory, after one bound for everything kept per document"):
the bytes an entry holds as Python objects, its key and its slots included.
"""

from __future__ import annotations

import sys
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from typing import Any, Generic, TypeVar

# The entry's slot in the bound's ordered dict and in its shelf's own index, the key's tuple and
# the entry object: measured about 490 bytes for a response beyond its texts, rounded up.
ENTRY_BYTES = 500
# A parsed and validated document, per AST node (a field, a name, an argument...): measured
# 187 to 450 bytes for dashboard-like documents (357 fitted), plus the fragments and limits kept.
DOCUMENT_BYTES_PER_NODE = 400
# A compiled plan: per object type plan (its generated builder function and code object) and per
# field plan (measured 926 and 503 bytes fitted over 129 generated documents), rounded up.
PLAN_BYTES_PER_TYPE = 1000
PLAN_BYTES_PER_FIELD = 600
# The bound when no response is kept (GQL_TELEPHONY_RESPONSE_CACHE_MB=0): documents and plans
# still are, about 250 dashboard documents with their plans.
DOCUMENTS_ONLY_MB = 16
# No single entry may take more than this share of the bound: it would push out everything else.
LARGEST_SHARE = 8

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def text_bytes(*texts: str | bytes | None) -> int:
    """The bytes Python holds for these strings (header included); None is shared, 0."""
    return sum(sys.getsizeof(text) for text in texts if text is not None)


def document_bytes(query: str, nodes: int) -> int:
    """A prepared document, kept under its text."""
    return text_bytes(query) + nodes * DOCUMENT_BYTES_PER_NODE + ENTRY_BYTES


def plan_bytes(key_texts: Iterable[str | None], types: int, fields: int) -> int:
    """A compiled plan of `types` object type plans and `fields` field plans, kept under a key
    holding these texts (the document's among them)."""
    texts = [text for text in key_texts if isinstance(text, str)]
    return text_bytes(*texts) + types * PLAN_BYTES_PER_TYPE + fields * PLAN_BYTES_PER_FIELD + ENTRY_BYTES


class MemoryBound:
    """Entries of several shelves, least recently used first out, their charged sizes together
    never over `max_bytes`."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.used = 0
        # (shelf, key) -> (value, charged size), least recently used first.
        self._entries: OrderedDict[tuple[Shelf[Any, Any], Hashable], tuple[Any, int]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def shelf(self, name: str, on_drop: Callable[[Any], None] | None = None) -> Shelf[Any, Any]:
        """A kind of entry kept within this bound; `on_drop(key)` is told of each one that goes."""
        return Shelf(self, name, on_drop)

    def clear(self) -> None:
        """Drops every entry, each shelf told of its own."""
        while self._entries:
            (shelf, key), _ = next(iter(self._entries.items()))
            shelf._drop(key)

    def charged(self) -> dict[str, int]:
        """The bytes charged per shelf (for tests and diagnostics)."""
        found: dict[str, int] = {}
        for (shelf, _), (_, size) in self._entries.items():
            found[shelf.name] = found.get(shelf.name, 0) + size
        return found


class Shelf(Generic[K, V]):
    def __init__(self, bound: MemoryBound, name: str, on_drop: Callable[[K], None] | None) -> None:
        self.bound, self.name, self.on_drop = bound, name, on_drop
        self.count = 0

    def __len__(self) -> int:
        return self.count

    def get(self, key: K) -> V | None:
        entries = self.bound._entries
        found = entries.get((self, key))
        if found is None:
            return None
        entries.move_to_end((self, key))
        value: V = found[0]
        return value

    def put(self, key: K, value: V, size: int) -> bool:
        """Keeps the value, charged `size` bytes, after dropping the least recently used entries
        of every shelf as far as needed; False when it is too large to keep at all."""
        bound = self.bound
        if size > bound.max_bytes // LARGEST_SHARE:
            return False
        self.remove(key)
        entries = bound._entries
        while entries and bound.used + size > bound.max_bytes:
            (shelf, oldest), _ = next(iter(entries.items()))
            shelf._drop(oldest)
        entries[(self, key)] = (value, size)
        bound.used += size
        self.count += 1
        return True

    def remove(self, key: K) -> None:
        """Drops the entry if there is one (its shelf's `on_drop` is not told: the caller knows)."""
        found = self.bound._entries.pop((self, key), None)
        if found is not None:
            self.bound.used -= found[1]
            self.count -= 1

    def _drop(self, key: K) -> None:
        self.remove(key)
        if self.on_drop is not None:
            self.on_drop(key)
