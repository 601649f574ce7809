"""Per-resource hooks of the generic store (upstream's RESTCreateStrategy and friends).

Subclass `Strategy` and override what your kind needs: defaulting, validation, whether PUT
may create or skip the resourceVersion check.
"""

from __future__ import annotations

import re

from k8s_aggapi.errors import Cause, field_invalid
from k8s_aggapi.registry.rest import Object, RequestContext

_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DNS_SUBDOMAIN_MESSAGE = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "
    "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)


def validate_dns_subdomain(name: str, path: str = "metadata.name") -> list[Cause]:
    if len(name) > 253:
        return [field_invalid(path, name, "must be no more than 253 characters")]
    if not _DNS_SUBDOMAIN.match(name):
        return [field_invalid(path, name, DNS_SUBDOMAIN_MESSAGE)]
    return []


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
        return []

    async def admit(self, ctx: RequestContext, operation: str, obj: Object) -> None:
        """Admission hook (CREATE, UPDATE, DELETE): raise a StatusError to refuse."""
