"""Standalone etcd for storage tests: one member or a cluster of several on loopback, plain or
over TLS (client certificates required), each member leashed (`ManagedProcess`).

`EtcdCluster(directory, members=3, tls=True).start()` returns once every member answers
`/health`; `kill(i)` SIGKILLs one member, `restart(i)` starts it again on its data dir and
ports, so a test can take a member (or the whole of etcd) away under load and bring it back.
"""

from __future__ import annotations

import shutil
import ssl
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from k8s_aggapi.envtest.binaries import find_binary
from k8s_aggapi.envtest.processes import ManagedProcess, free_port, stop_all, wait_for
from k8s_aggapi.serving.certs import KeyPair, new_ca, new_cert

PROGRESS_NOTIFY_INTERVAL = "1s"  # etcd's default is 10m: tests want bookmarks soon


@dataclass(frozen=True)
class EtcdTLS:
    """The files of an etcd PKI: the CA, a serving+peer cert for 127.0.0.1, a client cert."""

    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path

    @classmethod
    def create(cls, directory: Path) -> EtcdTLS:
        directory.mkdir(parents=True, exist_ok=True)
        ca = new_ca("etcd-ca")
        ca.write(directory / "ca.crt", directory / "ca.key")
        server = new_cert(ca, "etcd", dns_names=("localhost",), ip_addresses=("127.0.0.1",),
                          server=True, client=True)
        server.write(directory / "server.crt", directory / "server.key")
        client = new_cert(ca, "k8s-aggapi", client=True)
        client.write(directory / "client.crt", directory / "client.key")
        return cls(directory / "ca.crt", directory / "server.crt", directory / "server.key",
                   directory / "client.crt", directory / "client.key")

    def other_client(self, directory: Path, ca_name: str = "stranger-ca") -> tuple[Path, Path]:
        """A client cert from another CA (etcd must refuse it)."""
        ca: KeyPair = new_ca(ca_name)
        pair = new_cert(ca, "stranger", client=True)
        pair.write(directory / "stranger.crt", directory / "stranger.key")
        return directory / "stranger.crt", directory / "stranger.key"


@dataclass
class _Member:
    name: str
    client_port: int
    peer_port: int
    process: ManagedProcess | None = None


class EtcdCluster:
    """`members` etcd processes forming one cluster on 127.0.0.1."""

    def __init__(self, directory: Path, *, members: int = 1, tls: bool = False,
                 binary: Path | None = None, timeout: float = 60.0) -> None:
        found = binary or find_binary("etcd")
        if found is None:
            raise FileNotFoundError("no etcd binary: run `make binaries`")
        self.binary, self.directory, self.timeout = found, directory, timeout
        self.tls = EtcdTLS.create(directory / "pki") if tls else None
        self.members = [_Member(f"m{i}", free_port(), free_port()) for i in range(members)]

    @property
    def scheme(self) -> str:
        return "https" if self.tls else "http"

    @property
    def servers(self) -> list[str]:
        """The client URLs, for `--etcd-servers`."""
        return [f"{self.scheme}://127.0.0.1:{m.client_port}" for m in self.members]

    def _argv(self, m: _Member) -> list[str]:
        client = f"{self.scheme}://127.0.0.1:{m.client_port}"
        peer = f"{self.scheme}://127.0.0.1:{m.peer_port}"
        initial = ",".join(
            f"{o.name}={self.scheme}://127.0.0.1:{o.peer_port}" for o in self.members)
        argv = [
            str(self.binary), f"--name={m.name}", f"--data-dir={self.directory / m.name}",
            f"--listen-client-urls={client}", f"--advertise-client-urls={client}",
            f"--listen-peer-urls={peer}", f"--initial-advertise-peer-urls={peer}",
            f"--initial-cluster={initial}", "--initial-cluster-state=new",
            "--initial-cluster-token=k8s-aggapi-test", "--log-level=warn",
            "--unsafe-no-fsync",  # a killed process loses no page cache; tests go faster
            f"--experimental-watch-progress-notify-interval={PROGRESS_NOTIFY_INTERVAL}",
        ]
        if self.tls:
            t = self.tls
            argv += [
                f"--cert-file={t.server_cert}", f"--key-file={t.server_key}",
                f"--trusted-ca-file={t.ca}", "--client-cert-auth",
                f"--peer-cert-file={t.server_cert}", f"--peer-key-file={t.server_key}",
                f"--peer-trusted-ca-file={t.ca}", "--peer-client-cert-auth",
            ]
        return argv

    def start(self) -> EtcdCluster:
        for i in range(len(self.members)):
            self._spawn(i)
        for i in range(len(self.members)):
            self.wait_healthy(i)
        return self

    def _spawn(self, i: int) -> None:
        m = self.members[i]
        m.process = ManagedProcess(f"etcd-{m.name}", self._argv(m),
                                   self.directory / f"{m.name}.log")
        m.process.start()

    def healthy(self, i: int) -> bool:
        m = self.members[i]
        url = f"{self.scheme}://127.0.0.1:{m.client_port}/health"
        context = None
        if self.tls:
            context = ssl.create_default_context(cafile=str(self.tls.ca))
            context.load_cert_chain(str(self.tls.client_cert), str(self.tls.client_key))
        with urllib.request.urlopen(url, timeout=2, context=context) as response:
            return b'"true"' in response.read()

    def wait_healthy(self, i: int) -> None:
        process = self.members[i].process
        assert process is not None
        wait_for("etcd /health", lambda: self.healthy(i), process, timeout=self.timeout)

    def kill(self, i: int) -> None:
        """SIGKILL member `i` (no clean shutdown)."""
        process = self.members[i].process
        assert process is not None
        assert process._popen is not None
        process._popen.kill()
        process._popen.wait()
        stop_all([process], 1.0)

    def restart(self, i: int, *, wait: bool = True) -> None:
        """Start member `i` again on its data dir and ports (after `kill` or `stop`)."""
        self._spawn(i)
        if wait:
            self.wait_healthy(i)

    def stop(self, i: int | None = None) -> None:
        targets = self.members if i is None else [self.members[i]]
        stop_all([m.process for m in targets if m.process is not None])

    def __enter__(self) -> EtcdCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)

