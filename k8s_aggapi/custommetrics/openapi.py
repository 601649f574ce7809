"""What the metrics endpoints publish in /openapi/v2 and /openapi/v3: their GETs (paths and
operation names as custom-metrics-apiserver's installer registers them) and the definitions of
`MetricValueList` (v1beta2, v1beta1) and `ExternalMetricValueList`, as k8s.io/metrics'
types serialise (`wire.py`), in Swagger 2.0 form (the OpenAPI writer converts them for v3).
"""

from __future__ import annotations

from typing import Any

from k8s_aggapi.api import EndpointOperation
from k8s_aggapi.custommetrics.wire import CUSTOM_GROUP, EXTERNAL_GROUP

Schema = dict[str, Any]
REF = "#/definitions/"
META = "io.k8s.apimachinery.pkg.apis.meta.v1."
QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"
OBJECT_REFERENCE = "io.k8s.api.core.v1.ObjectReference"
LABEL_SELECTOR = META + "LabelSelector"
REQUIREMENT = META + "LabelSelectorRequirement"
GVK = "x-kubernetes-group-version-kind"

RESOURCE = ("resource", "the name of the resource")
NAME = ("name", "name of the described resource")
SUBRESOURCE = ("subresource", "the name of the subresource (the metric)")
NAMESPACE = ("namespace", "object name and auth scope, such as for teams and projects")
METRIC_SELECTOR = ("metricLabelSelector",
                   "A selector to restrict the list of returned metrics by their labels")
CUSTOM_DOC = "list custom metrics describing an object or objects"


def _ref(name: str, description: str = "") -> Schema:
    return {"description": description, "$ref": REF + name} if description else {"$ref": REF + name}


def _string(description: str) -> Schema:
    return {"description": description, "type": "string", "default": ""}


def _type_meta() -> Schema:
    return {"apiVersion": {"description": "the versioned schema of this object", "type": "string"},
            "kind": {"description": "the REST resource this object represents", "type": "string"}}


def _list(item: str, group: str, version: str, kind: str, doc: str) -> Schema:
    return {"description": doc, "type": "object", "required": ["items"],
            "properties": {**_type_meta(),
                           "items": {"description": "the metric values", "type": "array",
                                     "items": {"default": {}, "$ref": REF + item}},
                           "metadata": {"default": {}, "$ref": REF + META + "ListMeta"}},
            GVK: [{"group": group, "kind": kind, "version": version}]}


def shared_definitions() -> dict[str, Schema]:
    """The non-metrics types the values reference (kube-apiserver publishes them too)."""
    return {
        QUANTITY: {"description": "a fixed-point number with a unit suffix (resource.Quantity)",
                   "type": "string"},
        OBJECT_REFERENCE: {
            "description": "the object a metric describes", "type": "object",
            "properties": {n: {"description": d, "type": "string"} for n, d in (
                ("apiVersion", "API version of the referent"), ("fieldPath", "a field within it"),
                ("kind", "kind of the referent"), ("name", "name of the referent"),
                ("namespace", "namespace of the referent"),
                ("resourceVersion", "resource version of the referent"),
                ("uid", "UID of the referent"))},
            "x-kubernetes-map-type": "atomic"},
        LABEL_SELECTOR: {
            "description": "a label query over a set of resources", "type": "object",
            "properties": {
                "matchExpressions": {"description": "requirements, ANDed", "type": "array",
                                     "items": {"default": {}, "$ref": REF + REQUIREMENT},
                                     "x-kubernetes-list-type": "atomic"},
                "matchLabels": {"description": "{key: value} pairs, ANDed", "type": "object",
                                "additionalProperties": {"type": "string", "default": ""}}},
            "x-kubernetes-map-type": "atomic"},
        REQUIREMENT: {
            "description": "a selector requirement: a key, an operator and values",
            "type": "object", "required": ["key", "operator"],
            "properties": {"key": _string("the label key"),
                           "operator": _string("In, NotIn, Exists or DoesNotExist"),
                           "values": {"description": "the values", "type": "array",
                                      "items": {"type": "string", "default": ""},
                                      "x-kubernetes-list-type": "atomic"}}},
    }


