"""Per-resource hooks of the generic store (upstream's RESTCreateStrategy and friends).

Subclass `Strategy` and override what your kind needs: defaulting, validation, whether PUT
may create or skip the resourceVersion check.
"""

from __future__ import annotations

from k8s_aggapi.errors import Cause
from k8s_aggapi.registry.rest import Object, RequestContext
from k8s_aggapi.registry.validation import dns1123_subdomain, invalid


def validate_dns_subdomain(name: str, path: str = "metadata.name") -> list[Cause]:
    """Upstream's NameIsDNSSubdomain: one cause per problem, upstream's words."""
    return [invalid(path, name, msg) for msg in dns1123_subdomain(name)]


class Strategy:
    """The defaults match the sample-apiserver's: no create on update, resourceVersion required."""

    allow_create_on_update = False
    allow_unconditional_update = False

    def validate_name(self, name: str) -> list[Cause]:
        return validate_dns_subdomain(name)

    def prepare_for_create(self, ctx: RequestContext, obj: Object) -> None:
        """Mutate `obj` before validation (defaulting, clearing status...)."""

    def prepare_for_update(self, ctx: RequestContext, obj: Object, old: Object) -> None:
        """Mutate `obj` before validation on update."""

    def validate(self, ctx: RequestContext, obj: Object) -> list[Cause]:
        return []

    def validate_update(self, ctx: RequestContext, obj: Object, old: Object) -> list[Cause]:
        """The rules of `validate` hold on every write (PUT and every patch) unless this is
        overridden; add the rules that compare with `old` here."""
        return self.validate(ctx, obj)
