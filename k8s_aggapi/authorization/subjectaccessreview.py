"""Delegated authorization: ask kube-apiserver with a SubjectAccessReview, last in the chain.

Decisions are cached by the attributes the review's spec is made from (so equal keys always
mean equal specs), allowed ones for `--authorization-webhook-cache-authorized-ttl` and the
rest for the unauthorized TTL (10 s each). A failed call is no opinion, which the middleware
turns into a 403.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from k8s_aggapi.authentication.cache import Clock, ExpiringCache
from k8s_aggapi.authorization.interface import Attributes, Decision
from k8s_aggapi.authorization.selectors import field_requirements, label_requirements
from k8s_aggapi.kube import (
    DEFAULT_BACKOFF,
    JSON,
    Backoff,
    KubeError,
    SubjectAccessReviews,
    with_retries,
)
from k8s_aggapi.request.info import RequestInfo
from k8s_aggapi.request.user import User

logger = logging.getLogger(__name__)
MAX_CONTROLLED_ATTR_CACHE_SIZE = 10000
KEYS_REMEMBERED_MAX = 4096


def _omit_empty(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if v}


def review_spec(attributes: Attributes) -> JSON:
    """The SubjectAccessReview spec upstream's webhook authorizer sends (empty fields omitted)."""
    user = attributes.user
    spec = _omit_empty({
        "user": user.name,
        "uid": user.uid,
        "groups": list(user.groups),
        "extra": {k: list(v) for k, v in user.extra.items()},
    })
    if not attributes.resource_request:
        spec["nonResourceAttributes"] = _omit_empty(
            {"path": attributes.path, "verb": attributes.verb}
        )
        return spec
    resource = _omit_empty({
        "namespace": attributes.namespace,
        "verb": attributes.verb,
        "group": attributes.api_group,
        "version": attributes.api_version,
        "resource": attributes.resource,
        "subresource": attributes.subresource,
        "name": attributes.name,
    })
    if fields := field_requirements(attributes.field_selector):
        resource["fieldSelector"] = {"requirements": fields}
    if labels := label_requirements(attributes.label_selector):
        resource["labelSelector"] = {"requirements": labels}
    spec["resourceAttributes"] = resource
    return spec


CacheKey = tuple[object, ...]
Answer = tuple[Decision, str]


def cache_key(attributes: Attributes) -> CacheKey:
    """Everything `review_spec` reads, hashable; cheaper than the spec's JSON, and never the
    same for two attributes whose specs differ."""
    user, a = attributes.user, attributes
    extra = tuple(sorted(user.extra.items())) if user.extra else ()
    return (user.name, user.uid, user.groups, extra, a.resource_request, a.verb,
            "" if a.resource_request else a.path, a.namespace, a.api_group, a.api_version,
            a.resource, a.subresource, a.name, a.label_selector, a.field_selector)


def should_cache(attributes: Attributes) -> bool:
    """Upstream skips the cache for requests with very long attributes."""
    size = sum(len(s) for s in (
        attributes.namespace, attributes.verb, attributes.api_group, attributes.api_version,
        attributes.resource, attributes.subresource, attributes.name, attributes.path,
    ))
    return size < MAX_CONTROLLED_ATTR_CACHE_SIZE


class SubjectAccessReviewAuthorizer:
    def __init__(
        self, kube: SubjectAccessReviews, *, authorized_ttl: float = 10.0,
        unauthorized_ttl: float = 10.0, timeout: float = 10.0, backoff: Backoff = DEFAULT_BACKOFF,
        clock: Clock = time.monotonic,
    ) -> None:
        self._kube = kube
        self._authorized_ttl, self._unauthorized_ttl = authorized_ttl, unauthorized_ttl
        self._timeout, self._backoff = timeout, backoff
        self._cache: ExpiringCache[CacheKey, Answer] = ExpiringCache(max_size=8192, clock=clock)
        # the cache key of a (request info, user) pair seen before: both are frozen, and the
        # layers before hand the same objects for a repeated request (request info remembered
        # by request line, users by certificate and proxied identity); they are kept in the
        # value, so their ids stay unique
        self._keys: dict[tuple[int, int], tuple[RequestInfo, User, CacheKey]] = {}

    def _call(self, review: JSON) -> Callable[[], Awaitable[JSON]]:
        return lambda: self._kube.create_subject_access_review(
            review, request_timeout=self._timeout
        )

    def _key(self, attributes: Attributes) -> CacheKey:
        info, user = attributes.info, attributes.user
        ids = (id(info), id(user))
        known = self._keys.get(ids)
        if known is not None and known[0] is info and known[1] is user:
            return known[2]
        if len(self._keys) >= KEYS_REMEMBERED_MAX:
            self._keys = {}
        key = cache_key(attributes)
        self._keys[ids] = (info, user, key)
        return key

    async def authorize(self, attributes: Attributes) -> Answer:
        key = self._key(attributes)
        found, cached = self._cache.get(key)
        if found and cached is not None:
            return cached
        review: JSON = {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SubjectAccessReview",
            "spec": review_spec(attributes),
        }
        try:
            result = await with_retries(self._call(review), self._backoff)
        except KubeError as exc:
            logger.error("Failed to make webhook authorizer request: %s", exc)
            return Decision.NO_OPINION, ""
        status = result.get("status") or {}
        answer = decision_of(status)
        if should_cache(attributes):
            allowed = bool(status.get("allowed"))
            ttl = self._authorized_ttl if allowed else self._unauthorized_ttl
            self._cache.set(key, answer, ttl)
        return answer


def decision_of(status: JSON) -> Answer:
    """A review's status as the webhook authorizer reads it: denied wins over allowed."""
    reason = str(status.get("reason") or "")
    allowed, denied = bool(status.get("allowed")), bool(status.get("denied"))
    if allowed and denied:
        logger.error("webhook subject access review returned both allow and deny response")
        return Decision.DENY, reason
    if denied:
        return Decision.DENY, reason
    if allowed:
        return Decision.ALLOW, reason
    return Decision.NO_OPINION, reason
