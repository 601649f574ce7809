"""NodeMetrics and PodMetrics as read-only REST objects: get, list, and a Table convertor.

As upstream's pkg/api (node.go, pod.go, table.go):
- list reads the informers (nodes: `labelSelector` ANDed with `--node-selector`; pods: the
  namespace, `labelSelector`), filters by `fieldSelector` (`metadata.name`, and
  `metadata.namespace` for pods), and leaves out what has no metrics; nodes sorted by name,
  pods by namespace then name; items carry no kind/apiVersion;
- get answers the informer's 404 (`node "x" not found`, `pods "x" not found`) for what it
  does not know, and `nodemetrics.metrics.k8s.io "x"` / `podmetrics.metrics.k8s.io "ns/x"`
  for what has no metrics yet;
- `metadata` is the name, namespace, labels and `creationTimestamp` = the response time;
- the Table has Name, one column per usage key of the first item (sorted), and Window;
  a pod row sums its containers.
No watch: discovery lists get and list only, and `?watch=true` is refused (405).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence

from examples.metrics_server.formats import cpu_quantity, memory_quantity, rfc3339
from examples.metrics_server.informers import NodeInfo, PodInfo
from examples.metrics_server.monitoring import Monitoring
from examples.metrics_server.storage import MetricsStorage, NodeValue, PodValue
from examples.metrics_server.types import API_VERSION, GROUP
from k8s_aggapi.errors import GroupResource, NotFound
from k8s_aggapi.registry.info import ColumnDefinition
from k8s_aggapi.registry.rest import (
    GET_LATEST,
    GetOptions,
    Getter,
    Lister,
    ListOptions,
    Object,
    ObjectList,
    RequestContext,
    Table,
    TableConvertor,
    TableOptions,
    TableRow,
)
from k8s_aggapi.registry.selectors import LabelSelector

NODE_METRICS = GroupResource(GROUP, "nodemetrics")
POD_METRICS = GroupResource(GROUP, "podmetrics")
NODE_LISTER = GroupResource("", "node")
POD_LISTER = GroupResource("", "pods")


def _meta(name: str, labels: Mapping[str, str], now: str, namespace: str = "") -> Object:
    meta: Object = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    meta["creationTimestamp"] = now
    if labels:
        meta["labels"] = dict(labels)
    return meta


class MetricsTable(TableConvertor):
    """Upstream's table.go: Name, the first item's usage keys (sorted, lowercase) as
    quantities, and Window; the handler embeds row objects as `includeObject` asks."""

    def __init__(self, cells: Callable[[Object], tuple[str, dict[str, str], str]]) -> None:
        self.cells = cells  # object -> (name, usage, window)

    @staticmethod
    def column_definitions(names: Sequence[str]) -> tuple[ColumnDefinition, ...]:
        return (ColumnDefinition("Name", "string", "name", "Name of the resource"),
                *(ColumnDefinition(n, "string", "quantity") for n in names),
                ColumnDefinition("Window", "string", "duration"))

    def convert_to_table(self, objects: Sequence[Object], options: TableOptions) -> Table:
        names: list[str] = []
        rows = []
        for index, obj in enumerate(objects):
            name, usage, window = self.cells(obj)
            if index == 0:
                names = sorted(k.lower() for k in usage)
            rows.append(TableRow([name, *(usage.get(k, "") for k in names), window], obj))
        return Table(None if options.no_headers else self.column_definitions(names), rows)


def _node_cells(obj: Object) -> tuple[str, dict[str, str], str]:
    return obj["metadata"]["name"], obj.get("usage") or {}, obj.get("window", "")


def _pod_cells(obj: Object) -> tuple[str, dict[str, str], str]:
    cpu = memory = 0
    for container in obj.get("containers") or []:
        usage = container.get("usage") or {}
        cpu += _parse_cpu(usage.get("cpu", "0"))
        memory += _parse_memory(usage.get("memory", "0"))
    usage = {"cpu": cpu_quantity(cpu), "memory": memory_quantity(memory)} if obj.get(
        "containers") else {}
    return obj["metadata"]["name"], usage, obj.get("window", "")


_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_BINARY = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}


def _parse_cpu(text: str) -> int:
    """Nanocores of a quantity this server wrote."""
    digits = text.rstrip("numkMGTPE")
    exponent = _DECIMAL[text[len(digits):]] + 9
    scale: int = 10 ** abs(exponent)
    return int(digits) * scale if exponent >= 0 else int(digits) // scale


def _parse_memory(text: str) -> int:
    if text[-2:] in _BINARY:
        return int(text[:-2]) << _BINARY[text[-2:]]
    digits = text.rstrip("kMGTPE")
    scale: int = 10 ** _DECIMAL[text[len(digits):]]
    return int(digits) * scale


class NodeMetricsREST(Getter, Lister, TableConvertor):
    """`nodes` (cluster-scoped, kind NodeMetrics): get and list."""

    def __init__(self, storage: MetricsStorage, nodes: Mapping[str, NodeInfo],
                 node_selector: LabelSelector, monitoring: Monitoring | None = None) -> None:
        self.storage, self.nodes, self.node_selector = storage, nodes, node_selector
        self.monitoring = monitoring
        self.table = MetricsTable(_node_cells)

    def convert_to_table(self, objects: Sequence[Object], options: TableOptions) -> Table:
        return self.table.convert_to_table(objects, options)

    def _object(self, node: NodeInfo, value: NodeValue, now: str) -> Object:
        timestamp, window, usage = value.wire()
        return {"metadata": _meta(node.name, node.labels, now), "timestamp": timestamp,
                "window": window, "usage": usage}

    def _observe(self, timestamps: list[int]) -> None:
        if self.monitoring is not None and timestamps:
            now = time.time_ns()
            for ts in timestamps:
                self.monitoring.freshness.observe((now - ts) / 1e9)

    async def get(self, ctx: RequestContext, name: str,
                  options: GetOptions = GET_LATEST) -> Object:
        node = self.nodes.get(name)
        if node is None:
            raise NotFound(NODE_LISTER, name)
        value = self.storage.node(name)
        if value is None:
            raise NotFound(NODE_METRICS, name)
        self._observe([value.usage.timestamp])
        return {"kind": "NodeMetrics", "apiVersion": API_VERSION,
                **self._object(node, value, rfc3339(time.time_ns()))}

    async def list(self, ctx: RequestContext, options: ListOptions) -> ObjectList:
        now = rfc3339(time.time_ns())
        labels, fields = options.label_selector, options.field_selector
        items, stamps = [], []
        for name in sorted(self.nodes):
            node = self.nodes[name]
            if not (self.node_selector.matches(node.labels) and labels.matches(node.labels)):
                continue
            value = self.storage.node(name)
            if value is None:
                continue
            obj = self._object(node, value, now)
            if fields.terms and not fields.matches(obj):
                continue
            items.append(obj)
            stamps.append(value.usage.timestamp)
        self._observe(stamps)
        return ObjectList(items)


class PodMetricsREST(Getter, Lister, TableConvertor):
    """`pods` (namespaced, kind PodMetrics): get and list."""

    def __init__(self, storage: MetricsStorage, pods: Mapping[tuple[str, str], PodInfo],
                 monitoring: Monitoring | None = None) -> None:
        self.storage, self.pods, self.monitoring = storage, pods, monitoring
        self.table = MetricsTable(_pod_cells)

    def convert_to_table(self, objects: Sequence[Object], options: TableOptions) -> Table:
        return self.table.convert_to_table(objects, options)

    @staticmethod
    def _object(pod: PodInfo, value: PodValue, now: str) -> Object:
        timestamp, window, containers = value.wire()
        return {"metadata": _meta(pod.name, pod.labels, now, pod.namespace),
                "timestamp": timestamp, "window": window, "containers": containers}

    def _observe(self, timestamps: list[int]) -> None:
        if self.monitoring is not None and timestamps:
            now = time.time_ns()
            for ts in timestamps:
                self.monitoring.freshness.observe((now - ts) / 1e9)

    async def get(self, ctx: RequestContext, name: str,
                  options: GetOptions = GET_LATEST) -> Object:
        pod = self.pods.get((ctx.namespace, name))
        if pod is None:
            raise NotFound(POD_LISTER, name)
        value = self.storage.pod(ctx.namespace, name)
        if value is None:
            raise NotFound(POD_METRICS, f"{ctx.namespace}/{name}")
        if value.timestamp is not None:
            self._observe([value.timestamp])
        return {"kind": "PodMetrics", "apiVersion": API_VERSION,
                **self._object(pod, value, rfc3339(time.time_ns()))}

    async def list(self, ctx: RequestContext, options: ListOptions) -> ObjectList:
        now = rfc3339(time.time_ns())
        labels, fields = options.label_selector, options.field_selector
        namespace = ctx.namespace
        keys = sorted(k for k in self.pods if not namespace or k[0] == namespace)
        items, stamps = [], []
        storage_pod = self.storage.pod
        for key in keys:
            pod = self.pods[key]
            if labels.requirements and not labels.matches(pod.labels):
                continue
            value = storage_pod(*key)
            if value is None:
                continue
            obj = self._object(pod, value, now)
            if fields.terms and not fields.matches(obj):
                continue
            items.append(obj)
            if value.timestamp is not None:
                stamps.append(value.timestamp)
        self._observe(stamps)
        return ObjectList(items)
