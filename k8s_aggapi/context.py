"""Moved to `k8s_aggapi.request.context` (the request leaf package); kept for old imports."""

from k8s_aggapi.request.context import (
    AUDIT_ID,
    REQUEST_INFO,
    USER,
    peer_certificate_der,
    request_info,
    user,
)

__all__ = ["AUDIT_ID", "REQUEST_INFO", "USER", "peer_certificate_der", "request_info", "user"]
