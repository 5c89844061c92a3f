"""A short reading of a profile of the GraphQL server taken by bench/dashboard.py --profile.

py-spy (collapsed stacks, sampled with --gil: only the thread holding the GIL, so idle waits
and SQLite's own C work are not in it): self time by library, the share of samples under a few
known phases (a sample can be under several), and the functions with the most self time.
cProfile: the functions with the most own time and the most cumulative time.

Usage: .venv/bin/python -m bench.profile_summary py-spy|cprofile FILE
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path

LIBRARIES = [  # the first match of the frame's file path wins
    ("graphql/", "graphql-core"), ("strawberry/", "strawberry"), ("sqlalchemy/", "SQLAlchemy"),
    ("sqlmodel/", "SQLModel"), ("aiosqlite/", "aiosqlite"), ("starlette/", "Starlette"),
    ("uvicorn/", "uvicorn"), ("gql_telephony/", "gql_telephony"), ("json/", "json (stdlib)"),
    ("cryptography/", "cryptography"), ("logging/", "logging (stdlib)"), ("asyncio/", "asyncio (stdlib)"),
    ("greenlet", "greenlet"), ("uvloop", "uvloop"), ("typing", "typing (stdlib)"),
]

PHASES = [  # (label, pattern matched against every frame of a stack)
    ("GraphQL parse (graphql-core parse, all calls)", r"^parse \(graphql/language/parser\.py"),
    ("GraphQL validation (graphql-core validate)", r"^validate \(graphql/validation/validate\.py"),
    ("request guard: limits/cost walk (gql_telephony)", r"^RequestGuard\.|^check_operation \(gql_telephony"),
    ("resolvers and result completion (graphql-core executor)", r"^Executor\.|^execute \(graphql/execution"),
    ("DataLoader batches (strawberry dataloader)", r"strawberry/dataloader\.py"),
    ("SQLAlchemy (sessions, ORM, pool; its time waiting is not sampled)", r"\(sqlalchemy/"),
    ("authentication (API key lookup)", r"^authenticate \(gql_telephony"),
    ("credentials: decrypt, mask, warnings (gql_telephony)", r"^(present_config|decrypt_json|warnings_of|config_warnings|stored_config|present_keys) \("),
    ("JSON encoding of the response (json.dumps)", r"^dumps \(json/"),
    ("logging", r"\(logging/"),
]


def library(frame: str) -> str:
    where = frame[frame.rfind("(") + 1:]
    for needle, name in LIBRARIES:
        if needle in where:
            return name
    return "other (stdlib, C calls)"


def summarize_py_spy(path: Path, top: int = 15) -> None:
    total = 0
    by_library: Counter[str] = Counter()
    by_function: Counter[str] = Counter()
    by_phase: Counter[str] = Counter()
    compiled = [(label, re.compile(pattern)) for label, pattern in PHASES]
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        samples = int(count)
        frames = [re.sub(r":\d+\)$", ")", f) for f in stack.split(";")]
        total += samples
        leaf = frames[-1] or "(unknown)"
        by_library[library(leaf)] += samples
        by_function[leaf] += samples
        for label, pattern in compiled:
            if any(pattern.search(frame) for frame in frames):
                by_phase[label] += samples
    if not total:
        print(f"no samples in {path}")
        return
    print(f"profile of the GraphQL server (py-spy --gil, {total} samples, {path}):")
    print("  self time by library:")
    for name, samples in by_library.most_common():
        print(f"    {100 * samples / total:5.1f}%  {name}")
    print("  samples under each phase (inclusive; phases overlap):")
    for label, _ in PHASES:
        print(f"    {100 * by_phase[label] / total:5.1f}%  {label}")
    print(f"  top {top} functions by self time:")
    for name, samples in by_function.most_common(top):
        print(f"    {100 * samples / total:5.1f}%  {name}")


def summarize_cprofile(path: Path, top: int = 20) -> None:
    import pstats

    stats = pstats.Stats(str(path))
    print(f"profile of the GraphQL server (cProfile, {path}): own time")
    stats.sort_stats("tottime").print_stats(top)
    print("cumulative time")
    stats.sort_stats("cumulative").print_stats(top)


def summarize(kind: str, path: Path) -> None:
    (summarize_py_spy if kind == "py-spy" else summarize_cprofile)(path)


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("py-spy", "cprofile"):
        raise SystemExit(__doc__)
    summarize(sys.argv[1], Path(sys.argv[2]))
