"""Delegated authentication, as upstream's DelegatingAuthenticationOptions: the flags, the chain
(requestheader → x509 → TokenReview, then anonymous), and its CAs and header names, read from
files or followed live in kube-system/extension-apiserver-authentication.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from pathlib import Path

from k8s_aggapi.authentication.anonymous import AnonymousAuthenticator
from k8s_aggapi.authentication.cabundle import DynamicCABundle
from k8s_aggapi.authentication.configmap import (
    NAME,
    NAMESPACE,
    ClusterAuthentication,
    ConfigMapFollower,
)
from k8s_aggapi.authentication.interface import Authenticator
from k8s_aggapi.authentication.requestheader import RequestHeaderAuthenticator, RequestHeaderConfig
from k8s_aggapi.authentication.tokenreview import TokenReviewAuthenticator
from k8s_aggapi.authentication.union import AuthenticatedGroupAdder, UnionAuthenticator
from k8s_aggapi.authentication.x509 import X509Authenticator
from k8s_aggapi.kube import KubeAPI, connect

logger = logging.getLogger(__name__)
FILE_REFRESH_SECONDS = 60.0


@dataclass(frozen=True)
class AuthenticationOptions:
    """The `--client-ca-file`, `--requestheader-*` and `--authentication-*` flags."""

    client_ca_file: str = ""
    requestheader_client_ca_file: str = ""
    requestheader_allowed_names: tuple[str, ...] = ()
    requestheader_username_headers: tuple[str, ...] = ("X-Remote-User",)
    requestheader_group_headers: tuple[str, ...] = ("X-Remote-Group",)
    requestheader_extra_headers_prefix: tuple[str, ...] = ("X-Remote-Extra-",)
    requestheader_uid_headers: tuple[str, ...] = ()
    authentication_kubeconfig: str = ""
    skip_lookup: bool = False
    token_webhook_cache_ttl: float = 10.0
    anonymous: bool = True
    tolerate_lookup_failure: bool = False

    def requestheader_config(self) -> RequestHeaderConfig:
        return RequestHeaderConfig(
            self.requestheader_username_headers, self.requestheader_group_headers,
            self.requestheader_extra_headers_prefix, self.requestheader_uid_headers,
            self.requestheader_allowed_names,
        )

    def warnings(self) -> list[str]:
        """Upstream's validation warnings for header lists missing the standard names."""
        out = []
        for flag, values, standard in (
            ("username-headers", self.requestheader_username_headers, "X-Remote-User"),
            ("group-headers", self.requestheader_group_headers, "X-Remote-Group"),
            ("extra-headers-prefix", self.requestheader_extra_headers_prefix, "X-Remote-Extra-"),
        ):
            if values and standard.lower() not in (v.lower() for v in values):
                out.append(f"--requestheader-{flag} is set without specifying the standard "
                           f"{standard} header - API aggregation will not work")
        return out


def build_authenticator(
    *, requestheader: Authenticator | None = None, x509: Authenticator | None = None,
    token: Authenticator | None = None, anonymous: bool = True,
) -> Authenticator:
    """Upstream's order: the given authenticators in a union that adds `system:authenticated`,
    then anonymous only for requests none of them recognised (an error stays a 401)."""
    chain = [a for a in (requestheader, x509, token) if a is not None]
    if not chain:
        if anonymous:
            return AnonymousAuthenticator()
        raise ValueError("no authentication method configured")
    authenticator: Authenticator = AuthenticatedGroupAdder(UnionAuthenticator(*chain))
    if anonymous:
        authenticator = UnionAuthenticator(
            authenticator, AnonymousAuthenticator(), fail_on_error=True
        )
    return authenticator


