"""prometheus-adapter's configuration file (`rules:` and `externalRules:`), parsed once into
frozen rules; a mistake is a `ConfigError` naming the rule and the field."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from examples.prometheus_adapter.templates import Template

QUERY_FIELDS = frozenset({"Series", "LabelMatchers", "LabelValuesByName", "GroupBy",
                          "GroupBySlice"})
RESOURCE_FIELDS = frozenset({"Group", "Resource"})
_KNOWN = {"seriesQuery", "seriesFilters", "resources", "name", "metricsQuery"}


class ConfigError(ValueError):
    pass


@dataclass(frozen=True)
class SeriesFilter:
    pattern: re.Pattern[str]
    positive: bool

    def matches(self, name: str) -> bool:
        return bool(self.pattern.search(name)) == self.positive


@dataclass(frozen=True)
class ResourceMapping:
    template: Template | None = None
    overrides: Mapping[str, tuple[str, str]] = field(default_factory=dict)  # label -> (g, r)
    namespaced: bool = True  # external rules: add the HPA's namespace as a matcher


@dataclass(frozen=True)
class Rule:
    index: int
    external: bool
    series_query: str
    series_filters: tuple[SeriesFilter, ...]
    resources: ResourceMapping
    name_matches: re.Pattern[str]
    name_as: str
    metrics_query: Template

    @property
    def label(self) -> str:
        return f"{'externalRules' if self.external else 'rules'}[{self.index}]"


@dataclass(frozen=True)
class AdapterConfig:
    rules: tuple[Rule, ...] = ()
    external_rules: tuple[Rule, ...] = ()


def _regex(text: str, where: str) -> re.Pattern[str]:
    try:
        return re.compile(text)
    except re.error as exc:
        raise ConfigError(f"{where}: invalid regular expression {text!r}: {exc}") from None


def _filter(raw: Any, where: str) -> SeriesFilter:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: a filter is {{is: <re>}} or {{isNot: <re>}}")
    is_, is_not = raw.get("is") or "", raw.get("isNot") or ""
    if bool(is_) == bool(is_not):
        raise ConfigError(f"{where}: a filter has exactly one of `is` and `isNot`")
    return SeriesFilter(_regex(is_ or is_not, where), bool(is_))


def _resources(raw: Any, where: str) -> ResourceMapping:
    raw = raw or {}
    template = None
    if raw.get("template"):
        try:
            template = Template.parse(str(raw["template"]), RESOURCE_FIELDS)
        except ValueError as exc:
            raise ConfigError(f"{where}.template: {exc}") from None
        if "<<.Resource>>" not in template.source.replace(" ", ""):
            raise ConfigError(f"{where}.template: must include at least <<.Resource>>")
    overrides = {}
    for label, target in (raw.get("overrides") or {}).items():
        if not isinstance(target, Mapping) or not target.get("resource"):
            raise ConfigError(f"{where}.overrides.{label}: needs a `resource`")
        overrides[str(label)] = (str(target.get("group") or ""), str(target["resource"]))
    namespaced = raw.get("namespaced")
    return ResourceMapping(template, overrides, True if namespaced is None else bool(namespaced))


def _rule(raw: Any, index: int, external: bool) -> Rule:
    where = f"{'externalRules' if external else 'rules'}[{index}]"
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: a rule is a mapping")
    if unknown := sorted(set(raw) - _KNOWN):
        raise ConfigError(f"{where}: unknown field(s) {', '.join(unknown)}")
    if not raw.get("seriesQuery"):
        raise ConfigError(f"{where}.seriesQuery: required")
    if not raw.get("metricsQuery"):
        raise ConfigError(f"{where}.metricsQuery: required")
    resources = _resources(raw.get("resources"), f"{where}.resources")
    if not external and resources.template is None and not resources.overrides:
        raise ConfigError(f"{where}.resources: needs a template or overrides (which labels "
                          "name Kubernetes objects?)")
    name = raw.get("name") or {}
    matches_text = str(name.get("matches") or "")
    matches = _regex(matches_text or ".*", f"{where}.name.matches")
    filters = [_filter(f, f"{where}.seriesFilters[{i}]")
               for i, f in enumerate(raw.get("seriesFilters") or [])]
    if matches_text:
        filters.append(SeriesFilter(matches, True))
    name_as = str(name.get("as") or "")
    if not name_as:
        if matches.groups == 0:
            name_as = "$0"
        elif matches.groups == 1:
            name_as = "$1"
        else:
            raise ConfigError(f"{where}.name.as: required when `matches` has several groups")
    try:
        query = Template.parse(str(raw["metricsQuery"]), QUERY_FIELDS)
    except ValueError as exc:
        raise ConfigError(f"{where}.metricsQuery: {exc}") from None
    return Rule(index, external, str(raw["seriesQuery"]), tuple(filters), resources, matches,
                name_as, query)


def parse_config(text: str) -> AdapterConfig:
    try:
        raw = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"not YAML: {exc}") from None
    if not isinstance(raw, Mapping):
        raise ConfigError("the configuration is a mapping with `rules` and `externalRules`")
    return AdapterConfig(
        tuple(_rule(r, i, False) for i, r in enumerate(raw.get("rules") or [])),
        tuple(_rule(r, i, True) for i, r in enumerate(raw.get("externalRules") or [])),
    )
