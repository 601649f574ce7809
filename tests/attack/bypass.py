"""Authorization bypass attempts against a policy that lets one user touch only `fuzz-a`:
every URL form of get, list and watch of `fuzz-b`, path tricks, and every write verb.

A bypass is a 2xx answer that shows `fuzz-b` (a watch is read for a while after `fuzz-b` is
changed), a 2xx to a write aimed at `fuzz-b`, or `fuzz-b` changed or gone afterwards. Shared
by the straight-to-the-sample test and the e2e test through kube-apiserver (RBAC).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import orjson

from tests.attack.http import Client, ConnectionLost, Reader, Response
from tests.attack.oracle import COUNTS, judge

GV = "/apis/wardle.example.com/v1alpha1"
G = "/apis/wardle.example.com"
FISCHERS = f"{GV}/fischers"
FLUNDERS = f"{GV}/namespaces/{{ns}}/flunders"
NAME_A = "metadata.name%3Dfuzz-a"


@dataclass(frozen=True)
class Attempt:
    method: str
    target: str
    body: bytes | None = None
    content_type: str = "application/json"
    watch: bool = False  # stream it while fuzz-b changes
    headers: tuple[tuple[str, str], ...] = ()

    def describe(self) -> str:
        return f"{self.method} {self.target}"


def _merge(labels: dict[str, str], name: str | None = None) -> bytes:
    meta: dict[str, object] = {"labels": labels}
    if name:
        meta["name"] = name
    return orjson.dumps({"metadata": meta})


def reads(ns: str) -> list[Attempt]:
    """GET, LIST and WATCH forms that must never show fuzz-b."""
    fl = FLUNDERS.format(ns=ns)
    items = [
        f"{FISCHERS}/fuzz-b", f"{FISCHERS}/fuzz-b/", f"{FISCHERS}//fuzz-b",
        f"{GV}//fischers/fuzz-b", f"{G}//v1alpha1/fischers/fuzz-b",
        f"{FISCHERS}/FUZZ-B", f"{FISCHERS}/fuzz-a/../fuzz-b", f"{FISCHERS}/./fuzz-b",
        f"{FISCHERS}/fuzz-a%2F..%2Ffuzz-b", f"{FISCHERS}/fuzz-a%2ffuzz-b",
        f"{FISCHERS}/fuzz-%62", f"{FISCHERS}/fuzz-b%00", f"{FISCHERS}/fuzz-b%20",
        f"{FISCHERS}/fuzz-b;fuzz-a", f"{FISCHERS}/fuzz-b?fieldSelector={NAME_A}",
        f"{FISCHERS}/fuzz-a/fuzz-b", f"{FISCHERS}/fuzz-b/status",
        f"{GV}/namespaces/{ns}/fischers/fuzz-b", f"{fl}/fuzz-b", f"{fl}/fuzz-a/../fuzz-b",
        f"{fl}/fuzz-a%2F..%2Ffuzz-b", f"{GV}/namespaces/{ns}/flunders//fuzz-b",
        f"{GV}/namespaces/{ns}/./flunders/fuzz-b",
        f"{GV}/namespaces/{ns}/flunders/fuzz-a?watch=1",
    ]
    lists = [
        FISCHERS, f"{FISCHERS}/", f"{GV}/flunders", fl,
        f"{FISCHERS}?fieldSelector={NAME_A}",
        f"{FISCHERS}?fieldSelector=metadata.name%3D%3Dfuzz-a",
        f"{FISCHERS}?fieldSelector=metadata.name%3Dfuzz-a%2Cmetadata.name%3Dfuzz-b",
        f"{FISCHERS}?fieldSelector=metadata.name%3Dfuzz-b%2Cmetadata.name%3Dfuzz-a",
        f"{FISCHERS}?fieldSelector={NAME_A}&fieldSelector=metadata.name%3Dfuzz-b",
        f"{FISCHERS}?fieldSelector=metadata.name%3Dfuzz-b&fieldSelector={NAME_A}",
        f"{FISCHERS}?fieldSelector=metadata.name%21%3Dfuzz-a",
        f"{FISCHERS}?fieldSelector=%20metadata.name%20%3D%20fuzz-a%20",
        f"{FISCHERS}?fieldSelector=metadata.name%3Dfuzz-a%5C%2Cx",
        f"{FISCHERS}?fieldSelector={NAME_A}&labelSelector=",
        f"{FISCHERS}?fieldSelector=metadata.name%3Dfuzz-a&limit=1&continue=x",
        f"{FISCHERS}?labelSelector=metadata.name%3Dfuzz-a",
        f"{GV}/flunders?fieldSelector={NAME_A}",
        f"{fl}?fieldSelector={NAME_A}",
        f"{fl}?fieldSelector=metadata.namespace%3D{ns}%2C{NAME_A}",
        f"{fl}?fieldSelector={NAME_A}%2Cmetadata.namespace%21%3Dnope",
    ]
    watches = [
        f"{GV}/watch/fischers/fuzz-a", f"{GV}/watch/fischers/fuzz-b",
        f"{GV}/watch/fischers/fuzz-a?fieldSelector=metadata.name%3Dfuzz-b",
        f"{GV}/watch/fischers?fieldSelector={NAME_A}", f"{GV}/watch/fischers",
        f"{FISCHERS}?watch=1&fieldSelector={NAME_A}",
        f"{FISCHERS}?watch=true&fieldSelector={NAME_A}&fieldSelector=metadata.name%3Dfuzz-b",
        f"{FISCHERS}?watch=1&fieldSelector=metadata.name%3D%3Dfuzz-a",
        f"{FISCHERS}?watch=yes&fieldSelector={NAME_A}",
        f"{FISCHERS}?watch=0&fieldSelector={NAME_A}",
        f"{FISCHERS}/fuzz-a?watch=1",
        f"{GV}/watch/namespaces/{ns}/flunders/fuzz-a",
        f"{GV}/watch/namespaces/{ns}/flunders/fuzz-a/",
        f"{GV}/watch/namespaces/{ns}/flunders/fuzz-a?fieldSelector=metadata.name%3Dfuzz-b",
        f"{GV}/watch/namespaces/{ns}/flunders?fieldSelector={NAME_A}",
        f"{GV}/watch/flunders?fieldSelector={NAME_A}",
        f"{GV}/watch/flunders/fuzz-a", f"{fl}?watch=1&fieldSelector={NAME_A}",
        f"{fl}?watch=1&fieldSelector={NAME_A}&resourceVersion=0",
        f"{fl}?watch=1&fieldSelector={NAME_A}&allowWatchBookmarks=true",
        f"{GV}/watch/namespaces/{ns}/flunders/fuzz-a?resourceVersion=0",
        f"{GV}/watch/namespaces/{ns}/flunders/fuzz-a?labelSelector=a%3D1",
        f"{G}/v1alpha1/watch//fischers/fuzz-a",
        f"{GV}/watch/fischers/fuzz-a/../fuzz-b",
        f"{GV}/watch/fischers/fuzz-a%2F..%2Ffuzz-b",
    ]
    impersonation = [  # not served: the headers must be ignored, never obeyed
        Attempt("GET", f"{FISCHERS}/fuzz-b", headers=(("Impersonate-User", "admin"),
                                                      ("Impersonate-Group", "system:masters"))),
        Attempt("GET", f"{FISCHERS}/fuzz-b", headers=(("X-Remote-User", "admin"),
                                                      ("X-Remote-Group", "system:masters"))),
        Attempt("GET", f"{FISCHERS}/fuzz-b", headers=(("Authorization", "Bearer admin"),)),
    ]
    return ([Attempt("GET", t) for t in items + lists] + [Attempt("HEAD", f"{FISCHERS}/fuzz-b")]
            + impersonation + [Attempt("GET", t, watch=True) for t in watches])


def writes(ns: str) -> list[Attempt]:
    """Writes that must never change fuzz-b (or create anything)."""
    fl = FLUNDERS.format(ns=ns)
    merge, json_patch = "application/merge-patch+json", "application/json-patch+json"
    fischer_b = orjson.dumps({"apiVersion": "wardle.example.com/v1alpha1", "kind": "Fischer",
                              "metadata": {"name": "fuzz-b", "labels": {"pwned": "1"}}})
    out = []
    for base in (FISCHERS, fl):
        out += [
            Attempt("PATCH", f"{base}/fuzz-b", _merge({"pwned": "1"}), merge),
            Attempt("PATCH", f"{base}/fuzz-a/../fuzz-b", _merge({"pwned": "1"}), merge),
            Attempt("PATCH", f"{base}/fuzz-a%2F..%2Ffuzz-b", _merge({"pwned": "1"}), merge),
            Attempt("PATCH", f"{base}//fuzz-b", _merge({"pwned": "1"}), merge),
            Attempt("PATCH", f"{base}/fuzz-a", _merge({"pwned": "1"}, "fuzz-b"), merge),
            Attempt("PATCH", f"{base}/fuzz-a", orjson.dumps(
                [{"op": "replace", "path": "/metadata/name", "value": "fuzz-b"}]), json_patch),
            Attempt("PUT", f"{base}/fuzz-b", fischer_b),
            Attempt("PUT", f"{base}/fuzz-a", fischer_b),
            Attempt("DELETE", f"{base}/fuzz-b"),
            Attempt("DELETE", f"{base}/fuzz-a/../fuzz-b"),
            Attempt("DELETE", f"{base}/fuzz-b/"),
            Attempt("DELETE", base),
            Attempt("DELETE", f"{base}?fieldSelector={NAME_A}"),
            Attempt("DELETE", f"{base}?fieldSelector=metadata.name%3Dfuzz-b"),
            Attempt("POST", base, fischer_b),
            Attempt("POST", f"{base}/fuzz-a", fischer_b),
        ]
    return out


class Prober:
    """Runs attempts as `attacker`; `admin` sets up, changes fuzz-b during watches, checks."""

    def __init__(self, attacker: Callable[[], Client], admin: Client, ns: str) -> None:
        self.attacker, self.admin, self.ns = attacker, admin, ns
        self.bypasses: list[str] = []
        self.errors: list[str] = []  # answers that broke the oracle (5xx, not a Status)
        self.attempts = 0

    def _targets(self) -> list[str]:
        """The fuzz-b objects the attacker must never read or change."""
        return [f"{FISCHERS}/fuzz-b", f"{FLUNDERS.format(ns=self.ns)}/fuzz-b"]

    def setup(self) -> None:
        """Create fuzz-a and fuzz-b of both kinds."""
        fl = FLUNDERS.format(ns=self.ns)
        for name in ("fuzz-a", "fuzz-b"):
            for base, kind in ((FISCHERS, "Fischer"), (fl, "Flunder")):
                body = orjson.dumps({"apiVersion": "wardle.example.com/v1alpha1",
                                     "kind": kind, "metadata": {"name": name}})
                self.admin.request("POST", base, body=body,
                                   headers={"Content-Type": "application/json"})

    def _touch_b(self) -> None:
        for path in self._targets():
            self.admin.request("PATCH", path, body=_merge({"touched": str(self.attempts)}),
                               headers={"Content-Type": "application/merge-patch+json"})

    def _send(self, attempt: Attempt) -> Response | None:
        client = self.attacker()
        own = {k.lower() for k in client.identity.headers}
        if any(k.lower() in own for k, _ in attempt.headers):
            client.close()  # the front proxy's own identity headers: no attack, it is trusted
            return None
        headers = {"Content-Type": attempt.content_type} if attempt.body is not None else {}
        headers.update(attempt.headers)
        try:
            if not attempt.watch:
                return client.request(attempt.method, attempt.target, body=attempt.body,
                                      headers=headers, read_limit=2.0)
            # open the stream, change fuzz-b, then read what the stream carried
            sock = client.connect()
            head = (f"GET {attempt.target} HTTP/1.1\r\nHost: x\r\n"
                    + "".join(f"{k}: {v}\r\n" for k, v in client.identity.headers.items())
                    + "\r\n")
            sock.sendall(head.encode())
            self._touch_b()
            try:
                return client.read(Reader(sock), "GET", read_limit=0.8)
            finally:
                sock.close()
        except (ConnectionLost, OSError) as exc:
            self.errors.append(f"{attempt.describe()}: no answer ({exc!r})")
            return None
        finally:
            client.close()

    def run(self, attempts: list[Attempt]) -> None:
        for attempt in attempts:
            self.attempts += 1
            resp = self._send(attempt)
            if resp is None:
                continue
            if problem := judge(resp, f"authz {attempt.describe()}", attempt.method):
                self.errors.append(f"{attempt.describe()}: {problem}")
            if not 200 <= resp.status < 300:
                continue
            aimed_at_b = "fuzz-b" in attempt.target or b"fuzz-b" in (attempt.body or b"")
            is_write = attempt.method not in ("GET", "HEAD")
            if b"fuzz-b" in resp.body or (is_write and aimed_at_b) or (
                    attempt.method == "HEAD" and aimed_at_b):
                at = max(resp.body.find(b"fuzz-b") - 120, 0)
                self.bypasses.append(f"{attempt.describe()} answered {resp.status}: "
                                     f"...{resp.body[at:at + 200]!r}")

    def check_untouched(self) -> None:
        """fuzz-b of both kinds still there and without the attacker's label."""
        for path in self._targets():
            resp = self.admin.request("GET", path)
            if resp.status != 200:
                self.bypasses.append(f"{path} is gone after the attempts ({resp.status})")
                continue
            labels = orjson.loads(resp.body)["metadata"].get("labels") or {}
            if "pwned" in labels:
                self.bypasses.append(f"{path} was changed by the attacker: {labels}")
        listed = self.admin.request("GET", FISCHERS)
        names = [i["metadata"]["name"] for i in orjson.loads(listed.body).get("items", [])]
        if names.count("fuzz-b") != 1:
            self.bypasses.append(f"fischers after the attempts: {names}")


def count(prober: Prober) -> None:
    COUNTS.bypasses += len(prober.bypasses)
    for bypass in prober.bypasses:
        COUNTS.note(f"bypass: {bypass}")
