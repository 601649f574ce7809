"""The meta/v1 definitions and query parameters kube-apiserver publishes, as data.

`meta_v1.json` holds kube-openapi's output for k8s.io/apimachinery v0.34.4 (Swagger 2.0
form, refs `#/definitions/<name>`), so our documents reference the very same
`io.k8s.apimachinery.pkg.apis.meta.v1.*` definitions and kube-apiserver merges them cleanly.
The definitions and their descriptions are the Kubernetes API's own schema (Apache-2.0,
The Kubernetes Authors), generated from the published Go module, not hand-written here.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from importlib import resources
from typing import Any

Schema = dict[str, Any]

REF_PREFIX = "#/definitions/"  # our canonical form; the v3 writer rewrites it
META = "io.k8s.apimachinery.pkg.apis.meta.v1."
OBJECT_META = META + "ObjectMeta"
LIST_META = META + "ListMeta"
STATUS = META + "Status"
DELETE_OPTIONS = META + "DeleteOptions"
WATCH_EVENT = META + "WatchEvent"
PATCH = META + "Patch"
API_RESOURCE_LIST = META + "APIResourceList"

OBJECT_META_DOC = (
    "Standard object's metadata. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata"
)
LIST_META_DOC = (
    "Standard list metadata. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata"
)
PRETTY_DOC = (
    "If 'true', then the output is pretty printed. Defaults to 'false' unless the user-agent "
    "indicates a browser or command-line HTTP tool (curl and wget)."
)


@cache
def _data() -> dict[str, Any]:
    text = resources.files(__package__).joinpath("meta_v1.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def definitions() -> dict[str, Schema]:
    """A fresh copy of the meta/v1 definitions (callers add GVK extensions to it)."""
    return copy.deepcopy(_data()["definitions"])


def query_parameters(options: str) -> list[dict[str, str]]:
    """`name`, `type`, `description` of each query parameter of ListOptions ("list"),
    CreateOptions, UpdateOptions, PatchOptions or DeleteOptions, as the installer adds them."""
    params: list[dict[str, str]] = _data()["parameters"][options]
    return params


def type_meta_docs() -> tuple[str, str]:
    """The upstream descriptions of `apiVersion` and `kind`."""
    props = _data()["definitions"][STATUS]["properties"]
    return props["apiVersion"]["description"], props["kind"]["description"]
