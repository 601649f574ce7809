"""Server-wide bounds on the work one request may cause, each with its upstream counterpart.

One frozen value, set from flags by `options.py`, carried by the completed config to the
serving layer (headers, timeouts), the resource endpoint (bodies, nesting, patches) and watch.
"""

from __future__ import annotations

from dataclasses import dataclass

MiB = 1024 * 1024


@dataclass(frozen=True)
class ServerLimits:
    """Defaults follow kube-apiserver; `docs/decisions.md` lists each limit and its source."""

    # HTTP layer: Go's http.Server MaxHeaderBytes (1 MiB), ReadHeaderTimeout, IdleTimeout
    max_header_bytes: int = MiB
    header_read_timeout: float = 32.0
    idle_timeout: float = 90.0
    # bodies: k8s.io/apiserver's MaxRequestBodyBytes (3 MiB); one nesting limit for every body
    max_body_bytes: int = 3 * MiB
    max_nesting_depth: int = 200
    # patches: upstream's maxJSONPatchOperations, and JSONPatchMaxCopyBytes (the bytes all
    # `copy` operations of one JSON patch may add; apiserver's default is 3 MiB)
    max_json_patch_operations: int = 10_000
    json_patch_max_copy_bytes: int = 3 * MiB
    # watch: events queued for one slow watcher before it is ended
    watch_queue_length: int = 1024


DEFAULT_LIMITS = ServerLimits()