def custom_definitions(version: str) -> dict[str, Schema]:
    prefix = f"io.k8s.metrics.pkg.apis.custom_metrics.{version}."
    value: Schema = {
        "description": "a metric value for some object", "type": "object",
        "properties": {**_type_meta(),
                       "describedObject": _ref(OBJECT_REFERENCE, "the object the metric is of"),
                       "timestamp": _ref(META + "Time", "when the value was observed"),
                       "value": _ref(QUANTITY, "the value of the metric for this object")}}
    if version == "v1beta2":
        value["required"] = ["describedObject", "metric", "timestamp", "value"]
        value["properties"]["metric"] = _ref(prefix + "MetricIdentifier", "name and selector")
        value["properties"]["windowSeconds"] = {
            "description": "the window ([Timestamp-Window, Timestamp]) the value is over",
            "type": "integer", "format": "int64"}
        extra = {prefix + "MetricIdentifier": {
            "description": "a metric's name and the selector of its labels", "type": "object",
            "required": ["name"],
            "properties": {"name": _string("the name of the metric"),
                           "selector": _ref(LABEL_SELECTOR, "the labels of the metric")}}}
    else:
        value["required"] = ["describedObject", "metricName", "timestamp", "value"]
        value["properties"]["metricName"] = _string("the name of the metric")
        value["properties"]["window"] = {
            "description": "the window ([Timestamp-Window, Timestamp]) the value is over",
            "type": "integer", "format": "int64"}
        value["properties"]["selector"] = _ref(LABEL_SELECTOR, "the labels of the metric")
        extra = {}
    return {
        prefix + "MetricValueList": _list(prefix + "MetricValue", CUSTOM_GROUP, version,
                                          "MetricValueList", "a list of values for a metric"),
        prefix + "MetricValue": value, **extra, **shared_definitions()}


def external_definitions() -> dict[str, Schema]:
    prefix = "io.k8s.metrics.pkg.apis.external_metrics.v1beta1."
    value: Schema = {
        "description": "a metric value for an external metric", "type": "object",
        "required": ["metricName", "metricLabels", "timestamp", "value"],
        "properties": {
            **_type_meta(), "metricName": _string("the name of the metric"),
            "metricLabels": {"description": "the labels of this value", "type": "object",
                             "additionalProperties": {"type": "string", "default": ""}},
            "timestamp": _ref(META + "Time", "when the value was observed"),
            "window": {"description": "the window ([Timestamp-Window, Timestamp]) of the value",
                       "type": "integer", "format": "int64"},
            "value": _ref(QUANTITY, "the value of the metric")}}
    return {
        prefix + "ExternalMetricValueList": _list(
            prefix + "ExternalMetricValue", EXTERNAL_GROUP, "v1beta1",
            "ExternalMetricValueList", "a list of values for an external metric"),
        prefix + "ExternalMetricValue": value, **shared_definitions()}


def custom_operations(version: str) -> list[EndpointOperation]:
    answer = f"io.k8s.metrics.pkg.apis.custom_metrics.{version}.MetricValueList"
    extra = (METRIC_SELECTOR,)
    return [
        EndpointOperation("{resource}/{name}/{subresource}", "listMetricValue", CUSTOM_DOC,
                          answer, (RESOURCE, NAME, SUBRESOURCE), extra),
        EndpointOperation("namespaces/{namespace}/{resource}/{name}/{subresource}",
                          "listNamespacedMetricValue", CUSTOM_DOC, answer,
                          (NAMESPACE, RESOURCE, NAME, SUBRESOURCE), extra),
        EndpointOperation("namespaces/{namespace}/metrics/{name}", "readMetricValueForNamespace",
                          CUSTOM_DOC, answer, (NAMESPACE, ("name", "the name of the metric")),
                          extra),
    ]


def external_operations() -> list[EndpointOperation]:
    return [EndpointOperation(
        "namespaces/{namespace}/{resource}", "listExternalMetricValue", "list external metrics",
        "io.k8s.metrics.pkg.apis.external_metrics.v1beta1.ExternalMetricValueList",
        (NAMESPACE, ("resource", "the name of the external metric")))]