class DelegatingAuthentication:
    """The authentication a server runs with: `authenticator` for the middleware, the CA
    bundles for the TLS layer. Call `start()` in the lifespan (reads the CA files and the
    ConfigMap before returning, then follows both) and `stop()` at shutdown."""

    def __init__(
        self, options: AuthenticationOptions, kube: KubeAPI | None = None,
        *, close_kube: bool = False,
    ) -> None:
        self.options, self.kube, self._close_kube = options, kube, close_kube
        self.client_ca = DynamicCABundle("client-ca")
        self.requestheader_ca = DynamicCABundle("request-header")
        lookup = kube is not None and not options.skip_lookup
        self._follow_client_ca = not options.client_ca_file and lookup
        self._follow_requestheader = not options.requestheader_client_ca_file and lookup
        for warning in options.warnings():
            logger.warning(warning)
        both_files = options.client_ca_file and options.requestheader_client_ca_file
        if kube is None and not options.skip_lookup and not both_files:
            logger.warning("No authentication-kubeconfig provided in order to lookup the client "
                           "and request-header CAs in configmap/%s in %s, so only the CA files "
                           "given as flags are used.", NAME, NAMESPACE)
        self.requestheader: RequestHeaderAuthenticator | None = None
        self._stripped: tuple[RequestHeaderConfig | None, tuple[str, ...]] = (None, ())
        if options.requestheader_client_ca_file:
            self.requestheader = RequestHeaderAuthenticator(
                self.requestheader_ca, options.requestheader_config()
            )
        elif self._follow_requestheader:
            self.requestheader = RequestHeaderAuthenticator(
                self.requestheader_ca, ClusterAuthentication().requestheader
            )
        x509 = None
        if options.client_ca_file or self._follow_client_ca:
            x509 = X509Authenticator(self.client_ca)
        token = None
        if kube is not None:
            token = TokenReviewAuthenticator(kube, cache_ttl=options.token_webhook_cache_ttl)
        self.authenticator = build_authenticator(
            requestheader=self.requestheader, x509=x509, token=token, anonymous=options.anonymous
        )
        self._follower: ConfigMapFollower | None = None
        if self._follow_client_ca or self._follow_requestheader:
            self._follower = ConfigMapFollower(kube, self._apply) if kube else None
        self._files = {
            bundle: Path(path) for bundle, path in (
                (self.client_ca, options.client_ca_file),
                (self.requestheader_ca, options.requestheader_client_ca_file),
            ) if path
        }
        self._poller: asyncio.Task[None] | None = None

    @classmethod
    async def connect(
        cls, options: AuthenticationOptions, *, optional: bool = True
    ) -> DelegatingAuthentication:
        """Build with a client from `--authentication-kubeconfig` (or in-cluster); `stop()`
        closes it."""
        kube = await connect(options.authentication_kubeconfig, optional=optional)
        return cls(options, kube, close_kube=True)

    def strip_headers(self) -> tuple[str, ...]:
        """The configured request-header names (prefixes end with `*`), for the middleware;
        asked on every request, so made again only when the configuration object changes."""
        if self.requestheader is None:
            return ()
        config = self.requestheader.config
        if self._stripped[0] is not config:
            self._stripped = (config, config.strip_headers())
        return self._stripped[1]

    def trusted_ca_pem(self) -> bytes:
        """Both bundles, for the TLS layer's client-certificate trust store."""
        return self.client_ca.pem + self.requestheader_ca.pem

    async def start(self) -> None:
        for bundle, path in self._files.items():
            bundle.update(await asyncio.to_thread(path.read_bytes))
        if self._follower is not None:
            await self._follower.start(tolerate_failure=self.options.tolerate_lookup_failure)
        if self._files:
            self._poller = asyncio.create_task(self._poll_files(), name="reload CA files")

    async def stop(self) -> None:
        if self._follower is not None:
            await self._follower.stop()
        poller, self._poller = self._poller, None
        if poller is not None:
            poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await poller
        if self._close_kube and self.kube is not None:
            await self.kube.close()

    def _apply(self, cluster: ClusterAuthentication) -> None:
        if self._follow_client_ca:
            _update(self.client_ca, cluster.client_ca)
        if self._follow_requestheader and self.requestheader is not None:
            _update(self.requestheader_ca, cluster.requestheader_ca)
            self.requestheader.update_config(cluster.requestheader)

    async def _poll_files(self) -> None:
        while True:
            await asyncio.sleep(FILE_REFRESH_SECONDS)
            for bundle, path in self._files.items():
                try:
                    _update(bundle, await asyncio.to_thread(path.read_bytes))
                except OSError as exc:
                    logger.error("reading CA file %s failed: %s", path, exc)


def _update(bundle: DynamicCABundle, pem: bytes) -> None:
    try:
        bundle.update(pem)
    except ValueError as exc:
        logger.warning("keeping the previous CA bundle %s: %s", bundle.name, exc)
