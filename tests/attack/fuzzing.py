"""One fuzzing run: hypothesis draws requests from the server's OpenAPI v3 document and each
answer goes through the oracle; shared by the straight-to-the-sample test and the e2e test
through kube-apiserver.

Oracle per request: no 5xx, every non-2xx answer a metav1.Status with a matching code, the
process alive; every 25 requests /readyz (`ready`) and both cluster-wide LISTs answer 200.
Bounded by `examples` and `budget` seconds; derandomized unless a seed is given.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import orjson
from hypothesis import HealthCheck, Phase, given, seed, settings

from tests.attack.http import Client, ConnectionLost
from tests.attack.oracle import COUNTS, judge
from tests.attack.server import GV
from tests.attack.strategies import NAMES, NAMESPACES, Request, operations, requests

OPENAPI = "/openapi/v3/apis/wardle.example.com/v1alpha1"


@dataclass
class Run:
    sent: int = 0
    seconds: float = 0.0
    codes: dict[int, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def describe(self, seed_text: str) -> str:
        codes = dict(sorted(self.codes.items()))
        return (f"fuzz: {self.sent} requests in {self.seconds:.0f}s, seed={seed_text}, "
                f"codes={codes}")


def ensure_objects(admin: Client) -> None:
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


def still_serving(ready: Callable[[], bool], admin: Client) -> list[str]:
    problems = [] if ready() else ["/readyz does not answer 200"]
    for path in (f"{GV}/flunders", f"{GV}/fischers"):
        resp = admin.request("GET", path)
        judge(resp, f"LIST {path}")
        if resp.status != 200:
            problems.append(f"LIST {path} answered {resp.status}: {resp.body[:200]!r}")
    return problems


def fuzz(clients: Mapping[str, Client], *, alive: Callable[[], bool],
         ready: Callable[[], bool], examples: int, budget: float, seed_value: str = "",
         identities: tuple[str, ...] = ("admin", "front-proxy")) -> Run:
    """Fuzz through `clients` (`admin` always among them) for `examples` or `budget` s."""
    admin = clients["admin"]
    doc = orjson.loads(admin.request("GET", OPENAPI).body)
    ops = operations(doc)
    assert len(ops) >= 15, [(o.method, o.path) for o in ops]
    ensure_objects(admin)
    run, start = Run(), time.monotonic()

    @settings(max_examples=examples, deadline=None, derandomize=not seed_value,
              database=None, suppress_health_check=list(HealthCheck),
              phases=[Phase.explicit, Phase.generate])
    @given(req=requests(ops, doc["components"]["schemas"], identities))
    def attack(req: Request) -> None:
        if time.monotonic() - start > budget or len(run.problems) > 50:
            return
        run.sent += 1
        client = clients[req.identity]
        try:
            resp = client.request(req.method, req.target, body=req.body, headers=req.headers,
                                  read_limit=0.3)
        except (ConnectionLost, OSError) as exc:
            COUNTS.requests += 1
            COUNTS.not_status += 1
            run.problems.append(f"no answer ({exc!r}) to {req.describe()}")
            client.close()
            return
        run.codes[resp.status] = run.codes.get(resp.status, 0) + 1
        if problem := judge(resp, req.describe(), req.method):
            run.problems.append(f"{problem}\n    for {req.describe()}")
        if not alive():
            run.problems.append(f"server exited after {req.describe()}")
            return
        if run.sent % 25 == 0:
            run.problems.extend(still_serving(ready, admin))
            ensure_objects(admin)

    if seed_value:
        attack = seed(int(seed_value))(attack)
    attack()
    if alive():
        run.problems.extend(still_serving(ready, admin))
    run.seconds = time.monotonic() - start
    return run
