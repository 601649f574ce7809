"""Series discovery: every rule's `seriesQuery` asked of Prometheus on an interval, each series
named and associated, the result swapped in at once. Each rule keeps what it found and its
last query and error (`RuleStatus`), logged per rule after every relist and shown by
`python -m examples.prometheus_adapter explain`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from examples.prometheus_adapter.config import Rule
from examples.prometheus_adapter.mapper import ResourceMapper
from examples.prometheus_adapter.naming import NAMESPACES, ROOT_SCOPED, Namer
from examples.prometheus_adapter.prometheus import PrometheusClient, PrometheusError
from k8s_aggapi.custommetrics import CustomMetricInfo
from k8s_aggapi.errors import GroupResource

log = logging.getLogger("prometheus_adapter")


@dataclass
class RuleStatus:
    """What one rule did last: the operator's first question when a metric is missing."""

    rule: str
    series_query: str
    series: int = 0
    series_kept: int = 0
    metrics: list[str] = field(default_factory=list)
    unassociated: list[str] = field(default_factory=list)  # series with no object label
    discovery_error: str = ""
    last_query: str = ""
    last_query_error: str = ""

    def line(self) -> str:
        parts = [f"{self.rule} {self.series_query!r}: {self.series} series, "
                 f"{self.series_kept} kept, metrics [{', '.join(self.metrics)}]"]
        if self.unassociated:
            parts.append(f"no object label on {', '.join(self.unassociated[:5])}")
        if self.discovery_error:
            parts.append(f"discovery error: {self.discovery_error}")
        if self.last_query:
            parts.append(f"last query {self.last_query!r}")
        if self.last_query_error:
            parts.append(f"its error: {self.last_query_error}")
        return "; ".join(parts)


@dataclass(frozen=True)
class Found:
    series: str
    namer: Namer


class SeriesRegistry:
    def __init__(self, rules: Sequence[Rule], external_rules: Sequence[Rule],
                 prometheus: PrometheusClient, mapper: ResourceMapper, *,
                 max_age: float = 1200.0) -> None:
        self.prometheus, self.mapper, self.max_age = prometheus, mapper, max_age
        self.namers = [Namer(r, mapper) for r in rules]
        self.external_namers = [Namer(r, mapper) for r in external_rules]
        self.status = {n.rule.label: RuleStatus(n.rule.label, n.rule.series_query)
                       for n in [*self.namers, *self.external_namers]}
        self.custom: dict[tuple[GroupResource, str], tuple[CustomMetricInfo, Found]] = {}
        self.external: dict[str, Found] = {}
        self.last_relist = 0.0
        self.relist_error = ""
        self._logged: dict[str, str] = {}

    async def relist(self) -> None:
        """Ask every distinct seriesQuery once, in parallel, then rebuild both tables."""
        queries = {n.rule.series_query for n in [*self.namers, *self.external_namers]}
        answers = await asyncio.gather(
            *(self.prometheus.series(q, self.max_age) for q in sorted(queries)),
            return_exceptions=True)
        by_query = dict(zip(sorted(queries), answers, strict=True))
        custom: dict[tuple[GroupResource, str], tuple[CustomMetricInfo, Found]] = {}
        external: dict[str, Found] = {}
        errors = []
        for namer in [*self.namers, *self.external_namers]:
            status = self.status[namer.rule.label]
            answer = by_query[namer.rule.series_query]
            status.metrics, status.unassociated = [], []
            if isinstance(answer, BaseException):
                status.discovery_error = str(answer)
                errors.append(f"{namer.rule.label}: {answer}")
                # keep serving what the rule found before: a Prometheus hiccup is no reason to
                # make every HPA fail
                if namer.rule.external:
                    external.update({m: f for m, f in self.external.items() if f.namer is namer})
                else:
                    custom.update({k: v for k, v in self.custom.items() if v[1].namer is namer})
                continue
            status.discovery_error = ""
            kept = [s for s in answer if namer.filter(s.get("__name__", ""))]
            status.series, status.series_kept = len(answer), len(kept)
            for labels in kept:
                series = labels.get("__name__", "")
                metric = namer.metric_name(series)
                if not metric:
                    continue
                if namer.rule.external:
                    external.setdefault(metric, Found(series, namer))
                    _add(status.metrics, metric)
                    continue
                resources = namer.resources_for(labels)
                if not resources:
                    _add(status.unassociated, series)
                for gr in resources:
                    info = CustomMetricInfo(gr, gr not in ROOT_SCOPED, metric)
                    custom.setdefault((gr, metric), (info, Found(series, namer)))
                    _add(status.metrics, f"{gr}/{metric}")
            if namer.unmapped:
                status.discovery_error = "; ".join(
                    f"override {k}: {v}" for k, v in namer.unmapped.items())
        self.custom, self.external = custom, external
        self.last_relist = time.time()
        self.relist_error = "; ".join(errors)
        for label, status in self.status.items():
            line = status.line()
            # a rule's line at info when it changes (and at -v 4 every relist)
            log.log(logging.INFO if self._logged.get(label) != line else logging.DEBUG, "%s", line)
            self._logged[label] = line

    async def run(self, interval: float,
                  before: Callable[[], Awaitable[None]] | None = None) -> None:
        while True:
            try:
                if before is not None:
                    await before()
                await self.relist()
            except Exception:  # one bad relist must not stop discovery for good
                log.exception("relist failed")
            await asyncio.sleep(interval)

    def namespace_label(self, namer: Namer) -> str | None:
        return namer.label_for(NAMESPACES)

    def record_query(self, namer: Namer, query: str, error: str = "") -> None:
        status = self.status[namer.rule.label]
        status.last_query, status.last_query_error = query, error
        if error:
            log.warning("%s: query %r failed: %s", namer.rule.label, query, error)
        else:
            log.debug("%s: query %r", namer.rule.label, query)


def _add(items: list[str], item: str) -> None:
    if item not in items:
        items.append(item)


@contextlib.asynccontextmanager
async def relisting(registry: SeriesRegistry, interval: float,
                    before: Callable[[], Awaitable[None]] | None = None,
                    ) -> AsyncIterator[SeriesRegistry]:
    """Relist every `interval` seconds (the first at once) while the block runs."""
    task = asyncio.create_task(registry.run(interval, before), name="series relist")
    try:
        yield registry
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


__all__ = ["PrometheusError", "RuleStatus", "SeriesRegistry", "relisting"]
