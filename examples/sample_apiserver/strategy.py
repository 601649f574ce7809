"""Validation of Flunders, upstream's ValidateFlunderSpec rule for rule, on the hub (v1beta1).

Defaulting is v1alpha1's and lives in its conversion (`conversion.py`), as upstream applies
defaults when it decodes v1alpha1. Upstream validates on create only; here every write is
validated (the framework's rule), so an update cannot store what a create would refuse.
"""

from __future__ import annotations

from k8s_aggapi.errors import Cause, field_invalid
from k8s_aggapi.registry.rest import Object, RequestContext
from k8s_aggapi.registry.strategy import Strategy

FLUNDER, FISCHER = "Flunder", "Fischer"


def validate_flunder_spec(spec: dict[str, object], path: str = "spec") -> list[Cause]:
    flunder = str(spec.get("flunderReference") or "")
    fischer = str(spec.get("fischerReference") or "")
    kind = str(spec.get("referenceType") or "")
    causes: list[Cause] = []
    if flunder and fischer:
        causes.append(field_invalid(f"{path}.fischerReference", fischer,
                                    "cannot be set with flunderReference at the same time"))
    elif flunder and kind != FLUNDER:
        causes.append(field_invalid(f"{path}.flunderReference", flunder,
                                    "cannot be set if referenceType is not Flunder"))
    elif fischer and kind != FISCHER:
        causes.append(field_invalid(f"{path}.fischerReference", fischer,
                                    "cannot be set if referenceType is not Fischer"))
    elif not fischer and kind == FISCHER:
        causes.append(field_invalid(f"{path}.fischerReference", fischer,
                                    "cannot be empty if referenceType is Fischer"))
    elif not flunder and kind == FLUNDER:
        causes.append(field_invalid(f"{path}.flunderReference", flunder,
                                    "cannot be empty if referenceType is Flunder"))
    if kind and kind not in (FISCHER, FLUNDER):
        causes.append(field_invalid(f"{path}.referenceType", kind, "must be Flunder or Fischer"))
    return causes


class FlunderStrategy(Strategy):
    def validate(self, ctx: RequestContext, obj: Object) -> list[Cause]:
        return validate_flunder_spec(obj.get("spec") or {})
