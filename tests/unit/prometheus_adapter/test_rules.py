"""prometheus-adapter's rules: parsing, templates, naming, association and the PromQL built."""

from __future__ import annotations

import re

import pytest

from examples.prometheus_adapter.config import ConfigError, parse_config
from examples.prometheus_adapter.mapper import ResourceMapper
from examples.prometheus_adapter.naming import Namer, expand
from examples.prometheus_adapter.promql import QueryError, external_query, object_query
from examples.prometheus_adapter.templates import Template
from k8s_aggapi.errors import GroupResource
from k8s_aggapi.registry.selectors import LabelSelector

RULES = """
rules:
- seriesQuery: '{__name__=~"^container_.*",container!="POD",namespace!="",pod!=""}'
  seriesFilters:
  - isNot: "^container_.*_seconds_total$"
  resources:
    overrides:
      namespace: {resource: "namespace"}
      pod: {resource: "pod"}
      microservice: {group: "apps", resource: "deployment"}
  name:
    matches: "^container_(.*)_total$"
  metricsQuery: 'sum(rate(<<.Series>>{<<.LabelMatchers>>,container!="POD"}[2m])) by (<<.GroupBy>>)'
- seriesQuery: '{__name__=~"^kube_.*"}'
  resources:
    template: "kube_<<.Group>>_<<.Resource>>"
  metricsQuery: '<<.Series>>{<<.LabelMatchers>>} <<index .LabelValuesByName "kube_apps_deployment">>'
externalRules:
- seriesQuery: '{__name__="queue_consumer_lag",name!=""}'
  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (name)
  resources:
    namespaced: false
"""


def test_parse_and_defaults() -> None:
    config = parse_config(RULES)
    first, second = config.rules
    assert first.name_as == "$1"
    assert [f.positive for f in first.series_filters] == [False, True]
    assert first.resources.overrides["microservice"] == ("apps", "deployment")
    assert second.name_as == "$0"
    (external,) = config.external_rules
    assert external.resources.namespaced is False
    assert external.label == "externalRules[0]"


@pytest.mark.parametrize(("text", "message"), [
    ("rules: [{metricsQuery: x, resources: {template: '<<.Resource>>'}}]",
     "rules[0].seriesQuery: required"),
    ("rules: [{seriesQuery: x, metricsQuery: x}]", "rules[0].resources: needs a template"),
    ("rules: [{seriesQuery: x, metricsQuery: '<<.Nope>>', resources: {template: "
     "'<<.Resource>>'}}]", "no field Nope"),
    ("rules: [{seriesQuery: x, metricsQuery: '<<range .X>>', resources: {template: "
     "'<<.Resource>>'}}]", "unsupported template action"),
    ("rules: [{seriesQuery: x, metricsQuery: x, name: {matches: '(a)(b)'}, resources: "
     "{template: '<<.Resource>>'}}]", "name.as: required"),
    ("rules: [{seriesQuery: x, metricsQuery: x, bogus: 1, resources: {template: "
     "'<<.Resource>>'}}]", "unknown field(s) bogus"),
    ("externalRules: [{seriesQuery: x, metricsQuery: x, seriesFilters: [{is: a, isNot: b}]}]",
     "exactly one of `is` and `isNot`"),
])
def test_config_errors_name_the_field(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        parse_config(text)


def test_go_expand() -> None:
    m = re.search("^(.*)_(total)$", "http_requests_total")
    assert m is not None
    assert expand("${1}_per_second", m) == "http_requests_per_second"
    assert expand("$1_per_second", m) == ""  # Go reads `$1_per_second` as one group name
    assert expand("$1-$2 $$", m) == "http_requests-total $"
    assert expand("$0", m) == "http_requests_total"


def test_template_prints_like_go() -> None:
    t = Template.parse("<<.GroupBySlice>> <<.LabelValuesByName>>", frozenset(
        {"GroupBySlice", "LabelValuesByName"}))
    assert t.render({"GroupBySlice": ["pod"], "LabelValuesByName": {"pod": "a|b", "ns": "x"}}) \
        == "[pod] map[ns:x pod:a|b]"


def test_association_and_names() -> None:
    config = parse_config(RULES)
    mapper = ResourceMapper()
    overrides, template = Namer(config.rules[0], mapper), Namer(config.rules[1], mapper)
    assert overrides.filter("container_cpu_cfs_periods_total")
    assert not overrides.filter("container_cpu_usage_seconds_total")
    assert not overrides.filter("node_load1")
    assert overrides.metric_name("container_network_packets_total") == "network_packets"
    labels = {"__name__": "x", "namespace": "a", "pod": "b", "microservice": "c", "job": "d"}
    assert overrides.resources_for(labels) == [
        GroupResource("", "namespaces"), GroupResource("", "pods"),
        GroupResource("apps", "deployments")]
    # as upstream's, the template's group part is not empty: `kube__pod` names nothing
    assert template.resources_for({"kube_apps_deployment": "web", "kube__pod": "p"}) == [
        GroupResource("apps", "deployments")]
    assert template.label_for(GroupResource("apps", "statefulsets")) == "kube_apps_statefulset"


def test_object_query() -> None:
    rule = parse_config(RULES).rules[0]
    query = object_query(rule, "container_x_total", "pod", "namespace", "demo", ["a", "b"],
                         LabelSelector.parse("verb in (GET,PUT),code!=500,!debug,env"))
    assert query == (
        'sum(rate(container_x_total{code!="500",debug="",env!="",verb=~"GET|PUT",'
        'namespace="demo",pod=~"a|b",container!="POD"}[2m])) by (pod)')
    single = object_query(rule, "s", "pod", "namespace", "demo", ["a"], LabelSelector())
    assert single == 'sum(rate(s{namespace="demo",pod="a",container!="POD"}[2m])) by (pod)'
    index = parse_config(RULES).rules[1]
    assert object_query(index, "kube_x", "kube_apps_deployment", None, "", ["w1", "w2"],
                        LabelSelector()) == 'kube_x{kube_apps_deployment=~"w1|w2"} w1|w2'


def test_selector_operators() -> None:
    rule = parse_config(RULES).rules[0]
    query = object_query(rule, "s", "pod", None, "", ["a"],
                         LabelSelector.parse("a=1,b!=2,c in (3),d notin (4,5),e,!f"))
    assert 'a="1",b!="2",c=~"3",d!~"4|5",e!="",f=""' in query
    with pytest.raises(QueryError):
        object_query(rule, "s", "pod", None, "", ["a"], LabelSelector.parse("x>1"))
    with pytest.raises(QueryError, match="namespace"):
        object_query(rule, "s", "pod", None, "demo", ["a"], LabelSelector())


def test_external_query_namespaced_or_not() -> None:
    (rule,) = parse_config(RULES).external_rules
    assert external_query(rule, "queue_consumer_lag", None, "demo",
                          LabelSelector.parse("name=jobs")) == (
        'sum(queue_consumer_lag{name="jobs"}) by (name)')
