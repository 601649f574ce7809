"""Moved to `k8s_aggapi.request.info` (the request leaf package); kept for old imports."""

from k8s_aggapi.request.info import RequestInfo, parse_request_info

__all__ = ["RequestInfo", "parse_request_info"]
