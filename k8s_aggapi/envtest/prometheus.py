"""A real Prometheus for tests: Debian's `prometheus` package, installed when missing, run
leashed on a free loopback port with a scrape configuration the test writes.

    with Prometheus(run_dir, targets={"exporter": ["127.0.0.1:9100"]}) as prom:
        prom.wait_for_series('http_requests_total')

`ensure_prometheus()` finds `prometheus` (and `promtool`) on PATH, or, as root, runs
`apt-get install -y prometheus` once (`apt-get update` first when the package is unknown),
under a file lock: parallel test sessions (pytest-xdist workers) install it once.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import yaml

from k8s_aggapi.envtest.binaries import cache_root
from k8s_aggapi.envtest.lifetime import run as run_leashed
from k8s_aggapi.envtest.processes import ManagedProcess, free_port, wait_for

PACKAGE = "prometheus"
_NO_PROXY_ENV = {"NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}


class PrometheusUnavailable(RuntimeError):
    """Prometheus is not installed and could not be installed (the message says why)."""


def _find(name: str) -> Path | None:
    found = shutil.which(name) or (f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists()
                                   else None)
    return Path(found) if found else None


def _apt(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    return run_leashed(["apt-get", *args], env=env, capture_output=True, text=True,
                       timeout=900, check=False)


def ensure_prometheus(tool: str = "prometheus") -> Path:
    """The path of `tool` (prometheus or promtool), installing Debian's package when needed."""
    if (path := _find(tool)) is not None:
        return path
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        raise PrometheusUnavailable(
            f"{tool} is not installed; install Debian's package: apt-get install -y {PACKAGE}")
    cache_root().mkdir(parents=True, exist_ok=True)
    with open(cache_root() / f".{PACKAGE}-install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another session may be installing it right now
        if (path := _find(tool)) is not None:
            return path
        result = _apt("install", "-y", "--no-install-recommends", PACKAGE)
        if result.returncode != 0:
            _apt("update")
            result = _apt("install", "-y", "--no-install-recommends", PACKAGE)
    if result.returncode != 0 or (path := _find(tool)) is None:
        raise PrometheusUnavailable(
            f"apt-get install -y {PACKAGE} failed ({result.returncode}):\n{result.stderr[-2000:]}")
    return path


def scrape_config(targets: Mapping[str, Sequence[str]], *, interval: str = "1s",
                  rule_files: Sequence[str | Path] = ()) -> dict[str, Any]:
    """A configuration scraping each job's static `targets` (host:port) every `interval`."""
    return {
        "global": {"scrape_interval": interval, "evaluation_interval": interval},
        "rule_files": [str(f) for f in rule_files],
        "scrape_configs": [
            {"job_name": job, "static_configs": [{"targets": list(hosts)}]}
            for job, hosts in targets.items()
        ],
    }


class Prometheus:
    """A running Prometheus; `url` is its HTTP API, `query()` an instant query."""

    def __init__(self, run_dir: Path, targets: Mapping[str, Sequence[str]] | None = None, *,
                 config: Mapping[str, Any] | None = None, port: int | None = None,
                 rule_files: Sequence[str | Path] = ()) -> None:
        self.run_dir = run_dir
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config_file = run_dir / "prometheus.yml"
        self.config = dict(config) if config is not None else scrape_config(
            targets or {}, rule_files=rule_files)
        binary = ensure_prometheus()
        self.process = ManagedProcess("prometheus", [
            str(binary), f"--config.file={self.config_file}",
            f"--storage.tsdb.path={run_dir / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}", "--web.enable-lifecycle",
            "--storage.tsdb.retention.time=1h", "--log.level=warn",
        ], run_dir / "prometheus.log", env={**os.environ, **_NO_PROXY_ENV})

    def start(self, timeout: float = 60.0) -> Prometheus:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.config_file.write_text(yaml.safe_dump(self.config, sort_keys=False))
        self.process.start()
        wait_for("Prometheus ready", self._ready, self.process, timeout=timeout)
        return self

    def _ready(self) -> bool:
        with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as r:
            return bool(r.status == 200)

    def stop(self) -> None:
        self.process.stop()

    def __enter__(self) -> Prometheus:
        return self.start()

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def api(self, path: str, **params: str) -> Any:
        """GET /api/v1/<path>; the `data` of a success, RuntimeError otherwise."""
        query = urllib.parse.urlencode(params)
        url = f"{self.url}/api/v1/{path}" + (f"?{query}" if query else "")
        with urllib.request.urlopen(url, timeout=10) as r:
            body = json.loads(r.read())
        if body.get("status") != "success":
            raise RuntimeError(f"{path}: {body}")
        return body["data"]

    def query(self, promql: str) -> list[dict[str, Any]]:
        data = self.api("query", query=promql)
        result: list[dict[str, Any]] = data["result"]
        return result

    def wait_for(self, promql: str, *, timeout: float = 60.0,
                 check: Any = lambda result: bool(result)) -> list[dict[str, Any]]:
        """Poll `promql` until `check(result)` holds (default: any sample)."""
        deadline = time.monotonic() + timeout
        while True:
            result: list[dict[str, Any]] = []
            try:
                result = self.query(promql)
                if check(result):
                    return result
            except OSError:
                pass
            if not self.process.running:
                raise self.process.failure(f"exited while waiting for {promql}")
            if time.monotonic() > deadline:
                raise self.process.failure(f"{promql} gave {result} within {timeout:.0f}s")
            time.sleep(0.5)

    def reload(self, config: Mapping[str, Any]) -> None:
        """Write a new configuration and ask Prometheus to load it (POST /-/reload)."""
        self.config = dict(config)
        self.config_file.write_text(yaml.safe_dump(self.config, sort_keys=False))
        request = urllib.request.Request(f"{self.url}/-/reload", method="POST")
        with urllib.request.urlopen(request, timeout=10):
            pass
