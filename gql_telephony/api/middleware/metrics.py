"""Prometheus metrics in the text exposition format (version 0.0.4), served at /metrics.

No label names an organization, a key or anything a client chose: routes outside the known
ones are "other", and error codes are the server's own.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from sqlalchemy import event

from ...storage.db import Database

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def _labels(names: tuple[str, ...], values: tuple[str, ...], extra: str = "") -> str:
    pairs = [f'{name}="{_escape(value)}"' for name, value in zip(names, values, strict=True)]
    if extra:
        pairs.append(extra)
    return "{" + ",".join(pairs) + "}" if pairs else ""


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value)) if not float(value).is_integer() else str(int(value))


class Counter:
    def __init__(self, name: str, help_text: str, labels: tuple[str, ...] = ()) -> None:
        self.name, self.help, self.label_names = name, help_text, labels
        self.values: dict[tuple[str, ...], float] = {} if labels else {(): 0.0}

    def inc(self, *labels: str, amount: float = 1.0) -> None:
        self.values[labels] = self.values.get(labels, 0.0) + amount

    def render(self) -> Iterable[str]:
        yield f"# HELP {self.name} {self.help}"
        yield f"# TYPE {self.name} counter"
        for labels, value in sorted(self.values.items()):
            yield f"{self.name}{_labels(self.label_names, labels)} {_number(value)}"


class Gauge:
    def __init__(self, name: str, help_text: str, read: Callable[[], float]) -> None:
        self.name, self.help, self.read = name, help_text, read

    def render(self) -> Iterable[str]:
        yield f"# HELP {self.name} {self.help}"
        yield f"# TYPE {self.name} gauge"
        yield f"{self.name} {_number(self.read())}"


class Histogram:
    def __init__(self, name: str, help_text: str, labels: tuple[str, ...], buckets: tuple[float, ...]) -> None:
        self.name, self.help, self.label_names = name, help_text, labels
        self.bounds = (*buckets, math.inf)
        # per label values: [count per bucket (not cumulative)..., sum]
        self.series: dict[tuple[str, ...], list[float]] = {}

    def observe(self, value: float, *labels: str) -> None:
        series = self.series.setdefault(labels, [0.0] * (len(self.bounds) + 1))
        for index, bound in enumerate(self.bounds):
            if value <= bound:
                series[index] += 1
                break
        series[-1] += value

    def render(self) -> Iterable[str]:
        yield f"# HELP {self.name} {self.help}"
        yield f"# TYPE {self.name} histogram"
        for labels, series in sorted(self.series.items()):
            cumulative = 0.0
            for bound, count in zip(self.bounds, series, strict=False):
                cumulative += count
                le = 'le="' + _number(bound) + '"'
                yield f"{self.name}_bucket{_labels(self.label_names, labels, le)} {_number(cumulative)}"
            yield f"{self.name}_sum{_labels(self.label_names, labels)} {_number(series[-1])}"
            yield f"{self.name}_count{_labels(self.label_names, labels)} {_number(cumulative)}"


class ReadPathCounter:
    """Counts kept by the view itself (api/runtime.py ReadPaths), rendered as one counter."""

    name = "gql_telephony_read_path_total"

    def __init__(self, read_paths: Any) -> None:
        self.read_paths = read_paths

    def render(self) -> Iterable[str]:
        yield f"# HELP {self.name} Queries over HTTP by how they were answered: plan, generic executor or cache."
        yield f"# TYPE {self.name} counter"
        for path, count in (("cache", self.read_paths.cache), ("generic", self.read_paths.generic),
                            ("plan", self.read_paths.planned)):
            yield f'{self.name}{{path="{path}"}} {count}'


class CountsView:
    """A counter whose values another part keeps (a collections.Counter keyed by label values)."""

    def __init__(self, name: str, help_text: str, labels: tuple[str, ...],
                 counts: Mapping[Any, float]) -> None:
        self.name, self.help, self.label_names, self.counts = name, help_text, labels, counts

    def render(self) -> Iterable[str]:
        yield f"# HELP {self.name} {self.help}"
        yield f"# TYPE {self.name} counter"
        for labels, value in sorted(self.counts.items()):
            yield f"{self.name}{_labels(self.label_names, labels)} {_number(value)}"


class Metrics:
    """The metrics of one application; `listeners` reads the number of active subscriptions."""

    def __init__(self, db: Database, listeners: Callable[[], int], read_paths: Any = None,
                 provider_calls: Mapping[tuple[str, str], float] | None = None) -> None:
        self.requests = Counter("gql_telephony_http_requests_total", "HTTP requests by route and status.",
                                ("route", "status"))
        self.durations = Histogram("gql_telephony_http_request_duration_seconds",
                                   "HTTP request durations by route and status.", ("route", "status"),
                                   DURATION_BUCKETS)
        self.graphql_errors = Counter("gql_telephony_graphql_errors_total",
                                      "Errors in GraphQL responses over HTTP, by extensions.code.", ("code",))
        self.sql_statements = Counter("gql_telephony_sql_statements_total", "SQL statements executed.")
        self.subscriptions = Gauge("gql_telephony_active_subscriptions",
                                   "Subscriptions being served (warning-summary listeners).", listeners)
        self.read_paths = ReadPathCounter(read_paths) if read_paths is not None else None
        self.provider_calls = None if provider_calls is None else CountsView(
            "gql_telephony_provider_requests_total",
            "Provider API call attempts by provider and outcome (docs/PROVIDER_CHECKS.md lists the outcomes).",
            ("provider", "outcome"), provider_calls,
        )
        self._db = db
        for engine in db.engines:
            event.listen(engine.sync_engine, "before_cursor_execute", self._count_statement)

    def _count_statement(self, *_args: Any) -> None:
        self.sql_statements.inc()

    def close(self) -> None:
        for engine in self._db.engines:
            if event.contains(engine.sync_engine, "before_cursor_execute", self._count_statement):
                event.remove(engine.sync_engine, "before_cursor_execute", self._count_statement)

    def observe_request(self, route: str, status: int, seconds: float, error_codes: Iterable[str]) -> None:
        self.requests.inc(route, str(status))
        self.durations.observe(seconds, route, str(status))
        for code in error_codes:
            self.graphql_errors.inc(code)

    def render(self) -> str:
        lines: list[str] = []
        for metric in (self.requests, self.durations, self.graphql_errors, self.sql_statements, self.subscriptions):
            lines.extend(metric.render())
        if self.read_paths is not None:
            lines.extend(self.read_paths.render())
        if self.provider_calls is not None:
            lines.extend(self.provider_calls.render())
        return "\n".join(lines) + "\n"
