"""A SubjectAccessReview stand-in on loopback: HTTPS, POST
/apis/authorization.k8s.io/v1/subjectaccessreviews, with a name-scoped policy like an RBAC
Role with `resourceNames: ["fuzz-a"]` for one user.

RBAC's rules: a name-scoped rule matches only requests that carry that name (get, update,
patch, delete of the item; list and watch whose fieldSelector is `metadata.name=<name>`);
create and deletecollection never carry a name, so they are denied.
"""

from __future__ import annotations

import json
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from k8s_aggapi.kubeconfig import kubeconfig, write_kubeconfig
from k8s_aggapi.serving.certs import new_ca, new_cert

PATH = "/apis/authorization.k8s.io/v1/subjectaccessreviews"
USER = "fuzz-user"
ALLOWED_NAME = "fuzz-a"
NAMED_VERBS = frozenset({"get", "list", "watch", "update", "patch", "delete"})


def decide(spec: dict[str, Any]) -> bool:
    attrs = spec.get("resourceAttributes")
    if spec.get("user") != USER or not isinstance(attrs, dict):
        return False
    return (attrs.get("group") == "wardle.example.com"
            and attrs.get("resource") in ("flunders", "fischers")
            and not attrs.get("subresource")
            and attrs.get("verb") in NAMED_VERBS
            and attrs.get("name") == ALLOWED_NAME)


class _Handler(BaseHTTPRequestHandler):
    server: SARServer

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        review = json.loads(self.rfile.read(length) or b"{}")
        spec = review.get("spec") or {}
        allowed = self.path == PATH and decide(spec)
        self.server.reviews.append(spec)
        review["status"] = {"allowed": allowed,
                            "reason": "" if allowed else "not in the fuzz policy"}
        body = json.dumps(review).encode()
        self.send_response(200 if self.path == PATH else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return


class SARServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, directory: Path) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.reviews: list[dict[str, Any]] = []
        ca = new_ca("attack-sar-ca")
        serving = new_cert(ca, "sar", dns_names=["localhost"], ip_addresses=["127.0.0.1"],
                           server=True)
        serving.write(directory / "sar.crt", directory / "sar.key")
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(directory / "sar.crt", directory / "sar.key")
        self.socket = ctx.wrap_socket(self.socket, server_side=True)
        client = new_cert(ca, "attack-sample", client=True)
        self.kubeconfig = write_kubeconfig(directory / "sar.kubeconfig", kubeconfig(
            f"https://127.0.0.1:{self.server_address[1]}", ca.cert_pem(), "attack-sample",
            client.cert_pem(), client.key_pem(), cluster="sar"))
        self._thread = threading.Thread(target=self.serve_forever, daemon=True, name="sar")

    def __enter__(self) -> SARServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()
