"""HTTP to kube-apiserver: `Transport`, HTTP/1.1 on asyncio streams over a `RestConfig` (TLS
with the cluster CA or none, a client certificate, a bearer token re-read from its file once a
minute as client-go does), kept-alive connections, raw JSON in and a `Response` out that is read
whole or line by line (a watch). Callers speak JSON themselves.

Our own client rather than aiohttp or the kubernetes client: the calls are few and plain (a
TokenReview, a SubjectAccessReview, a list, a watch), and importing either costs a server more
memory than it holds data (aiohttp 14 MiB and 157 modules; the kubernetes client 18 MiB more).
A kubeconfig that needs more (an exec or auth-provider plugin, basic auth, impersonation, a
proxy) is served by the kubernetes client instead (`LibraryTransport`), imported only then.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import ssl
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from k8s_aggapi.kubeconfig import KubeconfigError, RestConfig, in_cluster_config, load_kubeconfig

TOKEN_REFRESH = 60.0  # seconds a token read from a file is used before it is read again
MAX_HEAD = 64 << 10
MAX_IDLE = 8  # idle connections kept for reuse
Query = list[tuple[str, str]]


class TransportError(OSError):
    """No usable HTTP answer: the connection failed or the answer is not HTTP we read."""


@dataclass(frozen=True)
class StreamTimeout:
    """For a long response (a watch): a bound on connecting and on each read, none on the
    whole."""

    connect: float = 10.0
    read: float = 60.0


Timeout = float | StreamTimeout


@dataclass(frozen=True)
class Auth:
    """The client credentials, as files and a token (the kubelet client reuses them)."""

    token: str = ""
    cert_file: str = ""
    key_file: str = ""
    ca_file: str = ""


class Response(Protocol):
    @property
    def status(self) -> int: ...

    async def read(self) -> bytes:
        """The whole body (then the connection is free for the next request)."""
        ...

    async def readline(self) -> bytes:
        """The body's next line, with its \\n; b"" at the end."""
        ...

    def close(self) -> None: ...


class Transport(Protocol):
    @property
    def host(self) -> str: ...

    async def request(self, method: str, path: str, *, query: Query | None = None,
                      headers: dict[str, str] | None = None, body: Any = None,
                      request_timeout: Timeout = 10.0) -> Response:
        """`body` is sent as JSON when not None; the caller reads or closes the response. A
        float bounds the whole exchange, body included."""
        ...

    async def auth(self) -> Auth: ...

    async def close(self) -> None: ...


def ssl_context(config: RestConfig) -> ssl.SSLContext | None:
    if not config.host.startswith("https://"):
        return None
    context = ssl.create_default_context(cafile=config.ca_file or None)
    if config.insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if config.cert_file:
        context.load_cert_chain(config.cert_file, config.key_file or None)
    return context


