"""OpenAPI v2 and v3 for the served API groups, generated from their pydantic models.

`openapi_routes(groups)` serves `/openapi/v2`, `/openapi/v3` and
`/openapi/v3/apis/<group>/<version>` the way kube-openapi's handlers do, so kube-apiserver
aggregates them and `kubectl explain` works for our kinds.
"""

from k8s_aggapi.openapi.documents import build_v2, build_v3
from k8s_aggapi.openapi.routes import openapi_routes

__all__ = ["build_v2", "build_v3", "openapi_routes"]
