"""A simulated kubelet fleet on loopback, and the apiserver view of it, for the metrics benchmark.

`python -m bench.kubelet_fleet --nodes N --state-dir DIR --cert C --key K` serves:
- per node, `GET /metrics/resource` over HTTPS on its own 127.0.0.1 port: what a current kubelet
  answers (families sorted by name, `[STABLE]` HELP lines, millisecond timestamps, as in
  `/work/shared/fixtures/kubelet/`) for 30 pods x 2 containers; cumulative CPU grows at each
  container's rate, so two scrapes give a real rate;
- on one more port, the list+watch a metrics server's informers make: `GET /api/v1/nodes` and
  `/api/v1/pods` (full objects, or PartialObjectMetadataList when asked), each a JSON list at
  resourceVersion 1 and a watch that stays quiet (sendInitialEvents is honoured). Its nodes
  carry InternalIP 127.0.0.1 and their kubelet port as `daemonEndpoints`.
- `GET /stats` (plain HTTP on 127.0.0.1, `stats_port`) with the scrape requests seen: total and
  the cycles (bursts separated by a quiet gap) with their first/last times and counts.

Writes `DIR/fleet.json` (ports) once listening. Everything is precomputed except the numbers of
each response, so that the fleet costs little beside the scraper it feeds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import ssl
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

PODS_PER_NODE, CONTAINERS = 30, ("app", "sidecar")
NAMESPACES = 10
BOOT = time.time()

HELP = {
    "container_cpu_usage_seconds_total": (
        "counter", "[STABLE] Cumulative cpu time consumed by the container in core-seconds"),
    "container_memory_working_set_bytes": (
        "gauge", "[STABLE] Current working set of the container in bytes"),
    "container_start_time_seconds": (
        "gauge", "[STABLE] Start time of the container since unix epoch in seconds"),
    "node_cpu_usage_seconds_total": (
        "counter", "[STABLE] Cumulative cpu time consumed by the node in core-seconds"),
    "node_memory_working_set_bytes": (
        "gauge", "[STABLE] Current working set of the node in bytes"),
    "pod_cpu_usage_seconds_total": (
        "counter", "[STABLE] Cumulative cpu time consumed by the pod in core-seconds"),
    "pod_memory_working_set_bytes": (
        "gauge", "[STABLE] Current working set of the pod in bytes"),
    "resource_scrape_error": (
        "gauge", "[STABLE] 1 if there was an error while getting container metrics, 0 otherwise"),
}


def _head(family: str) -> str:
    kind, text = HELP[family]
    return f"# HELP {family} {text}\n# TYPE {family} {kind}\n"


@dataclass(frozen=True)
class Pod:
    namespace: str
    name: str
    labels: dict[str, str]
    cpu: tuple[float, ...]  # cores per container
    memory: tuple[int, ...]  # bytes per container
    started: float  # epoch seconds


def node_name(i: int) -> str:
    return f"fleet-node-{i:05d}"


def make_pods(i: int, rng: random.Random) -> list[Pod]:
    pods = []
    for p in range(PODS_PER_NODE):
        deploy = (i * PODS_PER_NODE + p) % 997
        ns = f"team-{deploy % NAMESPACES}"
        suffix = "".join(rng.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(5))
        pods.append(Pod(
            ns, f"app-{deploy}-7f9c6d{deploy % 89:02d}b-{suffix}",
            {"app": f"app-{deploy}", "pod-template-hash": f"7f9c6d{deploy % 89:02d}b"},
            tuple(rng.uniform(0.001, 0.25) for _ in CONTAINERS),
            tuple(rng.randrange(8, 512) * 2**20 for _ in CONTAINERS),
            BOOT - rng.uniform(600, 86400)))
    return pods


class NodePayload:
    """The response of one node, re-rendered per request with the current numbers."""

    def __init__(self, pods: list[Pod]) -> None:
        self.pods = pods
        self.series = [
            (f'{{container="{c}",namespace="{p.namespace}",pod="{p.name}"}}', p, k)
            for p in sorted(pods, key=lambda p: (p.namespace, p.name))
            for k, c in enumerate(CONTAINERS)]
        self.pod_series = [(f'{{namespace="{p.namespace}",pod="{p.name}"}}', p)
                           for p in sorted(pods, key=lambda p: (p.namespace, p.name))]
        self.node_cpu = sum(sum(p.cpu) for p in pods) + 0.3  # system overhead
        self.node_memory = sum(sum(p.memory) for p in pods) + 700 * 2**20

    def render(self, now: float) -> bytes:
        ts = int(now * 1000)
        out = [_head("container_cpu_usage_seconds_total")]
        out += [f"container_cpu_usage_seconds_total{labels} {p.cpu[k] * (now - p.started):.6f}"
                f" {ts}\n" for labels, p, k in self.series]
        out.append(_head("container_memory_working_set_bytes"))
        out += [f"container_memory_working_set_bytes{labels} {p.memory[k]} {ts}\n"
                for labels, p, k in self.series]
        out.append(_head("container_start_time_seconds"))
        out += [f"container_start_time_seconds{labels} {p.started:.9e}\n"
                for labels, p, _ in self.series]
        out.append(_head("node_cpu_usage_seconds_total"))
        out.append(f"node_cpu_usage_seconds_total {self.node_cpu * (now - BOOT + 86400):.6f}"
                   f" {ts}\n")
        out.append(_head("node_memory_working_set_bytes"))
        out.append(f"node_memory_working_set_bytes {self.node_memory} {ts}\n")
        out.append(_head("pod_cpu_usage_seconds_total"))
        out += [f"pod_cpu_usage_seconds_total{labels} {sum(p.cpu) * (now - p.started):.6f}"
                f" {ts}\n" for labels, p in self.pod_series]
        out.append(_head("pod_memory_working_set_bytes"))
        out += [f"pod_memory_working_set_bytes{labels} {sum(p.memory)} {ts}\n"
                for labels, p in self.pod_series]
        out.append(_head("resource_scrape_error"))
        out.append("resource_scrape_error 0\n")
        return "".join(out).encode()


def _meta(name: str, namespace: str | None = None, labels: dict[str, str] | None = None,
          **extra: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "name": name, "uid": str(uuid.uuid5(uuid.NAMESPACE_DNS, f"{namespace}/{name}")),
        "resourceVersion": "1", "creationTimestamp": "2026-12-01T00:00:00Z",
        "labels": labels or {}, **extra}
    if namespace:
        meta["namespace"] = namespace
    return meta


def node_object(i: int, port: int) -> dict[str, Any]:
    name = node_name(i)
    resources = {"cpu": "16", "memory": "64Gi", "pods": "110", "ephemeral-storage": "100Gi"}
    return {
        "metadata": _meta(name, labels={
            "kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
            "kubernetes.io/arch": "amd64", "node.kubernetes.io/instance-type": "m5.4xlarge",
            "topology.kubernetes.io/zone": f"zone-{i % 3}"}),
        "spec": {"providerID": f"fleet://{name}", "podCIDR": f"10.{i // 250}.{i % 250}.0/24"},
        "status": {
            "capacity": resources, "allocatable": resources,
            "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                            "lastHeartbeatTime": "2026-12-01T00:00:00Z",
                            "lastTransitionTime": "2026-12-01T00:00:00Z"}],
            "addresses": [{"type": "InternalIP", "address": "127.0.0.1"},
                          {"type": "Hostname", "address": "localhost"}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": port}},
            "nodeInfo": {"kubeletVersion": "v1.34.4", "containerRuntimeVersion": "fleet://1",
                         "operatingSystem": "linux", "architecture": "amd64"},
        },
    }


def pod_object(p: Pod, node: str) -> dict[str, Any]:
    owner = [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": p.name.rsplit("-", 1)[0],
              "uid": "00000000-0000-4000-8000-000000000001", "controller": True,
              "blockOwnerDeletion": True}]
    return {
        "metadata": _meta(p.name, p.namespace, p.labels, ownerReferences=owner),
        "spec": {"nodeName": node, "containers": [
            {"name": c, "image": f"registry.example/{c}:1",
             "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}}}
            for c in CONTAINERS]},
        "status": {"phase": "Running", "podIP": "10.0.0.1",
                   "conditions": [{"type": "Ready", "status": "True"}]},
    }


class Fleet:
    def __init__(self, nodes: int, cert: str, key: str, quiet_gap: float) -> None:
        rng = random.Random(42)
        self.payloads = [NodePayload(make_pods(i, rng)) for i in range(nodes)]
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(cert, key)
        self.ports: list[int] = []
        self.quiet_gap = quiet_gap
        self.total = 0
        self.cycles: list[list[float]] = []  # [first, last, count]
        self.lists: dict[str, bytes] = {}
        self.api_requests: list[str] = []

    def note_scrape(self, now: float) -> None:
        self.total += 1
        if self.cycles and now - self.cycles[-1][1] < self.quiet_gap:
            c = self.cycles[-1]
            c[1], c[2] = now, c[2] + 1
        else:
            self.cycles.append([now, now, 1])

    def build_lists(self) -> None:
        nodes = [node_object(i, port) for i, port in enumerate(self.ports)]
        pods = [pod_object(p, node_name(i)) for i, pl in enumerate(self.payloads)
                for p in pl.pods]
        rv = {"resourceVersion": "1"}
        self.lists["nodes"] = json.dumps({"kind": "NodeList", "apiVersion": "v1", "metadata": rv,
                                          "items": nodes}).encode()
        self.lists["pods"] = json.dumps({"kind": "PodList", "apiVersion": "v1", "metadata": rv,
                                         "items": pods}).encode()
        partial = [{"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                    "metadata": p["metadata"]} for p in pods]
        self.lists["pods-meta"] = json.dumps({
            "kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1", "metadata": rv,
            "items": partial}).encode()
        partial_nodes = [{"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                          "metadata": n["metadata"]} for n in nodes]
        self.lists["nodes-meta"] = json.dumps({
            "kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1", "metadata": rv,
            "items": partial_nodes}).encode()
        self.objects = {"nodes": nodes, "pods": pods}

    async def kubelet(self, index: int, reader: asyncio.StreamReader,
                      writer: asyncio.StreamWriter) -> None:
        payload = self.payloads[index]
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                if not head.startswith(b"GET "):
                    break
                now = time.time()
                self.note_scrape(time.monotonic())
                body = payload.render(now)
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; "
                             b"charset=utf-8\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError, OSError):
            pass
        finally:
            writer.close()

    async def apiserver(self, reader: asyncio.StreamReader,
                        writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
                line, *header_lines = head.split("\r\n")
                method, target, _ = line.split(" ", 2)
                headers = {k.lower(): v.strip() for k, _, v in
                           (h.partition(":") for h in header_lines if h)}
                url = urlsplit(target)
                query = {k: v[-1] for k, v in parse_qs(url.query).items()}
                self.api_requests.append(f"{method} {target} accept={headers.get('accept')}")
                resource = {"/api/v1/nodes": "nodes", "/api/v1/pods": "pods"}.get(url.path)
                if method != "GET" or resource is None:
                    await self._send(writer, 404, json.dumps({
                        "kind": "Status", "apiVersion": "v1", "status": "Failure",
                        "reason": "NotFound", "code": 404}).encode())
                    continue
                meta = "as=PartialObjectMetadata" in headers.get("accept", "")
                if query.get("watch") in ("true", "1"):
                    await self._watch(writer, resource, meta, query)
                    return
                await self._send(writer, 200, self.lists[resource + ("-meta" if meta else "")])
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError, OSError, ValueError):
            pass
        finally:
            writer.close()

    async def _send(self, writer: asyncio.StreamWriter, code: int, body: bytes) -> None:
        reason = {200: "OK", 404: "Not Found"}[code]
        writer.write(f"HTTP/1.1 {code} {reason}\r\nContent-Type: application/json\r\n"
                     f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
        await writer.drain()

    async def _watch(self, writer: asyncio.StreamWriter, resource: str, meta: bool,
                     query: dict[str, str]) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                     b"Transfer-Encoding: chunked\r\n\r\n")

        def chunk(event: dict[str, Any]) -> bytes:
            data = json.dumps(event).encode() + b"\n"
            return b"%x\r\n%s\r\n" % (len(data), data)

        kind = {"nodes": "Node", "pods": "Pod"}[resource]
        if query.get("sendInitialEvents") == "true":
            for obj in self.objects[resource]:
                if meta:
                    obj = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                           "metadata": obj["metadata"]}
                else:
                    obj = {"kind": kind, "apiVersion": "v1", **obj}
                writer.write(chunk({"type": "ADDED", "object": obj}))
            bookmark = {"kind": "PartialObjectMetadata" if meta else kind,
                        "apiVersion": "meta.k8s.io/v1" if meta else "v1",
                        "metadata": {"resourceVersion": "1", "annotations": {
                            "k8s.io/initial-events-end": "true"}}}
            writer.write(chunk({"type": "BOOKMARK", "object": bookmark}))
        await writer.drain()
        await asyncio.sleep(float(query.get("timeoutSeconds", "3600")))
        writer.write(b"0\r\n\r\n")

    async def stats(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        body = json.dumps({"total": self.total, "cycles": self.cycles,
                           "now": time.monotonic(),
                           "api_requests": self.api_requests[-50:]}).encode()
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close"
                     b"\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        await writer.drain()
        writer.close()


async def main_async(args: argparse.Namespace) -> None:
    fleet = Fleet(args.nodes, args.cert, args.key, args.quiet_gap)
    servers = []
    for i in range(args.nodes):
        def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter, i: int = i) -> Any:
            return fleet.kubelet(i, r, w)

        srv = await asyncio.start_server(handler, "127.0.0.1", 0, ssl=fleet.ctx, backlog=64)
        fleet.ports.append(srv.sockets[0].getsockname()[1])
        servers.append(srv)
    fleet.build_lists()
    api = await asyncio.start_server(fleet.apiserver, "127.0.0.1", 0, ssl=fleet.ctx)
    stats = await asyncio.start_server(fleet.stats, "127.0.0.1", 0)
    state = {"apiserver_port": api.sockets[0].getsockname()[1],
             "stats_port": stats.sockets[0].getsockname()[1], "nodes": args.nodes,
             "pods": args.nodes * PODS_PER_NODE}
    out = Path(args.state_dir) / "fleet.json"
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(state))
    tmp.replace(out)
    print(f"fleet: {args.nodes} kubelets, apiserver on {state['apiserver_port']}",
          file=sys.stderr, flush=True)
    await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.kubelet_fleet")
    parser.add_argument("--nodes", type=int, required=True)
    parser.add_argument("--state-dir", required=True)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--quiet-gap", type=float, default=3.0,
                        help="seconds without a scrape that end a cycle")
    args = parser.parse_args()
    import uvloop  # uvicorn[standard] brings it

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(main_async(args))


if __name__ == "__main__":
    main()
