"""A small HTTP/1.1 GET client for kubelets, on asyncio streams: one kept-alive connection
per kubelet address reused from cycle to cycle, a deadline per request, a bound on the body.

The scraper asks every node for one response per cycle; aiohttp spent more CPU on each
request (URL objects, header multidicts, timers, trace hooks) than our decoder spent on the
30 KB it returns. This reads exactly what a kubelet sends: a status line, headers, a body by
Content-Length, chunked or up to the close, gzip when the kubelet chose it. A reused
connection the kubelet closed meanwhile is retried once on a new one, as Go's transport does.

Deadlines: requests that start together (a scrape slot) share one `Deadline`, one timer for
all of them rather than an `asyncio.timeout` each (a timer, a task lookup and three running
loop lookups per request, each a getpid(2)). When it fires, the exchanges still on a
connection are aborted and raise TimeoutError; a new connection (the first cycle, a kubelet
that closed the kept one) has an `asyncio.timeout_at` of its own, for the connect and TLS
handshake.
"""

from __future__ import annotations

import asyncio
import ssl
import time
import zlib
from dataclasses import dataclass

MAX_BODY = 64 << 20  # a kubelet with 250 pods answers ~120 KB
MAX_HEAD = 64 << 10
MAX_IDLE_PER_ADDRESS = 32  # one kwok serves many nodes on one address


class HTTPError(Exception):
    """The kubelet's answer is not HTTP/1.x we can read, or is too large."""


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    reason: str
    body: bytes


