"""Bearer tokens, third in the chain: kube-apiserver judges each one through a TokenReview.

Answers are cached by a keyed hash of the token for `--authentication-token-webhook-cache-ttl`
(10 s), successes and rejections alike; failed calls are not cached (upstream's token cache).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import os
import time
from collections.abc import Mapping
from typing import Any

from k8s_aggapi.authentication.cache import Clock, ExpiringCache
from k8s_aggapi.authentication.interface import Credentials, CredentialsRejected
from k8s_aggapi.kube import DEFAULT_BACKOFF, JSON, Backoff, KubeError, TokenReviews, with_retries
from k8s_aggapi.request.user import User

logger = logging.getLogger(__name__)


def bearer_token(headers: Mapping[str, tuple[str, ...]]) -> str | None:
    """The token of `Authorization: Bearer <token>`, or None (upstream's bearertoken rules)."""
    values = headers.get("authorization")
    auth = values[0].strip() if values else ""
    parts = auth.split(" ", 2)
    if len(parts) < 2 or parts[0].lower() != "bearer" or not parts[1]:
        return None
    return parts[1]


def _user(status_user: Mapping[str, Any]) -> User:
    extra = status_user.get("extra") or {}
    return User(
        str(status_user.get("username", "")),
        tuple(status_user.get("groups") or ()),
        str(status_user.get("uid", "")),
        {str(k): tuple(v or ()) for k, v in extra.items()},
    )


class TokenReviewAuthenticator:
    """Concurrent requests with the same uncached token share one TokenReview."""

    def __init__(
        self, kube: TokenReviews, *, cache_ttl: float = 10.0, timeout: float = 10.0,
        backoff: Backoff = DEFAULT_BACKOFF, clock: Clock = time.monotonic,
    ) -> None:
        self._kube = kube
        self._ttl = cache_ttl
        self._timeout = timeout
        self._backoff = backoff
        self._cache: ExpiringCache[bytes, User | None] = ExpiringCache(clock=clock)
        self._inflight: dict[bytes, asyncio.Task[User | None]] = {}
        self._hash_key = os.urandom(32)

    async def authenticate(self, credentials: Credentials) -> User | None:
        token = bearer_token(credentials.headers)
        if token is None:
            return None
        user = await self.authenticate_token(token)
        if user is None:
            raise CredentialsRejected("invalid bearer token")
        return user

    async def authenticate_token(self, token: str) -> User | None:
        """The user the token belongs to, None when kube-apiserver says it is not valid."""
        key = hmac.new(self._hash_key, token.encode(), hashlib.sha256).digest()
        found, user = self._cache.get(key)
        if found:
            return user
        task = self._inflight.get(key)
        if task is None:
            task = asyncio.ensure_future(self._review(token, key))
            self._inflight[key] = task
            task.add_done_callback(lambda done: self._finished(key, done))
        return await asyncio.shield(task)

    def _finished(self, key: bytes, task: asyncio.Task[User | None]) -> None:
        self._inflight.pop(key, None)
        if not task.cancelled():
            task.exception()  # retrieved here, so an abandoned failure is not logged as lost

    async def _review(self, token: str, key: bytes) -> User | None:
        review: JSON = {
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenReview",
            "spec": {"token": token},
        }
        try:
            result = await with_retries(
                lambda: self._kube.create_token_review(review, request_timeout=self._timeout),
                self._backoff,
            )
        except KubeError as exc:
            logger.error("Failed to make webhook authenticator request: %s", exc)
            raise CredentialsRejected(f"TokenReview failed: {exc}") from None
        status = result.get("status") or {}
        if not status.get("authenticated"):
            if status.get("error"):
                raise CredentialsRejected(str(status["error"]))
            self._cache.set(key, None, self._ttl)
            return None
        user = _user(status.get("user") or {})
        self._cache.set(key, user, self._ttl)
        return user
