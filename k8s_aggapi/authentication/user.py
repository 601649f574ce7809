"""Who is making a request: kept in `k8s_aggapi.request.user` (a leaf every layer imports);
re-exported here, where the authenticators make users."""

from k8s_aggapi.request.user import (
    ANONYMOUS,
    ANONYMOUS_USER,
    AUTHENTICATED,
    MASTERS,
    UNAUTHENTICATED,
    User,
)

__all__ = ["ANONYMOUS", "ANONYMOUS_USER", "AUTHENTICATED", "MASTERS", "UNAUTHENTICATED", "User"]