class _Connection:
    __slots__ = ("idle_since", "reader", "timed_out", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer, self.idle_since = reader, writer, 0.0
        self.timed_out = False

    def close(self) -> None:
        self.writer.transport.abort()


class Deadline:
    """A time (the running loop's clock) by which the exchanges watched must be done."""

    __slots__ = ("_active", "_timer", "expired", "when")

    def __init__(self, when: float) -> None:
        self.when = when
        self.expired = False
        self._active: set[_Connection] = set()
        self._timer: asyncio.TimerHandle | None = None

    @classmethod
    def after(cls, seconds: float) -> Deadline:
        return cls(asyncio.get_running_loop().time() + seconds)

    def watch(self, conn: _Connection) -> None:
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_at(self.when, self._expire)
        self._active.add(conn)

    def unwatch(self, conn: _Connection) -> None:
        self._active.discard(conn)

    def cancel(self) -> None:
        """No more exchanges to watch: the timer goes."""
        if self._timer is not None:
            self._timer.cancel()

    def _expire(self) -> None:
        self.expired = True
        for conn in self._active:
            conn.timed_out = True
            conn.close()
        self._active.clear()


class _Stale(Exception):
    """A reused connection was closed by the kubelet before it answered."""


Address = tuple[str, int]


class KubeletHTTP:
    """GET over TLS (or plain TCP with `ssl_context` None) with idle connections kept per
    address for `keepalive` seconds."""

    def __init__(self, ssl_context: ssl.SSLContext | None, *, keepalive: float = 60.0,
                 user_agent: str = "metrics-server (k8s-aggapi)") -> None:
        self.ssl_context = ssl_context
        self.keepalive = keepalive
        self.user_agent = user_agent
        self._idle: dict[Address, list[_Connection]] = {}

    def request(self, host: str, port: int, path: str, headers: bytes) -> bytes:
        """The bytes of a GET of `path`; `headers`: extra header lines, each ending in CRLF."""
        authority = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        return (f"GET {path} HTTP/1.1\r\nHost: {authority}\r\nUser-Agent: {self.user_agent}"
                f"\r\nAccept-Encoding: gzip\r\n").encode() + headers + b"\r\n"

    async def get(self, host: str, port: int, path: str, headers: bytes,
                  seconds: float) -> Response:
        """`headers`: extra header lines, each ending in CRLF. TimeoutError past `seconds`
        (connecting, the TLS handshake and the whole response)."""
        return await self.send(host, port, self.request(host, port, path, headers), seconds)

    async def send(self, host: str, port: int, request: bytes, seconds: float) -> Response:
        """`get` with the request made by `request` (a caller asking again keeps it)."""
        deadline = Deadline.after(seconds)
        try:
            return await self.send_by(host, port, request, deadline)
        finally:
            deadline.cancel()

    async def send_by(self, host: str, port: int, request: bytes,
                      deadline: Deadline) -> Response:
        """`send` by a deadline that may be shared (its owner cancels it when done)."""
        address = (host, port)
        conn = self._take(address)
        if conn is not None:
            try:
                return await self._watched(conn, address, request, deadline)
            except _Stale:
                pass
        if deadline.expired:
            raise TimeoutError
        async with asyncio.timeout_at(deadline.when):
            conn = await self._connect(host, port)
            try:
                return await self._exchange(conn, address, request, reused=False)
            except _Stale:
                raise HTTPError("connection closed before a response") from None

    async def _watched(self, conn: _Connection, address: Address, request: bytes,
                       deadline: Deadline) -> Response:
        """The exchange on a kept connection, aborted when `deadline` passes."""
        if deadline.expired:
            self._put(address, conn)
            raise TimeoutError
        deadline.watch(conn)
        try:
            response = await self._exchange(conn, address, request, reused=True)
        except Exception:
            if conn.timed_out:  # aborted by the deadline: whatever the read saw of it
                raise TimeoutError from None
            raise
        finally:
            deadline.unwatch(conn)
        if conn.timed_out:  # a body up to the close, cut by the abort
            raise TimeoutError
        return response

    async def _connect(self, host: str, port: int) -> _Connection:
        reader, writer = await asyncio.open_connection(
            host, port, ssl=self.ssl_context, limit=MAX_HEAD,
            server_hostname=host if self.ssl_context is not None else None)
        return _Connection(reader, writer)

    def _take(self, address: Address) -> _Connection | None:
        idle = self._idle.get(address)
        now = time.monotonic()
        while idle:
            conn = idle.pop()
            if not conn.reader.at_eof() and now - conn.idle_since < self.keepalive:
                return conn
            conn.close()
        return None

    def _put(self, address: Address, conn: _Connection) -> None:
        idle = self._idle.setdefault(address, [])
        if len(idle) >= MAX_IDLE_PER_ADDRESS:
            conn.close()
            return
        conn.idle_since = time.monotonic()
        idle.append(conn)

    async def _exchange(self, conn: _Connection, address: Address, request: bytes, *,
                        reused: bool) -> Response:
        keep = False
        try:
            conn.writer.write(request)
            try:
                head = await conn.reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError as exc:
                if reused and not exc.partial:
                    raise _Stale from None
                raise HTTPError("connection closed in the response head") from None
            except ConnectionError:
                if reused:
                    raise _Stale from None
                raise
            except asyncio.LimitOverrunError:
                raise HTTPError("response head too large") from None
            status, reason, length, chunked, close, gzip = _parse_head(head)
            reader = conn.reader
            if status in (204, 304) or 100 <= status < 200:
                body = b""
            elif chunked:
                body = await _read_chunked(reader)
            elif length is not None:
                if length > MAX_BODY:
                    raise HTTPError(f"response body of {length} bytes is too large")
                body = await reader.readexactly(length)
            else:
                body = await reader.read(MAX_BODY + 1)
                while len(body) <= MAX_BODY and not reader.at_eof():
                    more = await reader.read(MAX_BODY + 1 - len(body))
                    if not more:
                        break
                    body += more
                if len(body) > MAX_BODY:
                    raise HTTPError("response body too large")
                close = True
            if gzip:
                body = _gunzip(body)
            keep = not close
            return Response(status, reason, body)
        except asyncio.IncompleteReadError:
            raise HTTPError("connection closed in the response body") from None
        finally:
            if keep:
                self._put(address, conn)
            else:
                conn.close()

    def forget(self, host: str, port: int) -> None:
        """Close the idle connections to an address no node has any more."""
        for conn in self._idle.pop((host, port), []):
            conn.close()

    def expire(self) -> None:
        """Close the connections idle longer than `keepalive`."""
        now = time.monotonic()
        for address, idle in list(self._idle.items()):
            kept = [c for c in idle if now - c.idle_since < self.keepalive]
            for conn in idle:
                if conn not in kept:
                    conn.close()
            if kept:
                self._idle[address] = kept
            else:
                del self._idle[address]

    async def close(self) -> None:
        for idle in self._idle.values():
            for conn in idle:
                conn.close()
        self._idle.clear()


def _parse_head(head: bytes) -> tuple[int, str, int | None, bool, bool, bool]:
    """(status, reason, content length, chunked, close after, gzip) of a response head."""
    lines = head[:-4].split(b"\r\n")
    version, _, rest = lines[0].partition(b" ")
    code, _, reason = rest.partition(b" ")
    if not version.startswith(b"HTTP/1.") or not (len(code) == 3 and code.isdigit()):
        raise HTTPError(f"not an HTTP/1.x response: {lines[0][:100]!r}")
    length: int | None = None
    chunked = gzip = False
    connection = b""
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name, value = name.strip().lower(), value.strip().lower()
        if name == b"content-length":
            if not value.isdigit():
                raise HTTPError(f"invalid Content-Length {value[:40]!r}")
            length = int(value)
        elif name == b"transfer-encoding":
            chunked = value.endswith(b"chunked")
        elif name == b"connection":
            connection = value
        elif name == b"content-encoding":
            gzip = value == b"gzip"
    close = (b"keep-alive" not in connection if version == b"HTTP/1.0"
             else b"close" in connection)
    return int(code), reason.decode("latin-1"), length, chunked, close, gzip


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts: list[bytes] = []
    size = 0
    while True:
        line = await reader.readuntil(b"\r\n")
        try:
            n = int(line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise HTTPError(f"invalid chunk size {line[:40]!r}") from None
        if n == 0:
            while await reader.readuntil(b"\r\n") != b"\r\n":  # trailers
                pass
            return b"".join(parts)
        size += n
        if size > MAX_BODY:
            raise HTTPError("response body too large")
        chunk = await reader.readexactly(n + 2)
        if chunk[-2:] != b"\r\n":
            raise HTTPError("invalid chunk end")
        parts.append(chunk[:-2])


def _gunzip(body: bytes) -> bytes:
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(body, MAX_BODY + 1)
    except zlib.error as exc:
        raise HTTPError(f"invalid gzip body: {exc}") from None
    if len(out) > MAX_BODY:
        raise HTTPError("response body too large")
    return out
