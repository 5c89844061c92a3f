"""The issue's goals as the benchmark meets them: each part records its figure here as it
prints it, and `make bench` ends with all of them together."""

from __future__ import annotations

import sys
from dataclasses import dataclass


@dataclass(frozen=True)
class Goal:
    name: str  # what is measured, e.g. "SQLite 25x40 cold read / denormalized floor"
    figure: str  # the figure, e.g. "0.412x"
    goal: str  # e.g. ">= 0.5x"
    met: bool


RECORDED: list[Goal] = []


def record(name: str, figure: str, goal: str, met: bool) -> None:
    found = Goal(name, figure, goal, met)
    RECORDED.append(found)
    print(f"  GOAL {line(found)}", flush=True)


def line(found: Goal) -> str:
    return f"{found.name}: {found.figure} (goal {found.goal}: {'met' if found.met else 'NOT met'})"


def summary() -> None:
    if not RECORDED:
        return
    width = max(len(g.name) for g in RECORDED)
    print(f"\nevery goal of issue 16, as measured in this run ({sum(g.met for g in RECORDED)} of {len(RECORDED)} met):")
    for found in RECORDED:
        print(f"  {found.name:<{width}}  {found.figure:>12}  goal {found.goal:<9} {'met' if found.met else 'NOT met'}")
    sys.stdout.flush()
