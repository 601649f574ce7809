"""Property-based fuzzing of the sample from its own OpenAPI v3 document, over real TLS, as
admin (client certificate) and through the front proxy (front-proxy-client + X-Remote-*).

Bounded by AGGAPI_FUZZ_EXAMPLES (500) and AGGAPI_FUZZ_SECONDS (45); derandomized unless
AGGAPI_FUZZ_SEED is set, so a failure reproduces with the same command. The oracle is in
fuzzing.py.
"""

from __future__ import annotations

import os
from typing import Any

from tests.attack.fuzzing import fuzz
from tests.attack.server import SampleServer

EXAMPLES = int(os.environ.get("AGGAPI_FUZZ_EXAMPLES", "500"))
BUDGET = float(os.environ.get("AGGAPI_FUZZ_SECONDS", "45"))
SEED = os.environ.get("AGGAPI_FUZZ_SEED", "")


def test_fuzz_from_openapi(dev_server: SampleServer, capsys: Any) -> None:
    clients = {
        "admin": dev_server.client("admin"),
        "front-proxy": dev_server.client("front-proxy-client", **{
            "X-Remote-User": "fuzz-admin", "X-Remote-Group": "system:masters"}),
    }
    try:
        run = fuzz(clients, alive=dev_server.alive, ready=dev_server.ready,
                   examples=EXAMPLES, budget=BUDGET, seed_value=SEED)
    finally:
        for client in clients.values():
            client.close()
    with capsys.disabled():
        print("\n" + run.describe(SEED or "derandomized"))
    assert run.sent >= min(EXAMPLES, 100), "the fuzzer sent too few requests"
    assert not run.problems, "\n".join(run.problems[:30])
