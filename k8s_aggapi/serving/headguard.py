"""Request-head guards for uvicorn's HTTP/1 protocols (h11, httptools), before any app code.

What Go's net/http does in `conn.serve` for kube-apiserver: the request line and headers are
read up to MaxHeaderBytes (+4096 of bufio slack), then 431; they must arrive within
ReadHeaderTimeout, else the connection is closed without a reply. Unlike Go, whose answers
here are plain text, ours are `metav1.Status` JSON (docs/decisions.md).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import h11
import orjson

from k8s_aggapi.errors import BadRequest, StatusError
from k8s_aggapi.limits import DEFAULT_LIMITS, ServerLimits

log = logging.getLogger("k8s_aggapi.serving")

BUFIO_SLACK = 4096
"""Go's `initialReadLimitSize()` is MaxHeaderBytes + 4096 ("bufio slop")."""
CLOSE_DELAY = 0.5
"""Go's `closeWriteAndWait` waits this long (rstAvoidanceDelay) so the client can read the 431."""
TIMER_SLACK = 0.001
"""Event loops may run a timer this early (uvloop counts whole milliseconds)."""
TOO_LARGE = "431 Request Header Fields Too Large"
BAD_REQUEST = "400 Bad Request"


def status_response(error: StatusError, phrase: str) -> bytes:
    """A complete HTTP/1.1 response carrying `error` as Status JSON; the connection closes."""
    status = error.to_status()  # an empty reason (upstream's StatusReasonUnknown) is omitted
    body = orjson.dumps(status)
    head = (
        f"HTTP/1.1 {error.code} {phrase}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


HEADERS_TOO_LARGE = status_response(
    StatusError(TOO_LARGE, 431, ""), "Request Header Fields Too Large"
)
MALFORMED = status_response(BadRequest(BAD_REQUEST), "Bad Request")


def limits_of(config: Any) -> ServerLimits:
    """The limits our runner hangs on uvicorn's Config (`config.limits`), else the defaults."""
    limits = getattr(config, "limits", None)
    return limits if isinstance(limits, ServerLimits) else DEFAULT_LIMITS


class RequestHeadGuard:
    """Mixin in front of a uvicorn HTTP/1 protocol: counts the bytes of each request head as
    they arrive and feeds the parser no more than the limit; starts the header deadline when a
    connection opens and when the first bytes of a later request arrive.

    One timer per connection, not one per request: a head that completes only clears its start
    time; when the timer fires it closes the connection if the head being read started
    `header_read_timeout` ago or more, and otherwise sleeps again until that head's deadline
    (a kept-alive connection re-arms about once per timeout, not once per request)."""

    transport: asyncio.Transport
    loop: asyncio.AbstractEventLoop
    cycle: Any

    def __init__(self, config: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(config, *args, **kwargs)  # type: ignore[call-arg]
        limits = limits_of(config)
        self._head_limit = limits.max_header_bytes + BUFIO_SLACK
        self._head_timeout = limits.header_read_timeout
        self._head_bytes = 0
        self._head_started: float | None = None  # loop time the head being read began
        self._head_timer: asyncio.TimerHandle | None = None
        self._refused = False

    # what each protocol tells the guard
    def _reading_head(self) -> bool:
        raise NotImplementedError

    def _head_done(self) -> None:
        self._head_bytes = 0
        self._head_started = None

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)  # type: ignore[misc]
        self._start_head()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)  # type: ignore[misc]

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        if not self._reading_head():
            self._feed(data)
            return
        if self._head_started is None and (self.cycle is None or self.cycle.response_complete):
            self._start_head()
        room = self._head_limit - self._head_bytes
        fits, rest = data[:room], data[room:]
        self._head_bytes += len(fits)
        if fits:
            self._feed(fits)
        if not rest or self._refused or self.transport.is_closing():
            return
        if self._reading_head():
            self._refuse_too_large()
        else:  # the head ended inside what fitted: the rest is body or the next request
            self.data_received(rest)

    def _feed(self, data: bytes) -> None:
        super().data_received(data)  # type: ignore[misc]

    # uvicorn's protocols call this for any parse error ("Invalid HTTP request received.")
    def send_400_response(self, msg: str) -> None:
        self._refused = True
        self._cancel_head_timer()
        self.transport.write(MALFORMED)
        self.transport.close()

    def _refuse_too_large(self) -> None:
        log.debug("request head over %d bytes from %s: 431", self._head_limit, _peer(self))
        self._refused = True
        self._cancel_head_timer()
        self.transport.write(HEADERS_TOO_LARGE)
        self.transport.pause_reading()
        self.loop.call_later(CLOSE_DELAY, self.transport.close)

    def _start_head(self) -> None:
        if self._head_timeout > 0:
            self._head_started = self.loop.time()
            if self._head_timer is None:
                self._arm_head_timer(self._head_started + self._head_timeout)

    def _arm_head_timer(self, deadline: float) -> None:
        self._head_timer = self.loop.call_at(deadline, self._head_timer_fired)

    def _cancel_head_timer(self) -> None:
        self._head_started = None
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timer_fired(self) -> None:
        self._head_timer = None
        started = self._head_started
        if started is None or self.transport.is_closing():
            return  # no head being read: the next one arms the timer again
        if not self._reading_head():
            self._head_started = None
            return
        deadline = started + self._head_timeout
        if self.loop.time() < deadline - TIMER_SLACK:
            self._arm_head_timer(deadline)  # a later head: sleep until its own deadline
            return
        log.debug("request head not read within %ss from %s", self._head_timeout, _peer(self))
        self._refused = True
        self._head_started = None
        self.transport.close()  # like Go: a read timeout gets no reply


class HttpToolsHeadGuard(RequestHeadGuard):
    """For uvicorn's httptools protocol: its parser callbacks mark where a head ends."""

    _in_head = True

    def _reading_head(self) -> bool:
        return self._in_head

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._head_done()
        super().on_headers_complete()  # type: ignore[misc]

    def on_message_complete(self) -> None:
        self._in_head = True
        super().on_message_complete()  # type: ignore[misc]


class H11HeadGuard(RequestHeadGuard):
    """For uvicorn's h11 protocol: h11 is reading a head while the peer's state is IDLE."""

    conn: h11.Connection

    def _reading_head(self) -> bool:
        return self.conn.their_state is h11.IDLE

    def _feed(self, data: bytes) -> None:
        super()._feed(data)
        if not self._reading_head():
            self._head_done()


def _peer(protocol: Any) -> str:
    client = getattr(protocol, "client", None)
    return f"{client[0]}:{client[1]}" if client else "?"


_GUARDS: dict[str, type[RequestHeadGuard]] = {
    "uvicorn.protocols.http.h11_impl.H11Protocol": H11HeadGuard,
    "uvicorn.protocols.http.httptools_impl.HttpToolsProtocol": HttpToolsHeadGuard,
}


def head_guards(base: type) -> tuple[type, ...]:
    """The guard mixin to put in front of uvicorn protocol `base`; none for other protocols."""
    name = f"{base.__module__}.{base.__qualname__}"
    guard = _GUARDS.get(name)
    if guard is None:
        log.warning("%s has no request-head guard: header size and read time are unbounded",
                    name)
        return ()
    return (guard,)
