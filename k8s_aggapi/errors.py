"""Errors that carry the wire format: every failure a handler meets becomes a `metav1.Status`.

    StatusError                      (code, reason, message, details)
    ├── BadRequest           400     malformed body, selector or query
    ├── Unauthorized         401
    ├── Forbidden            403     authorization denied, admission refused
    ├── NotFound             404
    ├── MethodNotAllowed     405
    ├── NotAcceptable        406     no acceptable representation (protobuf/CBOR only)
    ├── AlreadyExists        409
    ├── Conflict             409     resourceVersion mismatch
    ├── Gone                 410     (reason Expired: too old resource version / continue)
    ├── RequestEntityTooLarge 413
    ├── UnsupportedMediaType 415
    ├── Invalid              422     field errors in `details.causes`
    ├── TooManyRequests      429
    ├── InternalError        500
    ├── ServiceUnavailable   503
    └── Timeout              504

The `errors` middleware turns any of them into a Status response; messages follow
k8s.io/apimachinery/pkg/api/errors word for word.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class GroupResource:
    """A resource within a group; prints as `flunders.wardle.example.com` like upstream."""

    group: str
    resource: str

    def __str__(self) -> str:
        return f"{self.resource}.{self.group}" if self.group else self.resource


@dataclass(frozen=True)
class Cause:
    """One entry of `details.causes`: what went wrong with which field."""

    reason: str
    message: str
    field: str = ""

    def to_dict(self) -> dict[str, str]:
        out = {"reason": self.reason, "message": self.message}
        if self.field:
            out["field"] = self.field
        return out


@dataclass
class StatusError(Exception):
    """Base of the tree; `to_status()` is the JSON body."""

    message: str
    code: int = 500
    reason: str = "InternalError"
    details: dict[str, Any] = field(default_factory=dict)
    always_details: bool = False  # upstream writes `"details": {}` for some (Forbidden)

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message

    def to_status(self) -> dict[str, Any]:
        status: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
        }
        if self.reason:  # upstream omits an empty reason (a typed-conversion 500 has none)
            status["reason"] = self.reason
        if self.details or self.always_details:
            status["details"] = self.details
        status["code"] = self.code
        return status


def _details(gr: GroupResource | None, name: str = "", kind: str | None = None) -> dict[str, Any]:
    details: dict[str, Any] = {}
    if name:
        details["name"] = name
    if gr is not None:
        if gr.group:
            details["group"] = gr.group
        details["kind"] = kind if kind is not None else gr.resource
    return details


def _subject(gr: GroupResource, name: str) -> str:
    return f"{gr} {go_quote(name)}" if name else str(gr)


class BadRequest(StatusError):
    def __init__(self, message: str) -> None:
        super().__init__(message, 400, "BadRequest")


class Unauthorized(StatusError):
    def __init__(self, message: str = "Unauthorized") -> None:
        super().__init__(message, 401, "Unauthorized")


class Forbidden(StatusError):
    def __init__(self, gr: GroupResource | None, name: str, reason: str) -> None:
        if gr is None:
            message = f"forbidden: {reason}"
        else:
            message = f"{_subject(gr, name)} is forbidden: {reason}"
        super().__init__(message, 403, "Forbidden", _details(gr, name), always_details=True)


class NotFound(StatusError):
    def __init__(self, gr: GroupResource, name: str) -> None:
        super().__init__(f"{_subject(gr, name)} not found", 404, "NotFound", _details(gr, name))


class PathNotFound(StatusError):
    """A 404 for a path that names nothing we serve, with `"details": {}` as upstream's
    (go-restful's 404 becomes NewGenericServerResponse, whose details are empty, not absent)."""

    def __init__(self, message: str = "the server could not find the requested resource") -> None:
        super().__init__(message, 404, "NotFound", always_details=True)


class MethodNotAllowed(StatusError):
    def __init__(
        self, message: str = "the server does not allow this method on the requested resource",
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message, 405, "MethodNotAllowed", details or {})


def details_of(gr: GroupResource, name: str = "") -> dict[str, Any]:
    """`details` of a Status about `gr` (and `name`), as upstream's errors set them."""
    return _details(gr, name)


class NotAcceptable(StatusError):
    def __init__(self, message: str) -> None:
        super().__init__(message, 406, "NotAcceptable")


class AlreadyExists(StatusError):
    def __init__(self, gr: GroupResource, name: str) -> None:
        super().__init__(
            f"{_subject(gr, name)} already exists", 409, "AlreadyExists", _details(gr, name)
        )


class Conflict(StatusError):
    def __init__(self, gr: GroupResource, name: str, reason: str) -> None:
        super().__init__(
            f"Operation cannot be fulfilled on {_subject(gr, name)}: {reason}",
            409,
            "Conflict",
            _details(gr, name),
        )


OBJECT_MODIFIED = (
    "the object has been modified; please apply your changes to the latest version and try again"
)


class Gone(StatusError):
    """410. `continue_token` goes into the Status's list metadata, as upstream's expired
    continue does: a token to read the rest of the list at the latest revision."""

    def __init__(self, message: str, reason: str = "Expired", continue_token: str = "") -> None:
        super().__init__(message, 410, reason)
        self.continue_token = continue_token

    def to_status(self) -> dict[str, Any]:
        status = super().to_status()
        if self.continue_token:
            status["metadata"] = {"continue": self.continue_token}
        return status


class RequestEntityTooLarge(StatusError):
    """`Request entity too large: limit is N` for a body; `detail` replaces `limit is N`."""

    def __init__(self, limit: int = 0, detail: str = "") -> None:
        super().__init__(
            f"Request entity too large: {detail or f'limit is {limit}'}",
            413,
            "RequestEntityTooLarge",
        )


class UnsupportedMediaType(StatusError):
    def __init__(self, accepted: tuple[str, ...] | list[str]) -> None:
        super().__init__(
            "the body of the request was in an unknown format - accepted media types include: "
            + ", ".join(accepted),
            415,
            "UnsupportedMediaType",
        )


class UnsupportedPatchType(StatusError):
    """A PATCH whose Content-Type is no patch type: go-restful's 415, as upstream answers it."""

    def __init__(self) -> None:
        super().__init__("415: Unsupported Media Type", 415, "UnsupportedMediaType",
                         always_details=True)


class Invalid(StatusError):
    """422 with field causes; `details.kind` is the Kind (not the resource), as upstream."""

    def __init__(self, kind: str, group: str, name: str, causes: list[Cause]) -> None:
        qualified = f"{kind}.{group}" if group else kind
        summary = ", ".join(
            f"{c.field}: {c.message}" if c.field else c.message for c in causes
        )
        if len(causes) > 1:
            summary = f"[{summary}]"
        details = _details(GroupResource(group, kind), name, kind)
        details["causes"] = [c.to_dict() for c in causes]
        super().__init__(f'{qualified} "{name}" is invalid: {summary}', 422, "Invalid", details)


class TooManyRequests(StatusError):
    def __init__(self, message: str, retry_after: int = 1) -> None:
        super().__init__(message, 429, "TooManyRequests", {"retryAfterSeconds": retry_after})


class InternalError(StatusError):
    def __init__(self, message: str) -> None:
        super().__init__(
            f"Internal error occurred: {message}", 500, "InternalError",
            {"causes": [{"message": message}]},
        )


class ServiceUnavailable(StatusError):
    def __init__(self, message: str) -> None:
        super().__init__(message, 503, "ServiceUnavailable")


class Timeout(StatusError):
    """504; upstream's NewTimeoutError prefixes the message and always writes `details`."""

    def __init__(self, message: str, retry_after: int = 0,
                 causes: tuple[Cause, ...] = ()) -> None:
        details: dict[str, Any] = {}
        if causes:
            details["causes"] = [c.to_dict() for c in causes]
        if retry_after:
            details["retryAfterSeconds"] = retry_after
        super().__init__(f"Timeout: {message}", 504, "Timeout", details, always_details=True)


def too_large_resource_version(requested: int, current: int, retry_after: int = 1) -> Timeout:
    """A read or watch asked for a revision the storage has not reached (storage's
    NewTooLargeResourceVersionError; the watch cache answers with a 1 s retry)."""
    return Timeout(f"Too large resource version: {requested}, current: {current}", retry_after,
                   (Cause("ResourceVersionTooLarge", "Too large resource version"),))


def field_invalid(path: str, value: Any, detail: str) -> Cause:
    """`Invalid value: "x": detail`, as apimachinery's field.Invalid prints it."""
    import orjson

    shown = orjson.dumps(value).decode() if not isinstance(value, str) else f'"{value}"'
    return Cause("FieldValueInvalid", f"Invalid value: {shown}: {detail}", path)


def field_required(path: str, detail: str = "") -> Cause:
    return Cause("FieldValueRequired", f"Required value{': ' + detail if detail else ''}", path)


def field_unsupported(path: str, value: Any, supported: list[str]) -> Cause:
    listed = ", ".join(f'"{s}"' for s in supported)
    message = f'Unsupported value: "{value}": supported values: {listed}'
    return Cause("FieldValueNotSupported", message, path)


_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t",
            "\v": "\\v", '"': '\\"', "\\": "\\\\"}


def go_quote(text: str) -> str:
    """Go's %q: printable characters as they are, the rest escaped."""
    out = []
    for ch in text:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ch.isprintable():
            out.append(ch)
        elif ord(ch) < 0x80:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) < 0x10000:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    return '"' + "".join(out) + '"'
