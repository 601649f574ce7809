"""Throwaway PKI and an in-memory TLS handshake for the serving tests (imported by the tests)."""

from __future__ import annotations

import ssl
import warnings
from dataclasses import dataclass
from pathlib import Path

from k8s_aggapi.serving.certs import KeyPair, new_ca, new_cert


@dataclass
class PKI:
    dir: Path
    server_ca: KeyPair
    cert_file: Path
    key_file: Path
    client_ca: KeyPair
    client: KeyPair
    other_ca: KeyPair
    other: KeyPair

    def serving_pair(self) -> KeyPair:
        return new_cert(self.server_ca, "server", dns_names=["localhost"], server=True)

    def client_context(self, client: KeyPair | None = None) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cadata=self.server_ca.cert_pem().decode())
        if client is not None:
            cert, key = self.dir / "client.crt", self.dir / "client.key"
            client.write(cert, key)
            ctx.load_cert_chain(cert, key)
        return ctx


def make_pki(tmp_path: Path) -> PKI:
    server_ca = new_ca("server-ca")
    client_ca, other_ca = new_ca("client-ca"), new_ca("other-ca")
    pki = PKI(
        dir=tmp_path,
        server_ca=server_ca,
        cert_file=tmp_path / "tls.crt",
        key_file=tmp_path / "tls.key",
        client_ca=client_ca,
        client=new_cert(client_ca, "alice", client=True),
        other_ca=other_ca,
        other=new_cert(other_ca, "mallory", client=True),
    )
    pki.serving_pair().write(pki.cert_file, pki.key_file)
    return pki


def handshake(
    server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext
) -> tuple[ssl.SSLObject, ssl.SSLObject]:
    """Complete a TLS handshake through memory BIOs; returns (client, server) objects."""
    s_in, s_out, c_in, c_out = (ssl.MemoryBIO() for _ in range(4))
    server = server_ctx.wrap_bio(s_in, s_out, server_side=True)
    client = client_ctx.wrap_bio(c_in, c_out, server_hostname="localhost")
    done = {"client": False, "server": False}
    for _ in range(20):
        for side, obj in (("client", client), ("server", server)):
            if not done[side]:
                try:
                    obj.do_handshake()
                    done[side] = True
                except ssl.SSLWantReadError:
                    pass
        s_in.write(c_out.read())
        c_in.write(s_out.read())
        if all(done.values()):
            return client, server
    raise AssertionError("handshake did not finish")


def tls11_client(ctx: ssl.SSLContext) -> ssl.SSLContext:
    """`ctx` limited to TLS 1.0-1.1 (with the weak ciphers those need allowed)."""
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx.minimum_version = ssl.TLSVersion.TLSv1
        ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    return ctx
