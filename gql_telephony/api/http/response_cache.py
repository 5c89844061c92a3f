"""Whole query responses, kept per organization and data version.

Every write bumps its organization's data version in its own transaction
(services/unit_of_work.py), and every request reads the version together with its API key,
before it reads any data. An entry is stored under the version its request read, so it is
only ever served to requests that read that same version: requests that began before the
next write committed. No request that begins after a commit is answered from before it, in
this process or any other, because the version lives in the database.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, NamedTuple

from ..memory_bound import ENTRY_BYTES, MemoryBound, text_bytes


class CacheKey(NamedTuple):
    org_id: int
    data_version: int
    query: str
    operation_name: str | None
    variables: str  # canonical JSON: the same values in any key order make the same key
    api_key_id: int = 0  # the key's own, for a document that may show the key (Query.viewer); else 0


@dataclass(frozen=True, slots=True)
class CachedResponse:
    body: bytes
    operation_type: str
    operation_name: str | None

    def size(self, key: CacheKey) -> int:
        """Charged to the memory bound: the body, the key's texts, the slots (memory_bound.py)."""
        return text_bytes(self.body, key.query, key.variables, key.operation_name) + ENTRY_BYTES


# A document selects Query.viewer only by spelling its name: one that never does answers alike for
# every key of the organization, and shares its entries with them.
KEY_DEPENDENT_FIELD = "viewer"


def cache_key(org_id: int, data_version: int, query: str, operation_name: str | None,
              variables: dict[str, Any] | None, *, api_key_id: int = 0) -> CacheKey:
    """`api_key_id`: the requesting key, kept in the key only when the document may show it."""
    canonical = json.dumps(variables, sort_keys=True, separators=(",", ":")) if variables else ""
    shown_key = api_key_id if KEY_DEPENDENT_FIELD in query else 0
    return CacheKey(org_id, data_version, query, operation_name, canonical, shown_key)


class ResponseCache:
    """Kept within the process's one bound for everything kept per document (memory_bound.py),
    with the documents and plans. Entries of an organization's older versions can never be
    served again and are dropped as soon as a newer one is stored."""

    def __init__(self, bound: MemoryBound) -> None:
        self._shelf = bound.shelf("responses", on_drop=self._forget)
        self._by_org: dict[int, set[CacheKey]] = {}
        self._newest: dict[int, int] = {}

    def __len__(self) -> int:
        return len(self._shelf)

    def get(self, key: CacheKey) -> CachedResponse | None:
        entry: CachedResponse | None = self._shelf.get(key)
        return entry

    def put(self, key: CacheKey, entry: CachedResponse) -> None:
        newest = self._newest.get(key.org_id, 0)
        if key.data_version < newest:
            return  # made under a version already replaced: nobody will ask for it
        if key.data_version > newest:
            self._newest[key.org_id] = key.data_version
            for stale in list(self._by_org.get(key.org_id, ())):
                self._shelf.remove(stale)
                self._forget(stale)
        if self._shelf.put(key, entry, entry.size(key)):
            self._by_org.setdefault(key.org_id, set()).add(key)

    def _forget(self, key: CacheKey) -> None:
        keys = self._by_org.get(key.org_id)
        if keys is not None:
            keys.discard(key)
            if not keys:
                del self._by_org[key.org_id]
