from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from k8s_aggapi.authentication.anonymous import AnonymousAuthenticator
from k8s_aggapi.authentication.configmap import AuthenticationLookupError
from k8s_aggapi.authentication.delegating import AuthenticationOptions, DelegatingAuthentication
from k8s_aggapi.errors import Unauthorized
from k8s_aggapi.kube import KubeError
from k8s_aggapi.request.user import ANONYMOUS_USER, AUTHENTICATED, User
from k8s_aggapi.serving.certs import new_ca, new_cert
from tests.unit.authentication.conftest import Pki, credentials
from tests.unit.authentication.fakecluster import FakeCluster, cm_data, until

HEADERS = {"X-Remote-User": "bob", "X-Remote-Group": "dev"}


class ClusterWithTokens(FakeCluster):
    async def create_token_review(self, review: dict[str, Any], *,
                                  request_timeout: float = 10.0) -> dict[str, Any]:
        ok = review["spec"]["token"] == "good"
        return {"status": {"authenticated": ok, "user": {"username": "tok"} if ok else {}}}


def kubeadm(pki: Pki, **overrides: Any) -> dict[str, str]:
    lists: dict[str, Any] = {
        "username_headers": ["X-Remote-User"], "group_headers": ["X-Remote-Group"],
        "extra_headers_prefix": ["X-Remote-Extra-"], "allowed_names": ["front-proxy-client"],
    }
    lists.update(overrides)
    return cm_data(pki.client_ca.cert_pem(), pki.proxy_ca.cert_pem(), **lists)


async def test_follows_the_cluster_configmap(pki: Pki) -> None:
    kube = ClusterWithTokens(kubeadm(pki))
    auth = DelegatingAuthentication(AuthenticationOptions(), kube)
    await auth.start()
    authn = auth.authenticator
    assert await authn.authenticate(credentials(HEADERS, pki.proxy)) == User(
        "bob", ("dev", AUTHENTICATED))
    assert (await authn.authenticate(credentials({}, pki.user))).name == "alice"  # type: ignore[union-attr]
    assert await authn.authenticate(credentials({"Authorization": "Bearer good"})) == User(
        "tok", (AUTHENTICATED,))
    with pytest.raises(Unauthorized):
        await authn.authenticate(credentials({"Authorization": "Bearer bad"}))
    assert await authn.authenticate(credentials(HEADERS)) == ANONYMOUS_USER
    assert auth.trusted_ca_pem() == pki.client_ca.cert_pem() + pki.proxy_ca.cert_pem()
    assert "x-remote-user" in auth.strip_headers()

    # kube-apiserver rotates its front-proxy CA and renames the headers
    rotated_ca = new_ca("front-proxy-ca-2")
    rotated = new_cert(rotated_ca, "front-proxy-client", client=True)
    data = kubeadm(pki, username_headers=["X-Who"], extra_headers_prefix=["X-Bits-"])
    data["requestheader-client-ca-file"] = rotated_ca.cert_pem().decode()
    kube.modify(data, rv="11")
    await until(lambda: auth.requestheader_ca.pem == rotated_ca.cert_pem())
    assert await authn.authenticate(credentials({"X-Who": "carol"}, rotated)) == User(
        "carol", (AUTHENTICATED,))
    with pytest.raises(Unauthorized):
        await authn.authenticate(credentials(HEADERS, pki.proxy))
    assert auth.strip_headers() == ("x-who", "x-remote-group", "x-bits-*")

    await auth.stop()
    assert kube.closed is False


async def test_flags_win_over_the_configmap_per_part(pki: Pki, tmp_path: Path) -> None:
    proxy_file = tmp_path / "front-proxy-ca.crt"
    proxy_file.write_bytes(pki.proxy_ca.cert_pem())
    other_ca = new_ca("unused-client-ca")
    kube = ClusterWithTokens(kubeadm(pki, username_headers=["X-Ignored"]))
    kube.obj["data"]["requestheader-client-ca-file"] = other_ca.cert_pem().decode()  # type: ignore[index]
    options = AuthenticationOptions(requestheader_client_ca_file=str(proxy_file),
                                    requestheader_allowed_names=("front-proxy-client",))
    auth = DelegatingAuthentication(options, kube, close_kube=True)
    await auth.start()
    assert auth.requestheader_ca.pem == pki.proxy_ca.cert_pem()
    assert auth.client_ca.pem == pki.client_ca.cert_pem()
    user = await auth.authenticator.authenticate(credentials(HEADERS, pki.proxy))
    assert user is not None
    assert user.name == "bob"
    await auth.stop()
    assert kube.closed is True


async def test_files_only_without_a_cluster(pki: Pki, tmp_path: Path) -> None:
    (tmp_path / "ca.crt").write_bytes(pki.client_ca.cert_pem())
    (tmp_path / "proxy.crt").write_bytes(pki.proxy_ca.cert_pem())
    options = AuthenticationOptions(
        client_ca_file=str(tmp_path / "ca.crt"),
        requestheader_client_ca_file=str(tmp_path / "proxy.crt"),
        requestheader_username_headers=("X-Remote-User", "X-User"),
    )
    auth = DelegatingAuthentication(options)
    await auth.start()
    assert (await auth.authenticator.authenticate(credentials({}, pki.user))).name == "alice"  # type: ignore[union-attr]
    user = await auth.authenticator.authenticate(credentials({"X-User": "dan"}, pki.stranger_proxy))
    assert user is not None
    assert user.name == "dan"
    assert await auth.authenticator.authenticate(
        credentials({"Authorization": "Bearer x"})) == ANONYMOUS_USER
    await auth.stop()


def test_nothing_configured_is_anonymous_only() -> None:
    auth = DelegatingAuthentication(AuthenticationOptions())
    assert isinstance(auth.authenticator, AnonymousAuthenticator)
    assert auth.strip_headers() == ()


async def test_skip_lookup_keeps_tokens_but_reads_no_configmap(pki: Pki) -> None:
    kube = ClusterWithTokens(kubeadm(pki))
    auth = DelegatingAuthentication(AuthenticationOptions(skip_lookup=True), kube)
    await auth.start()
    assert kube.lists == 0
    assert await auth.authenticator.authenticate(credentials(HEADERS, pki.proxy)) == ANONYMOUS_USER
    assert auth.requestheader is None
    await auth.stop()


async def test_lookup_failure_is_fatal_unless_tolerated(pki: Pki) -> None:
    kube = ClusterWithTokens(kubeadm(pki))
    kube.list_errors = [KubeError(403, "forbidden", "Forbidden")]
    with pytest.raises(AuthenticationLookupError, match="--role=extension-apiserver-auth"):
        await DelegatingAuthentication(AuthenticationOptions(), kube).start()
    kube.list_errors = [KubeError(403, "forbidden", "Forbidden")]
    tolerant = DelegatingAuthentication(AuthenticationOptions(tolerate_lookup_failure=True), kube)
    await tolerant.start()
    assert not tolerant.client_ca
    await tolerant.stop()


def test_warnings_for_non_standard_header_lists() -> None:
    assert AuthenticationOptions().warnings() == []
    options = AuthenticationOptions(requestheader_username_headers=("X-User",),
                                    requestheader_group_headers=("x-remote-group", "X-G"))
    assert options.warnings() == [
        "--requestheader-username-headers is set without specifying the standard X-Remote-User "
        "header - API aggregation will not work"
    ]
