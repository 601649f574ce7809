"""The ceiling of the wire benchmark: a bare Starlette app on uvicorn, nothing of ours.

TLS with a client certificate required and verified by the handshake; GET answers a fixed
299-byte Flunder, LIST a fixed list of 100 of them, POST reads the body and answers 201.
`python -m bench.ceiling --port P --cert C --key K --client-ca CA`.
"""

from __future__ import annotations

import argparse
import ssl

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


def flunder(name: str, namespace: str = "bench", pad: int = 0) -> bytes:
    return orjson.dumps({
        "apiVersion": "wardle.example.com/v1alpha1", "kind": "Flunder",
        "metadata": {"name": name, "namespace": namespace,
                     "uid": "2a5d1c4e-0b7f-4f63-9d7e-6c1f2b3a4d5e", "resourceVersion": "42",
                     "creationTimestamp": "2026-12-01T22:00:00Z",
                     "labels": {"app": "bench" + "x" * pad}},
        "spec": {"reference": "other", "referenceType": "Flunder"},
    })


ONE = flunder("f0", pad=299 - len(flunder("f0")))
LIST = b'{"apiVersion":"wardle.example.com/v1alpha1","kind":"FlunderList","metadata":' \
       b'{"resourceVersion":"42"},"items":[' + b",".join(
           flunder(f"f{i}") for i in range(100)) + b"]}"
JSON = "application/json"


async def get(request: Request) -> Response:
    return Response(ONE, media_type=JSON)


async def flunders(request: Request) -> Response:
    if request.method == "POST":
        await request.body()
        return Response(ONE, 201, media_type=JSON)
    return Response(LIST, media_type=JSON)


app = Starlette(routes=[
    Route("/apis/wardle.example.com/v1alpha1/namespaces/{ns}/flunders/{name}", get),
    Route("/apis/wardle.example.com/v1alpha1/namespaces/{ns}/flunders", flunders,
          methods=["GET", "POST"]),
])

if __name__ == "__main__":
    assert len(ONE) == 299, len(ONE)
    p = argparse.ArgumentParser(prog="python -m bench.ceiling")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--client-ca", required=True)
    args = p.parse_args()
    uvicorn.run(app, host="127.0.0.1", port=args.port, ssl_certfile=args.cert,
                ssl_keyfile=args.key, ssl_ca_certs=args.client_ca,
                ssl_cert_reqs=ssl.CERT_REQUIRED, log_level="warning", access_log=False)
