"""A small Prometheus exporter on loopback for tests: counters that grow at rates the test
sets (`http_requests_total{namespace,pod}` per pod, say) and gauges it sets, served in the
text exposition format from a thread.

    with Exporter() as exporter:
        exporter.set_rate("http_requests_total", {"namespace": "demo", "pod": "web-1"}, 5.0)
        exporter.set_gauge("queue_depth", {"queue": "jobs"}, 42)

`PodLoad` keeps `http_requests_total` of a Deployment's current pods at a total rate shared
among them (the HPA walkthrough's load).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any

Labels = tuple[tuple[str, str], ...]


def _labels(labels: Mapping[str, str]) -> Labels:
    return tuple(sorted(labels.items()))


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


class Exporter:
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._lock = threading.Lock()
        # counter name -> labels -> (value at `since`, rate per second, since)
        self._counters: dict[str, dict[Labels, tuple[float, float, float]]] = {}
        self._gauges: dict[str, dict[Labels, float]] = {}
        exporter = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = exporter.render().encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        name="exporter")

    @property
    def target(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{host!s}:{port}"

    def start(self) -> Exporter:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Exporter:
        return self.start()

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def set_rate(self, name: str, labels: Mapping[str, str], per_second: float) -> None:
        """From now on the counter grows by `per_second` each second (it never goes down)."""
        now = time.time()
        with self._lock:
            series = self._counters.setdefault(name, {})
            value, rate, since = series.get(_labels(labels), (0.0, 0.0, now))
            series[_labels(labels)] = (value + rate * (now - since), per_second, now)

    def set_gauge(self, name: str, labels: Mapping[str, str], value: float) -> None:
        with self._lock:
            self._gauges.setdefault(name, {})[_labels(labels)] = value

    def remove(self, name: str, labels: Mapping[str, str]) -> None:
        with self._lock:
            self._counters.get(name, {}).pop(_labels(labels), None)
            self._gauges.get(name, {}).pop(_labels(labels), None)

    def render(self) -> str:
        now = time.time()
        lines = []
        with self._lock:
            for name, counters in sorted(self._counters.items()):
                lines.append(f"# TYPE {name} counter")
                for labels, (value, rate, since) in sorted(counters.items()):
                    lines.append(f"{name}{_format(labels)} {value + rate * (now - since):.6f}")
            for name, gauges in sorted(self._gauges.items()):
                lines.append(f"# TYPE {name} gauge")
                lines += [f"{name}{_format(labels)} {value}"
                          for labels, value in sorted(gauges.items())]
        return "\n".join(lines) + "\n"


def _format(labels: Labels) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in labels) + "}"


class PodLoad:
    """A total request rate (`total`, per second) shared by the pods `app=<app>` selects in
    `namespace`, followed as pods come and go (polled every half second from a thread)."""

    def __init__(self, kubeconfig: Path, exporter: Exporter, namespace: str, app: str, *,
                 metric: str = "http_requests_total") -> None:
        from kubernetes import client, config

        api = config.new_client_from_config(str(kubeconfig))  # type: ignore[no-untyped-call]
        self.core: Any = client.CoreV1Api(api)
        self.exporter, self.namespace, self.app, self.metric = exporter, namespace, app, metric
        self.total = 0.0
        self.known: set[str] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"load {app}")

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            try:
                pods = self.core.list_namespaced_pod(
                    self.namespace, label_selector=f"app={self.app}").items
            except Exception:  # the API is busy: next round
                continue
            names = {str(p.metadata.name) for p in pods if not p.metadata.deletion_timestamp}
            for gone in self.known - names:
                self.exporter.remove(self.metric, {"namespace": self.namespace, "pod": gone})
            for name in names:
                self.exporter.set_rate(self.metric, {"namespace": self.namespace, "pod": name},
                                       self.total / max(len(names), 1))
            self.known = names

    def start(self) -> PodLoad:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def __enter__(self) -> PodLoad:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
