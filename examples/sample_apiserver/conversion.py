"""Flunder between v1alpha1 (one `reference`, its kind in `referenceType`) and the hub v1beta1
(`flunderReference` or `fischerReference`), as upstream's conversion.go and defaults.go do.

One deliberate difference: upstream drops a v1alpha1 `referenceType` that is neither Flunder
nor Fischer (and the reference with it) without a word; here it reaches the hub, whose
validation refuses it with upstream's own message, so no data is lost silently.
"""

from __future__ import annotations

from typing import Any

from k8s_aggapi.conversion import KindConverter, VersionConversion

Object = dict[str, Any]
FLUNDER, FISCHER = "Flunder", "Fischer"


def _with_spec(obj: Object, spec: dict[str, Any]) -> Object:
    out = {k: v for k, v in obj.items() if k != "spec"}
    out["spec"] = spec
    return out


def v1alpha1_to_hub(obj: Object) -> Object:
    spec = obj.get("spec") or {}
    reference = spec.get("reference") or ""
    kind = spec.get("referenceType") or ""
    if not kind and reference:
        kind = FLUNDER  # upstream's SetDefaults_FlunderSpec
    hub: dict[str, Any] = {}
    if kind == FLUNDER:
        hub = {"flunderReference": reference, "referenceType": FLUNDER}
    elif kind == FISCHER:
        hub = {"fischerReference": reference, "referenceType": FISCHER}
    elif kind:
        hub = {"referenceType": kind}
    return _with_spec(obj, {k: v for k, v in hub.items() if v})


def hub_to_v1alpha1(obj: Object) -> Object:
    spec = obj.get("spec") or {}
    kind = spec.get("referenceType") or ""
    out: dict[str, Any] = {}
    if kind == FLUNDER:
        out = {"reference": spec.get("flunderReference") or "", "referenceType": FLUNDER}
    elif kind == FISCHER:
        out = {"reference": spec.get("fischerReference") or "", "referenceType": FISCHER}
    return _with_spec(obj, {k: v for k, v in out.items() if v})


FLUNDERS = KindConverter(
    group="wardle.example.com", kind="Flunder", hub="v1beta1",
    versions={"v1alpha1": VersionConversion(to_hub=v1alpha1_to_hub, from_hub=hub_to_v1alpha1)},
)
