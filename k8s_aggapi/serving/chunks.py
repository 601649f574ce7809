"""Body chunks written straight to the connection, past uvicorn's ASGI `send`, for a watch.

A watch writes each event as one chunk of a long chunked response. uvicorn's `send` (the
httptools protocol's `RequestResponseCycle.send`) does per body message what a watch never
needs done again: it checks the message, frames the chunk and writes it to the transport;
with 1,000 watchers that is a coroutine, a message dict and these checks per watcher and
event. `chunk_writer(send)` gives, for exactly that `send` (a bound `send` of uvicorn's own
httptools `RequestResponseCycle`, nothing wrapped around it), a writer of a framed chunk
(`frame(body)`: `<size hex>\\r\\n<body>\\r\\n`, byte for byte what `send` writes for a body
message with `more_body`; framed once per event for all its watchers) to the cycle's
transport itself, when that is what `send` would do at once: the response head sent with
chunked encoding, the response not complete, the client not gone, the transport not closing
and its writes not paused (flow control). Otherwise the
writer says False and writes nothing, and the caller sends the message through `send`, which
waits for the transport to drain, drops writes to a gone client, or ends the response.

For any other `send` (the h11 protocol, another server, a wrapper of uvicorn's `send` that
wants to see each body message) `chunk_writer` is None and the caller uses `send` alone. The
writer reads the cycle's attributes, not an API uvicorn documents: they are checked to exist
when the writer is made, and tests run it against the installed uvicorn over real sockets
(plain and TLS, a client that stops reading, a client that goes away).
"""

from __future__ import annotations

import functools
import types
from collections.abc import Callable
from typing import Any

ChunkWriter = Callable[[bytes], bool]
"""Writes one framed body chunk (`frame(body)`) of a started chunked response now, as `send`
would have written `{"type": "http.response.body", "body": body, "more_body": True}`; False
(nothing written) when `send` would not write it at once or at all."""


def frame(body: bytes) -> bytes:
    """`body` (not empty) as one chunk of a chunked response, as uvicorn's `send` frames it;
    one event's frame is shared by all its watchers."""
    return b"%x\r\n%b\r\n" % (len(body), body)

_CYCLE_ATTRIBUTES = ("transport", "flow", "scope", "response_started", "response_complete",
                     "chunked_encoding", "disconnected")


@functools.cache
def _httptools_cycle() -> tuple[type[Any], Any] | None:
    """uvicorn's httptools `RequestResponseCycle` and its `send` function, or None when that
    protocol cannot be imported (no httptools)."""
    try:
        from uvicorn.protocols.http.httptools_impl import RequestResponseCycle
    except ImportError:
        return None
    return RequestResponseCycle, RequestResponseCycle.send


def chunk_writer(send: object) -> ChunkWriter | None:
    """A writer of body chunks straight to the connection of `send`, when `send` is the bound
    `send` of uvicorn's httptools cycle itself (exact type, the class's own function); else
    None."""
    cycle_type = _httptools_cycle()
    if cycle_type is None or type(send) is not types.MethodType:
        return None
    cycle: Any = send.__self__
    if type(cycle) is not cycle_type[0] or send.__func__ is not cycle_type[1]:
        return None
    if not all(hasattr(cycle, name) for name in _CYCLE_ATTRIBUTES):
        return None
    flow, transport = cycle.flow, cycle.transport
    if not hasattr(flow, "write_paused") or cycle.scope.get("method") == "HEAD":
        return None
    is_closing, write = transport.is_closing, transport.write

    def write_chunk(framed: bytes) -> bool:
        if (cycle.chunked_encoding is not True or not cycle.response_started
                or cycle.response_complete or cycle.disconnected or flow.write_paused
                or is_closing()):
            return False
        write(framed)
        return True

    return write_chunk
