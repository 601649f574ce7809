"""The sample in dev mode over real TLS, driven by the real (Go-built) kubectl.

Also checks front-proxy trust with real client certificates: identity headers count only on
a connection authenticated by the front-proxy CA's `front-proxy-client` certificate.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import ExtendedKeyUsageOID

from k8s_aggapi.envtest import descendants, ensure_binaries, run, spawn
from k8s_aggapi.envtest.processes import free_port
from k8s_aggapi.serving.certs import KeyPair, new_ca, new_cert, sans_of
from k8s_aggapi.version import package_version

pytestmark = pytest.mark.integration

FLUNDER = """\
apiVersion: wardle.example.com/v1alpha1
kind: Flunder
metadata:
  name: my-first-flunder
  labels:
    sample-label: "true"
spec:
  reference: other
"""


def _json(raw: bytes) -> dict:
    try:
        return dict(json.loads(raw))
    except ValueError:
        return {"text": raw.decode(errors="replace")}


class DevServer:
    def __init__(self, directory: Path, port: int) -> None:
        self.dir, self.port = directory, port
        self.pid = 0
        self.base = f"https://127.0.0.1:{port}"

    def request(self, path: str, *, cert: str | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, dict]:
        ctx = ssl.create_default_context(cafile=str(self.dir / "serving-ca.crt"))
        if cert:
            ctx.load_cert_chain(self.dir / f"{cert}.crt", self.dir / f"{cert}.key")
        req = urllib.request.Request(self.base + path, headers=headers or {})
        try:
            with urllib.request.urlopen(req, context=ctx, timeout=10) as resp:
                return resp.status, _json(resp.read())
        except urllib.error.HTTPError as err:
            return err.code, _json(err.read())


@pytest.fixture(scope="module")
def kubectl_bin() -> Path:
    return ensure_binaries(["kubectl"])["kubectl"]


@contextlib.contextmanager
def dev_server(directory: Path, *flags: str) -> Iterator[DevServer]:
    """The sample in dev mode (leashed: it dies with the test run), once it serves /readyz;
    `server.pid` is the server process itself, `server.log` its output so far."""
    port = free_port()
    log_path = directory / "server.log"
    with open(log_path, "wb") as log:
        proc = spawn(
            [sys.executable, "-m", "examples.sample_apiserver", "--dev",
             f"--cert-dir={directory}", f"--secure-port={port}", *flags],
            stdout=log, stderr=subprocess.STDOUT, cwd=Path(__file__).parents[2],
        )
    dev = DevServer(directory, port)
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                pytest.fail("server exited:\n" + log_path.read_text())
            with contextlib.suppress(OSError, ValueError):
                if dev.request("/readyz")[0] == 200:
                    break
            if time.monotonic() > deadline:
                pytest.fail("server not ready:\n" + log_path.read_text())
            time.sleep(0.2)
        below = descendants(proc.pid)  # under the leash, the command is its one descendant
        dev.pid = next(iter(below)) if len(below) == 1 else proc.pid
        yield dev
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevServer]:
    with dev_server(tmp_path_factory.mktemp("dev")) as dev:
        yield dev


def kubectl(kubectl_bin: Path, server: DevServer, *args: str, stdin: str | None = None,
            check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KUBECACHEDIR": str(server.dir / "kube-cache")}
    result = run(
        [str(kubectl_bin), f"--kubeconfig={server.dir / 'kubeconfig'}", *args],
        input=stdin, capture_output=True, text=True, timeout=60, env=env,
    )
    if check and result.returncode != 0:
        pytest.fail(f"kubectl {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


def test_kubectl_crud_flow(kubectl_bin: Path, server: DevServer) -> None:
    assert "No resources found" in kubectl(kubectl_bin, server, "get", "flunders", "-A").stderr
    created = kubectl(kubectl_bin, server, "create", "-f", "-", stdin=FLUNDER)
    assert "flunder.wardle.example.com/my-first-flunder created" in created.stdout
    table = kubectl(kubectl_bin, server, "get", "flunders").stdout.splitlines()
    assert table[0].split() == ["NAME", "CREATED", "AT"]
    assert table[1].startswith("my-first-flunder")
    wide = kubectl(kubectl_bin, server, "get", "flunders", "-o", "wide", "-A").stdout
    assert "NAMESPACE" in wide and "my-first-flunder" in wide
    obj = json.loads(kubectl(kubectl_bin, server, "get", "flunder", "my-first-flunder",
                             "-o", "json").stdout)
    # v1beta1 is preferred: created in v1alpha1, shown in v1beta1, kept in v1alpha1
    assert obj["apiVersion"] == "wardle.example.com/v1beta1"
    assert obj["spec"] == {"flunderReference": "other", "referenceType": "Flunder"}
    assert obj["metadata"]["labels"] == {"sample-label": "true"}
    alpha = json.loads(kubectl(kubectl_bin, server, "get",
                               "flunders.v1alpha1.wardle.example.com", "my-first-flunder",
                               "-o", "json").stdout)
    assert alpha["spec"] == {"reference": "other", "referenceType": "Flunder"}
    yaml_out = kubectl(kubectl_bin, server, "get", "flunder", "my-first-flunder",
                       "-o", "yaml").stdout
    assert "kind: Flunder" in yaml_out
    labelled = kubectl(kubectl_bin, server, "get", "flunders", "-l", "sample-label=true",
                       "-o", "name").stdout
    assert labelled.strip() == "flunder.wardle.example.com/my-first-flunder"
    dup = kubectl(kubectl_bin, server, "create", "-f", "-", stdin=FLUNDER, check=False)
    assert dup.returncode != 0 and "AlreadyExists" in dup.stderr
    kubectl(kubectl_bin, server, "delete", "flunder", "my-first-flunder")
    missing = kubectl(kubectl_bin, server, "get", "flunder", "my-first-flunder", check=False)
    assert "NotFound" in missing.stderr
    fischer = "apiVersion: wardle.example.com/v1alpha1\nkind: Fischer\nmetadata: {name: f1}\n"
    kubectl(kubectl_bin, server, "create", "-f", "-", stdin=fischer)
    assert "f1" in kubectl(kubectl_bin, server, "get", "fischers").stdout


def test_kubectl_reports_invalid_objects(kubectl_bin: Path, server: DevServer) -> None:
    bad = FLUNDER.replace("my-first-flunder", "bad").replace(
        "reference: other", "referenceType: Nope")
    result = kubectl(kubectl_bin, server, "create", "-f", "-", stdin=bad, check=False)
    assert result.returncode != 0
    assert 'spec.referenceType: Invalid value: "Nope": must be Flunder or Fischer' in result.stderr


def test_front_proxy_headers_need_the_front_proxy_cert(server: DevServer) -> None:
    client_ca = KeyPair.load(server.dir / "client-ca.crt", server.dir / "client-ca.key")
    new_cert(client_ca, "bob", client=True).write(server.dir / "bob.crt", server.dir / "bob.key")
    path = "/apis/wardle.example.com/v1alpha1/fischers"
    spoof = {"X-Remote-User": "alice", "X-Remote-Group": "system:masters"}
    # bob's certificate is valid for x509 authentication, but not a front proxy
    code, status = server.request(path, cert="bob", headers=spoof)
    assert code == 403
    assert status["message"].startswith(
        'fischers.wardle.example.com is forbidden: User "bob" cannot list resource "fischers" '
        'in API group "wardle.example.com" at the cluster scope: '
    )
    assert status["details"] == {"group": "wardle.example.com", "kind": "fischers"}
    # no certificate at all: anonymous, headers ignored
    code, status = server.request(path, headers=spoof)
    assert code == 403 and 'User "system:anonymous"' in status["message"]
    # the real front proxy: headers are the identity
    code, _ = server.request(path, cert="front-proxy-client", headers=spoof)
    assert code == 200
    code, status = server.request(path, cert="front-proxy-client",
                                  headers={"X-Remote-User": "carol"})
    assert code == 403 and 'User "carol"' in status["message"]


def test_health_and_errors_over_tls(server: DevServer) -> None:
    assert server.request("/healthz")[0] == 200
    code, status = server.request("/no/such/path", cert="admin")
    assert (code, status["kind"], status["reason"]) == (404, "Status", "NotFound")
    code, _ = server.request("/metrics")
    assert code == 403
    assert server.request("/apis/wardle.example.com/v1alpha1", cert="admin")[0] == 200


def test_kubectl_version_shows_the_server_version(kubectl_bin: Path, server: DevServer) -> None:
    versions = json.loads(kubectl(kubectl_bin, server, "version", "-o", "json").stdout)
    assert versions["serverVersion"]["gitVersion"] == f"v{package_version()}"
    assert versions["serverVersion"]["platform"].startswith(f"{sys.platform}/")
    text = kubectl(kubectl_bin, server, "version").stdout
    assert f"Server Version: v{package_version()}" in text


def test_an_expired_or_unknown_ca_certificate_fails_the_handshake(server: DevServer) -> None:
    """What docs/authentication.md says: no 401, the TLS handshake itself fails."""
    client_ca = KeyPair.load(server.dir / "client-ca.crt", server.dir / "client-ca.key")
    valid = new_cert(client_ca, "eve", client=True)
    past = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=2)
    expired = (x509.CertificateBuilder().subject_name(valid.cert.subject)
               .issuer_name(client_ca.cert.subject).public_key(valid.key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(past).not_valid_after(past + datetime.timedelta(days=1))
               .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), False)
               .sign(client_ca.key, hashes.SHA256()))
    KeyPair(expired, valid.key).write(server.dir / "eve.crt", server.dir / "eve.key")
    new_cert(new_ca("unknown"), "mallory", client=True).write(
        server.dir / "mallory.crt", server.dir / "mallory.key")
    valid.write(server.dir / "eve-valid.crt", server.dir / "eve-valid.key")
    assert server.request("/apis/wardle.example.com/v1alpha1", cert="eve-valid")[0] == 403
    for cert in ("eve", "mallory"):
        with pytest.raises((ssl.SSLError, ConnectionError)):
            server.request("/apis/wardle.example.com/v1alpha1", cert=cert)


def test_a_changed_tls_san_regenerates_the_dev_certificate(tmp_path: Path) -> None:
    def start(*flags: str) -> str:
        """Run the dev server until it serves /readyz; return its log."""
        with dev_server(tmp_path, *flags):
            return (tmp_path / "server.log").read_text()

    def sans() -> set[str]:
        cert = x509.load_pem_x509_certificate((tmp_path / "apiserver.crt").read_bytes())
        dns, ips = sans_of(cert)
        return set(dns | ips)

    assert "regenerating" not in start()
    assert sans() == {"localhost", "127.0.0.1"}
    first = (tmp_path / "apiserver.crt").read_bytes()
    assert "regenerating" not in start()
    assert (tmp_path / "apiserver.crt").read_bytes() == first  # unchanged SANs: reused
    log = start("--tls-san=api.example.test,10.9.8.7")
    assert "regenerating the dev serving certificate" in log, log
    assert sans() == {"localhost", "127.0.0.1", "api.example.test", "10.9.8.7"}


def test_kubectl_strict_field_validation(kubectl_bin: Path, server: DevServer) -> None:
    unknown = FLUNDER.replace("my-first-flunder", "strict").replace(
        "reference: other", "reference: other\n  foo: bar")
    refused = kubectl(kubectl_bin, server, "create", "-f", "-", stdin=unknown, check=False)
    assert refused.returncode != 0
    assert ('Flunder in version "v1alpha1" cannot be handled as a Flunder: strict decoding '
            'error: unknown field "spec.foo"') in refused.stderr, refused.stderr
    applied = kubectl(kubectl_bin, server, "apply", "-f", "-", stdin=unknown, check=False)
    assert applied.returncode != 0
    assert 'unknown field "spec.foo"' in applied.stderr, applied.stderr
    warned = kubectl(kubectl_bin, server, "create", "--validate=warn", "-f", "-", stdin=unknown)
    assert 'Warning: unknown field "spec.foo"' in warned.stderr, warned.stderr
    assert "flunder.wardle.example.com/strict created" in warned.stdout
    ignored = kubectl(kubectl_bin, server, "apply", "--validate=false", "-f", "-", stdin=unknown)
    assert "unknown field" not in ignored.stderr, ignored.stderr
    kubectl(kubectl_bin, server, "delete", "flunder", "strict")