class _Connection:
    __slots__ = ("reader", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    def abort(self) -> None:
        self.writer.transport.abort()


class _Stale(Exception):
    """A reused connection was closed by the server before it answered."""


class StreamResponse:
    """A response being read from its connection: by Content-Length, chunked or to the close."""

    def __init__(self, owner: RestTransport, conn: _Connection, status: int,
                 headers: dict[str, str], deadline: float | None, read_timeout: float | None,
                 method: str) -> None:
        self.status = status
        self.headers = headers
        self._owner, self._conn = owner, conn
        self._deadline, self._read_timeout = deadline, read_timeout
        self._chunked = "chunked" in headers.get("transfer-encoding", "").lower()
        length = headers.get("content-length")
        self._left = -1 if self._chunked or length is None else int(length)
        if method == "HEAD" or status in (204, 304):
            self._left = 0
        self._keep = headers.get("connection", "").lower() != "close" and (
            self._chunked or self._left >= 0)
        self._buffer = b""
        self._done = False
        if self._left == 0:  # no body: the connection is free at once
            self._finish()

    def _timeout(self) -> float | None:
        if self._deadline is None:
            return self._read_timeout
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("request timed out")
        return left if self._read_timeout is None else min(left, self._read_timeout)

    async def _piece(self) -> bytes:
        """The next piece of the body, b"" at its end (the connection is then released)."""
        if self._done:
            return b""
        reader = self._conn.reader
        try:
            async with asyncio.timeout(self._timeout()):
                if self._chunked:
                    size_line = await reader.readuntil(b"\r\n")
                    size = int(size_line.split(b";", 1)[0].strip(), 16)
                    if size == 0:
                        while (await reader.readuntil(b"\r\n")) != b"\r\n":  # trailers
                            pass
                        piece = b""
                    else:
                        piece = (await reader.readexactly(size + 2))[:-2]
                elif self._left >= 0:
                    piece = await reader.read(min(self._left, 1 << 16)) if self._left else b""
                    if self._left and not piece:
                        raise TransportError("connection closed before the body ended")
                    self._left -= len(piece)
                else:
                    piece = await reader.read(1 << 16)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
            self.close()
            raise TransportError(f"invalid response body: {exc}") from exc
        except BaseException:
            self.close()
            raise
        if not piece or self._left == 0:  # the end, or the last of a Content-Length body
            self._finish()
        return piece

    def _finish(self) -> None:
        if not self._done:
            self._done = True
            if self._keep:
                self._owner.release(self._conn)
            else:
                self._conn.abort()

    async def read(self) -> bytes:
        parts = [self._buffer]
        self._buffer = b""
        while piece := await self._piece():
            parts.append(piece)
        return b"".join(parts)

    async def readline(self) -> bytes:
        while (end := self._buffer.find(b"\n")) < 0:
            piece = await self._piece()
            if not piece:
                line, self._buffer = self._buffer, b""
                return line
            self._buffer += piece
        line, self._buffer = self._buffer[:end + 1], self._buffer[end + 1:]
        return line

    def close(self) -> None:
        if not self._done:
            self._done = True
            self._conn.abort()

    async def __aenter__(self) -> StreamResponse:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()


class RestTransport:
    """HTTP/1.1 to the config's host, idle connections kept for the next request."""

    def __init__(self, config: RestConfig, *, clock: Any = time.monotonic) -> None:
        self.config = config
        url = urllib.parse.urlsplit(config.host)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise KubeconfigError(f"invalid server URL {config.host!r}")
        self._address = (url.hostname, url.port or (443 if url.scheme == "https" else 80))
        self._prefix = url.path.rstrip("/")
        host = url.hostname
        authority = f"[{host}]" if ":" in host else host
        self._authority = authority if url.port is None else f"{authority}:{url.port}"
        self._ssl = ssl_context(config)
        self._idle: list[_Connection] = []
        self._clock = clock
        self._token = config.token
        self._token_read = -TOKEN_REFRESH

    @property
    def host(self) -> str:
        return self.config.host

    async def token(self) -> str:
        if self.config.token_file and self._clock() - self._token_read >= TOKEN_REFRESH:
            path = Path(self.config.token_file)
            try:
                self._token = (await asyncio.to_thread(path.read_text)).strip()
            except OSError:
                if not self._token:  # keep the last good one when a rotation is under way
                    raise
            self._token_read = self._clock()
        return self._token

    def release(self, conn: _Connection) -> None:
        if len(self._idle) < MAX_IDLE and not conn.writer.is_closing():
            self._idle.append(conn)
        else:
            conn.abort()

    async def _connect(self) -> _Connection:
        host, port = self._address
        server_hostname = (self.config.server_name or host) if self._ssl is not None else None
        reader, writer = await asyncio.open_connection(
            host, port, ssl=self._ssl, server_hostname=server_hostname, limit=MAX_HEAD)
        return _Connection(reader, writer)

    async def request(self, method: str, path: str, *, query: Query | None = None,
                      headers: dict[str, str] | None = None, body: Any = None,
                      request_timeout: Timeout = 10.0) -> StreamResponse:
        target = self._prefix + path + (
            "?" + urllib.parse.urlencode(query) if query else "")
        lines = [f"{method} {target} HTTP/1.1", f"Host: {self._authority}",
                 "User-Agent: k8s-aggapi"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        if token := await self.token():
            lines.append(f"Authorization: Bearer {token}")
        data = b"" if body is None else json.dumps(body).encode()
        if body is not None or method in ("POST", "PUT", "PATCH"):
            lines.append(f"Content-Length: {len(data)}")
        raw = ("\r\n".join(lines) + "\r\n\r\n").encode() + data
        deadline: float | None
        if isinstance(request_timeout, StreamTimeout):
            deadline, head, read = None, request_timeout.connect, request_timeout.read
        else:
            deadline = time.monotonic() + request_timeout
            head = read = request_timeout
        try:
            async with asyncio.timeout(head):
                while self._idle:
                    try:
                        return await self._exchange(self._idle.pop(), raw, method, deadline,
                                                    read, reused=True)
                    except _Stale:
                        continue
                conn = await self._connect()
                try:
                    return await self._exchange(conn, raw, method, deadline, read, reused=False)
                except _Stale as exc:
                    raise TransportError("connection closed before the response") from exc
        except ssl.SSLError as exc:
            raise TransportError(f"TLS: {exc}") from exc

    async def _exchange(self, conn: _Connection, raw: bytes, method: str,
                        deadline: float | None, read: float | None,
                        *, reused: bool) -> StreamResponse:
        try:
            conn.writer.write(raw)
            await conn.writer.drain()
            head = await conn.reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            conn.abort()
            if reused and not getattr(exc, "partial", b""):
                raise _Stale from exc
            raise TransportError(f"connection lost: {exc!r}") from exc
        except asyncio.LimitOverrunError as exc:
            conn.abort()
            raise TransportError("response headers too large") from exc
        except BaseException:
            conn.abort()
            raise
        status_line, *header_lines = head[:-4].decode("latin-1").split("\r\n")
        parts = status_line.split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
            conn.abort()
            raise TransportError(f"not an HTTP/1.x response: {status_line[:100]!r}")
        fields: dict[str, str] = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            fields[name.strip().lower()] = value.strip()
        try:
            return StreamResponse(self, conn, int(parts[1]), fields, deadline, read, method)
        except ValueError as exc:  # a Content-Length that is not a number
            conn.abort()
            raise TransportError(f"invalid response headers: {exc}") from exc

    async def auth(self) -> Auth:
        return Auth(token=await self.token(), cert_file=self.config.cert_file,
                    key_file=self.config.key_file, ca_file=self.config.ca_file)

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for conn in idle:
            conn.abort()


class _LibraryResponse:
    """An aiohttp response of the kubernetes client, as a `Response`."""

    def __init__(self, response: Any, errors: tuple[type[BaseException], ...]) -> None:
        self._response, self._errors = response, errors
        self.status: int = response.status

    async def read(self) -> bytes:
        try:
            data: bytes = await self._response.read()
        except self._errors as exc:
            raise TransportError(repr(exc)) from exc
        return data

    async def readline(self) -> bytes:
        try:
            line: bytes = await self._response.content.readline()
        except self._errors as exc:
            raise TransportError(repr(exc)) from exc
        return line

    def close(self) -> None:
        self._response.close()


class LibraryTransport:
    """The kubernetes client's ApiClient, for kubeconfigs `RestTransport` does not read."""

    def __init__(self, api_client: Any) -> None:
        self._api = api_client
        self._aiohttp: Any = importlib.import_module("aiohttp")

    @property
    def host(self) -> str:
        return str(self._api.configuration.host)

    async def request(self, method: str, path: str, *, query: Query | None = None,
                      headers: dict[str, str] | None = None, body: Any = None,
                      request_timeout: Timeout = 10.0) -> Response:
        aiohttp = self._aiohttp
        timeout = (aiohttp.ClientTimeout(total=None, sock_connect=request_timeout.connect,
                                         sock_read=request_timeout.read)
                   if isinstance(request_timeout, StreamTimeout) else request_timeout)
        try:
            params = await self._api.param_serialize(
                method=method, resource_path=path, query_params=query or None,
                header_params=dict(headers or {}), body=body, auth_settings=["BearerToken"])
            response = await self._api.call_api(*params, _request_timeout=timeout)
        except aiohttp.ClientError as exc:
            raise TransportError(repr(exc)) from exc
        return _LibraryResponse(response.response, (aiohttp.ClientError,))

    async def auth(self) -> Auth:
        config = self._api.configuration
        header = await config.get_api_key_with_prefix("BearerToken", alias="authorization")
        return Auth(token=(header or "").removeprefix("Bearer ").strip(),
                    cert_file=config.cert_file or "", key_file=config.key_file or "",
                    ca_file=config.ssl_ca_cert or "")

    async def close(self) -> None:
        await self._api.close()


async def _library(kubeconfig: str) -> Transport:
    client: Any = importlib.import_module("kubernetes.aio.client")
    config: Any = importlib.import_module("kubernetes.aio.config")
    configuration = client.Configuration()
    await config.load_kube_config(config_file=kubeconfig, client_configuration=configuration,
                                  persist_config=False)
    return LibraryTransport(client.ApiClient(configuration))


async def connect(kubeconfig: str = "") -> Transport | None:
    """A transport from `kubeconfig`, else from the in-cluster service account; None when there
    is neither. Raises `KubeconfigError` for a kubeconfig that cannot be read."""
    if kubeconfig:
        config = await asyncio.to_thread(load_kubeconfig, kubeconfig)
        return RestTransport(config) if config is not None else await _library(kubeconfig)
    config = in_cluster_config()
    return RestTransport(config) if config is not None else None


__all__ = ["Auth", "KubeconfigError", "LibraryTransport", "Response", "RestTransport",
           "StreamTimeout", "Transport", "TransportError", "connect"]
