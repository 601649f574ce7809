"""`ServerConfig` holds what the user said; `complete()` resolves it once into a frozen
`CompletedConfig`: dev PKI made, kube clients connected, TLS material loaded, defaults set.

The completed config stays a value: what runs (components started, tasks, hooks, the
listener) is a `RunningServer` (running.py), which reads the authentication ConfigMap when
the server starts, before the socket accepts connections, and follows it until it stops.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

from k8s_aggapi.api import APIGroup
from k8s_aggapi.authentication.delegating import AuthenticationOptions, DelegatingAuthentication
from k8s_aggapi.authentication.interface import Authenticator
from k8s_aggapi.authorization.delegating import AuthorizationOptions, DelegatingAuthorization
from k8s_aggapi.authorization.interface import Authorizer
from k8s_aggapi.devmode import DevPKI, ensure_dev_pki
from k8s_aggapi.health import HealthChecks
from k8s_aggapi.limits import DEFAULT_LIMITS, ServerLimits
from k8s_aggapi.metrics import ServerMetrics
from k8s_aggapi.middleware.authentication import StripHeaders
from k8s_aggapi.serving.options import SecureServingInfo, SecureServingOptions

log = logging.getLogger("k8s_aggapi.config")

PostStartHook = Callable[[], Awaitable[None]]
"""Run in order once the server's components are started, before it accepts connections; an
exception stops the server from starting (upstream's post-start hooks, which panic)."""


@dataclass(frozen=True)
class ServerConfig:
    groups: list[APIGroup]
    serving: SecureServingOptions = field(default_factory=SecureServingOptions)
    authentication: AuthenticationOptions = field(default_factory=AuthenticationOptions)
    authorization: AuthorizationOptions = field(default_factory=AuthorizationOptions)
    dev: bool = False
    title: str = "k8s-aggapi"
    version: str = "0.1"
    verbosity: int = 0
    health: HealthChecks = field(default_factory=HealthChecks)
    limits: ServerLimits = DEFAULT_LIMITS
    post_start_hooks: tuple[PostStartHook, ...] = ()
    # started after authentication and authorization, stopped before them (e.g. storage)
    components: tuple[Component, ...] = ()

    async def complete(self) -> CompletedConfig:
        serving, authn, authz = self.serving, self.authentication, self.authorization
        dev_pki: DevPKI | None = None
        if self.dev:
            host = serving.bind_address if serving.bind_address not in ("0.0.0.0", "::") else (
                "127.0.0.1")
            dev_pki = await asyncio.to_thread(
                ensure_dev_pki, Path(serving.cert_dir),
                server=f"https://{host}:{serving.secure_port}", sans=serving.tls_sans,
                bind_address=serving.bind_address,
            )
            serving = replace(serving, tls_cert_file=str(dev_pki.serving_cert),
                              tls_private_key_file=str(dev_pki.serving_key))
            authn = replace(authn, client_ca_file=str(dev_pki.client_ca),
                            requestheader_client_ca_file=str(dev_pki.front_proxy_ca),
                            requestheader_allowed_names=("front-proxy-client",),
                            skip_lookup=True, authentication_kubeconfig="")
            authz = replace(authz, authorization_kubeconfig="")
            authentication = DelegatingAuthentication(authn)
            authorization = DelegatingAuthorization(authz)
        else:
            authentication = await DelegatingAuthentication.connect(authn)
            authorization = await DelegatingAuthorization.connect(authz)
        ca_files = tuple(f for f in (authn.client_ca_file, authn.requestheader_client_ca_file) if f)
        serving_info = await asyncio.to_thread(
            replace(serving, client_ca_files=ca_files).complete
        )
        return CompletedConfig(
            groups=tuple(self.groups),
            serving=serving_info,
            authenticator=authentication.authenticator,
            authorizer=authorization.authorizer,
            strip_headers=authentication.strip_headers,
            trusted_ca_pem=authentication.trusted_ca_pem,
            components=(authentication, authorization, *self.components),
            health=self.health,
            metrics=ServerMetrics(),
            limits=self.limits,
            title=self.title,
            version=self.version,
            dev_pki=dev_pki,
            post_start_hooks=self.post_start_hooks,
        )


class Component(Protocol):
    """Something that runs beside the server: started before it serves, stopped after (by
    the `RunningServer`)."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


@dataclass(frozen=True)
class CompletedConfig:
    groups: tuple[APIGroup, ...]
    serving: SecureServingInfo | None
    authenticator: Authenticator
    authorizer: Authorizer
    health: HealthChecks
    metrics: ServerMetrics
    strip_headers: StripHeaders = ()
    trusted_ca_pem: Callable[[], bytes] | None = None
    components: tuple[Component, ...] = ()
    title: str = "k8s-aggapi"
    version: str = "0.1"
    dev_pki: DevPKI | None = None
    limits: ServerLimits = DEFAULT_LIMITS
    post_start_hooks: tuple[PostStartHook, ...] = ()
