"""Property-based fuzzing of the sample from its own OpenAPI v3 document, over real TLS, as
admin (client certificate) and through the front proxy (front-proxy-client + X-Remote-*).

Oracle per request: no 5xx, every non-2xx answer a metav1.Status with a matching code, the
process alive; every 25 requests /readyz and both cluster-wide LISTs answer 200. Bounded by
AGGAPI_FUZZ_EXAMPLES (500) and AGGAPI_FUZZ_SECONDS (45); derandomized unless AGGAPI_FUZZ_SEED
is set, so a failure reproduces with the same command.
"""

from __future__ import annotations

import os
import time
from typing import Any

import orjson
from hypothesis import HealthCheck, Phase, given, seed, settings

from tests.attack.http import Client, ConnectionLost
from tests.attack.oracle import COUNTS, judge
from tests.attack.server import GV, SampleServer
from tests.attack.strategies import NAMES, NAMESPACES, Request, operations, requests

EXAMPLES = int(os.environ.get("AGGAPI_FUZZ_EXAMPLES", "500"))
BUDGET = float(os.environ.get("AGGAPI_FUZZ_SECONDS", "45"))
SEED = os.environ.get("AGGAPI_FUZZ_SEED", "")
OPENAPI = "/openapi/v3/apis/wardle.example.com/v1alpha1"


def _ensure_objects(admin: Client) -> None:
    """The names the fuzzer aims at exist again (deletes remove them)."""
    for name in NAMES:
        admin.request("POST", f"{GV}/fischers", headers={"Content-Type": "application/json"},
                      body=orjson.dumps({"apiVersion": "wardle.example.com/v1alpha1",
                                         "kind": "Fischer", "metadata": {"name": name}}))
        for ns in NAMESPACES:
            admin.request("POST", f"{GV}/namespaces/{ns}/flunders",
                          headers={"Content-Type": "application/json"},
                          body=orjson.dumps({"apiVersion": "wardle.example.com/v1alpha1",
                                             "kind": "Flunder", "metadata": {
                                                 "name": name, "labels": {"a": "2"}}}))


def _still_serving(server: SampleServer, admin: Client) -> list[str]:
    problems = []
    if not server.ready():
        problems.append("/readyz does not answer 200")
    for path in (f"{GV}/flunders", f"{GV}/fischers"):
        resp = admin.request("GET", path)
        judge(resp, f"LIST {path}")
        if resp.status != 200:
            problems.append(f"LIST {path} answered {resp.status}: {resp.body[:200]!r}")
    return problems


def test_fuzz_from_openapi(dev_server: SampleServer, capsys: Any) -> None:
    admin = dev_server.client("admin")
    doc = orjson.loads(admin.request("GET", OPENAPI).body)
    ops = operations(doc)
    assert len(ops) >= 15, [(o.method, o.path) for o in ops]
    components = doc["components"]["schemas"]
    clients = {
        "admin": admin,
        "front-proxy": dev_server.client("front-proxy-client", **{
            "X-Remote-User": "fuzz-admin", "X-Remote-Group": "system:masters"}),
    }
    _ensure_objects(admin)
    problems: list[str] = []
    sent = {"n": 0, "codes": {}}
    start = time.monotonic()

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=not SEED, database=None,
              suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
    @given(req=requests(ops, components))
    def attack(req: Request) -> None:
        if time.monotonic() - start > BUDGET or len(problems) > 50:
            return
        sent["n"] += 1
        client = clients[req.identity]
        try:
            resp = client.request(req.method, req.target, body=req.body, headers=req.headers,
                                  read_limit=0.3)
        except (ConnectionLost, OSError) as exc:
            COUNTS.requests += 1
            COUNTS.not_status += 1
            problems.append(f"no answer ({exc!r}) to {req.describe()}")
            client.close()
            return
        codes: dict[int, int] = sent["codes"]  # type: ignore[assignment]
        codes[resp.status] = codes.get(resp.status, 0) + 1
        if problem := judge(resp, req.describe(), req.method):
            problems.append(f"{problem}\n    for {req.describe()}")
        if not dev_server.alive():
            problems.append(f"server exited after {req.describe()}")
            return
        if sent["n"] % 25 == 0:
            problems.extend(_still_serving(dev_server, admin))
            _ensure_objects(admin)

    if SEED:
        attack = seed(int(SEED))(attack)
    attack()
    if dev_server.alive():
        problems.extend(_still_serving(dev_server, admin))
    for client in clients.values():
        client.close()
    with capsys.disabled():
        print(f"\nfuzz: {sent['n']} requests in {time.monotonic() - start:.0f}s, "
              f"seed={SEED if SEED else 'derandomized'}, codes={sent['codes']}")
    assert sent["n"] >= min(EXAMPLES, 100), "the fuzzer sent too few requests"
    assert not problems, "\n".join(problems[:30])
