"""Defaulting and validation of Flunders, as upstream's sample-apiserver does them."""

from __future__ import annotations

from k8s_aggapi.errors import Cause, field_invalid
from k8s_aggapi.registry.rest import Object, RequestContext
from k8s_aggapi.registry.strategy import Strategy

REFERENCE_TYPES = ("Flunder", "Fischer")


class FlunderStrategy(Strategy):
    def prepare_for_create(self, ctx: RequestContext, obj: Object) -> None:
        spec = obj.setdefault("spec", {})
        if spec.get("reference") and not spec.get("referenceType"):
            spec["referenceType"] = "Flunder"

    def prepare_for_update(self, ctx: RequestContext, obj: Object, old: Object) -> None:
        self.prepare_for_create(ctx, obj)

    def validate(self, ctx: RequestContext, obj: Object) -> list[Cause]:
        spec = obj.get("spec") or {}
        kind = spec.get("referenceType")
        causes: list[Cause] = []
        if kind and kind not in REFERENCE_TYPES:
            causes.append(field_invalid("spec.referenceType", kind, "must be Flunder or Fischer"))
        elif kind and not spec.get("reference"):
            causes.append(field_invalid(
                "spec.reference", spec.get("reference") or "",
                f"cannot be empty if referenceType is {kind}"))
        return causes
