"""`GET /version`: upstream's `version.Info` (k8s.io/apimachinery/pkg/version), so `kubectl version`
works. Authorized like any non-resource path (upstream's `system:public-info-viewer` role grants
it to everyone through SubjectAccessReview); it is not an always-allowed path.
"""

from __future__ import annotations

import importlib.metadata
import platform
import sys

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from k8s_aggapi.errors import MethodNotAllowed

# Python's names for machines -> Go's GOARCH, which `platform` is spelled in upstream
_GOARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64",
           "i386": "386", "i686": "386", "armv7l": "arm", "ppc64le": "ppc64le",
           "s390x": "s390x"}


_ANY = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def package_version() -> str:
    try:
        return importlib.metadata.version("k8s-aggapi")
    except importlib.metadata.PackageNotFoundError:
        return "0.0.0"


def version_info(version: str | None = None) -> dict[str, str]:
    """The Info object, in upstream's field order; `version` is semver (the package's by
    default). Go's build facts become the interpreter's: goVersion `python3.11.7`, compiler
    `cpython`, platform `linux/amd64`; gitCommit, gitTreeState and buildDate are upstream's
    values for a build that did not stamp them."""
    semver = (version or package_version()).removeprefix("v")
    major, _, rest = semver.partition(".")
    minor = rest.partition(".")[0]
    machine = platform.machine().lower()
    return {
        "major": major,
        "minor": minor,
        "gitVersion": f"v{semver}",
        "gitCommit": "",
        "gitTreeState": "",
        "buildDate": "1970-01-01T00:00:00Z",
        "goVersion": f"python{platform.python_version()}",
        "compiler": sys.implementation.name,
        "platform": f"{sys.platform}/{_GOARCH.get(machine, machine)}",
    }


def version_routes(version: str | None = None) -> list[BaseRoute]:
    """`/version` and `/version/`: GET (and HEAD); any other method is a 405 Status, as
    go-restful's service error handler answers upstream."""
    body = orjson.dumps(version_info(version), option=orjson.OPT_INDENT_2)

    async def get_version(request: Request) -> Response:
        if request.method not in ("GET", "HEAD"):
            raise MethodNotAllowed()
        return Response(body, media_type="application/json")

    return [Route(path, get_version, methods=_ANY) for path in ("/version", "/version/")]
