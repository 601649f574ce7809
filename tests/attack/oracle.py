"""The oracle every attack answer goes through, and the counts the suite prints at the end.

An answer is bad when it is a 5xx, when a non-2xx answer is not a metav1.Status whose `code`
is the HTTP status, or when the server process is gone. Bypasses are counted by the
authorization tests; the peak RSS by whoever samples memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import orjson

from tests.attack.http import Response


@dataclass
class Counts:
    requests: int = 0
    server_errors: int = 0  # 5xx
    not_status: int = 0  # non-2xx answers that are not a matching metav1.Status
    crashes: int = 0  # server process exits, or /readyz not answering after attacks
    bypasses: int = 0  # name-scoped authorization not held
    wrong_code: int = 0  # corpus cases answered with another code than kube-apiserver's
    peak_rss_mib: float = 0.0
    rss_growth_mib: float = 0.0
    problems: list[str] = field(default_factory=list)

    def note(self, problem: str) -> None:
        if len(self.problems) < 200:
            self.problems.append(problem)

    def summary(self) -> str:
        return (f"requests={self.requests} 5xx={self.server_errors} "
                f"non-Status-errors={self.not_status} crashes={self.crashes} "
                f"bypasses={self.bypasses} wrong-codes={self.wrong_code} "
                f"peak-RSS={self.peak_rss_mib:.0f}MiB "
                f"(heavy-case growth {self.rss_growth_mib:.0f}MiB)")


COUNTS = Counts()


def status_problem(resp: Response, method: str = "GET") -> str:
    """What is wrong with `resp` as an API server answer ('' when nothing)."""
    if resp.status >= 500:
        return f"{resp.status}: {resp.body[:300]!r}"
    if resp.status < 400 or method == "HEAD":
        return ""
    try:
        body = orjson.loads(resp.body)
    except orjson.JSONDecodeError:
        return f"{resp.status} not JSON: {resp.body[:200]!r}"
    if not isinstance(body, dict) or body.get("kind") != "Status":
        return f"{resp.status} not a Status: {resp.body[:200]!r}"
    if body.get("code") != resp.status:
        return f"{resp.status} Status with code {body.get('code')!r}"
    if body.get("status") != "Failure" or not isinstance(body.get("metadata"), dict):
        return f"{resp.status} Status without status=Failure/metadata: {resp.body[:200]!r}"
    return ""


def judge(resp: Response, what: str, method: str = "GET") -> str:
    """Count `resp` and return its problem ('' when fine)."""
    COUNTS.requests += 1
    problem = status_problem(resp, method)
    if problem:
        if resp.status >= 500:
            COUNTS.server_errors += 1
        else:
            COUNTS.not_status += 1
        COUNTS.note(f"{what}: {problem}")
    return problem
