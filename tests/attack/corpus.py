"""The corpus of malicious requests (corpus.yaml): loading, building each request, and running
one case with its checks. Shared by the straight-to-the-sample tests and the e2e tests that
send the same attacks through kube-apiserver's aggregator.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import yaml

from tests.attack.http import Client, ConnectionLost, Response
from tests.attack.oracle import COUNTS, judge

CORPUS = Path(__file__).with_name("corpus.yaml")
GV = "/apis/wardle.example.com/v1alpha1"
SETUP = {
    "fischer": (f"{GV}/fischers", {"apiVersion": "wardle.example.com/v1alpha1",
                                   "kind": "Fischer", "metadata": {"name": "$NAME"}}),
    "flunder": (f"{GV}/namespaces/default/flunders", {
        "apiVersion": "wardle.example.com/v1alpha1", "kind": "Flunder",
        "metadata": {"name": "$NAME"}, "spec": {"reference": "other"}}),
    "labelled": (f"{GV}/namespaces/default/flunders", {
        "apiVersion": "wardle.example.com/v1alpha1", "kind": "Flunder",
        "metadata": {"name": "$NAME", "labels": {"atk-count": "4"}}}),
}


def load() -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = yaml.safe_load(CORPUS.read_text())
    return cases


def nested(depth: int, open_: str = "{", close: str = "}") -> str:
    """`depth` levels of nesting, written as text (no recursion, no serializer limit)."""
    if open_ == "{":
        return '{"a":' * depth + "1" + "}" * depth
    return open_ * depth + close * depth


def copies(count: int) -> str:
    """JSON-patch copies of /spec into /spec/aN: each doubles the document (issue 6)."""
    ops = [{"op": "add", "path": "/spec/a0", "value": {"x": "y" * 64}}]
    ops += [{"op": "copy", "from": "/spec", "path": f"/spec/a{i}"} for i in range(1, count)]
    return orjson.dumps(ops).decode()


def generate(spec: Mapping[str, Any]) -> str | bytes:
    kind = spec["gen"]
    template = str(spec.get("template", "@@"))
    if kind == "nested":
        filling = nested(int(spec["depth"]), spec.get("open", "{"), spec.get("close", "}"))
    elif kind == "repeat":
        filling = str(spec["unit"]) * int(spec["count"])
    elif kind == "labels":
        filling = orjson.dumps({f"k{i}": "v" for i in range(int(spec["count"]))}).decode()
    elif kind == "copies":
        return copies(int(spec["count"]))
    elif kind == "bytes":
        return bytes.fromhex(spec["hex"])
    else:
        raise ValueError(f"unknown generator {kind!r}")
    return template.replace("@@", filling)


@dataclass
class Built:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes | None


def substitute(text: str, values: Mapping[str, str]) -> str:
    for key in sorted(values, key=len, reverse=True):
        text = text.replace(key, values[key])
    return text


def build(case: Mapping[str, Any], values: Mapping[str, str]) -> Built:
    path = str(case.get("path", ""))
    if "pathgen" in case:
        path = path.replace("@@", str(generate(case["pathgen"])))
    headers = {k: substitute(str(v), values) for k, v in (case.get("headers") or {}).items()}
    if "headergen" in case:
        headers = {k: v.replace("@@", str(generate(case["headergen"])))
                   for k, v in headers.items()}
    for i in range(int(case.get("headercount", 0))):
        headers[f"X-Junk-{i}"] = "j" * 50
    body: bytes | None = None
    spec = case.get("body")
    if spec is not None:
        if "json" in spec:
            body = substitute(orjson.dumps(spec["json"]).decode(), values).encode()
        elif "text" in spec:
            body = substitute(spec["text"], values).encode("utf-8", "surrogatepass")
        else:
            made = generate(spec)
            body = made if isinstance(made, bytes) else substitute(made, values).encode()
        headers.setdefault("Content-Type", "application/json")
    return Built(str(case.get("method", "GET")), substitute(path, values), headers, body)


def expected(case: Mapping[str, Any], key: str = "expect") -> list[int]:
    value = case[key]
    return [int(v) for v in value] if isinstance(value, list) else [int(value)]


def _message(resp: Response) -> str:
    """The Status message of `resp` (its raw text when it is no Status)."""
    try:
        body = orjson.loads(resp.body)
    except orjson.JSONDecodeError:
        return resp.body.decode("utf-8", "replace")
    return str(body.get("message", "")) if isinstance(body, dict) else ""


class Runner:
    """Runs cases with `clients` (admin, anonymous, front-proxy) against one server."""

    def __init__(self, clients: Mapping[str, Client]) -> None:
        self.clients = clients
        self.admin = clients["admin"]
        self.problems: list[str] = []  # answers that broke the oracle, for the running case

    def _send(self, client: Client, built: Built, what: str) -> Response:
        try:
            resp = client.request(built.method, built.path, body=built.body,
                                  headers=built.headers, read_limit=2.0)
        except (ConnectionLost, OSError) as exc:
            # a server that hangs up without an answer breaks the Status contract
            COUNTS.requests += 1
            COUNTS.not_status += 1
            COUNTS.note(f"{what}: no answer ({exc!r})")
            self.problems.append(f"{what}: no answer ({exc!r})")
            return Response(0, {}, b"")
        if problem := judge(resp, what, built.method):
            self.problems.append(f"{what}: {problem}")
        return resp

    def _admin(self, method: str, path: str, body: Any = None, what: str = "") -> Response:
        raw = orjson.dumps(body) if body is not None else None
        headers = {"Content-Type": "application/json"} if raw is not None else {}
        return self._send(self.admin, Built(method, path, headers, raw), what or path)

    def _raw(self, case: Mapping[str, Any], values: Mapping[str, str]) -> Response:
        payload = substitute(case["raw"], values).encode("latin-1")
        try:
            resp = self.admin.send_raw(payload)
        except (ConnectionLost, OSError) as exc:
            COUNTS.requests += 1
            COUNTS.not_status += 1
            COUNTS.note(f"{case['id']}: no answer ({exc!r})")
            self.problems.append(f"{case['id']}: no answer ({exc!r})")
            return Response(0, {}, b"")
        if problem := judge(resp, case["id"]):
            self.problems.append(f"{case['id']}: {problem}")
        return resp

    def run(self, case: Mapping[str, Any], name: str) -> list[str]:
        """Run one case; return what went wrong (empty when it held)."""
        cid = case["id"]
        values = {"$GV": GV, "$NAME": name, "$RV": ""}
        problems: list[str] = []
        self.problems = []
        for kind in case.get("setup") or []:
            path, body = SETUP[kind]
            made = self._admin("POST", path, orjson.loads(substitute(
                orjson.dumps(body).decode(), values)), f"{cid} setup")
            if made.status != 201:
                return [f"{cid}: setup {kind} answered {made.status}: {made.body[:200]!r}"]
            values["$RV"] = str(orjson.loads(made.body)["metadata"]["resourceVersion"])
        try:
            if "raw" in case:
                resp = self._raw(case, values)
            else:
                built = build(case, values)
                resp = self._send(self.clients[case.get("as", "admin")], built, cid)
            if resp.status not in expected(case):
                COUNTS.wrong_code += 1
                problems.append(f"{cid}: answered {resp.status}, kube-apiserver answers "
                                f"{case['expect']}: {resp.body[:300]!r}")
            if (message := case.get("message")) and message not in _message(resp):
                problems.append(f"{cid}: message lacks {message!r}: {resp.body[:300]!r}")
            problems += self._after(case, values)
        finally:
            self._cleanup(values)
        return self.problems + problems

    def _after(self, case: Mapping[str, Any], values: Mapping[str, str]) -> list[str]:
        cid, problems = case["id"], []
        for check in case.get("after") or []:
            if "get" in check:
                path = substitute(check["get"], values)
                got = self._admin("GET", path, what=f"{cid} after")
                if got.status not in expected(check, "code"):
                    problems.append(f"{cid}: afterwards GET {path[:120]} answered {got.status}, "
                                    f"want {check['code']}")
                if (text := check.get("lacks_text")) and text in got.body.decode(
                        "utf-8", "replace"):
                    problems.append(f"{cid}: afterwards {path} still holds {text!r}")
            else:
                path = substitute(check["list"], values)
                listed = self._admin("GET", path, what=f"{cid} after")
                if listed.status != 200:
                    problems.append(f"{cid}: afterwards LIST {path} answered {listed.status}")
                    continue
                names = {i["metadata"].get("name") for i in orjson.loads(listed.body)["items"]}
                want = substitute(check.get("has") or check.get("lacks") or "", values)
                if "has" in check and want not in names:
                    problems.append(f"{cid}: afterwards LIST {path} lacks {want!r}")
                if "lacks" in check and want in names:
                    problems.append(f"{cid}: afterwards LIST {path} holds {want!r}: stored")
        for path in (f"{GV}/flunders", f"{GV}/fischers"):
            listed = self._admin("GET", path, what=f"{cid} list-after")
            if listed.status != 200:
                problems.append(f"{cid}: afterwards the cluster-wide LIST {path} answered "
                                f"{listed.status}: {listed.body[:200]!r}")
        return problems

    def _cleanup(self, values: Mapping[str, str]) -> None:
        name = values["$NAME"]
        for path in (f"{GV}/fischers/{name}", f"{GV}/namespaces/default/flunders/{name}"):
            try:
                self.admin.request("DELETE", path, read_limit=2.0)
            except (ConnectionLost, OSError):
                self.admin.close()
