"""A raw HTTP/1.1 client over TLS for attacks: the request line, headers and body go out byte
for byte as given (no URL normalisation), and every read is bounded by a deadline.

Streaming answers (watch) are read until `read_limit` seconds pass, then the connection is
closed; the status and headers are what the oracle needs.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import time
from dataclasses import dataclass, field
from pathlib import Path

import orjson


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes
    truncated: bool = False  # the read deadline ended a streaming body

    def json(self) -> object:
        return orjson.loads(self.body)


@dataclass
class Identity:
    """Who connects: a client certificate (or none) and the CA that signed the server."""

    ca: Path
    cert: tuple[Path, Path] | None = None
    headers: dict[str, str] = field(default_factory=dict)  # e.g. X-Remote-User via front proxy

    def context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=str(self.ca))
        if self.cert:
            ctx.load_cert_chain(*self.cert)
        return ctx


class ConnectionLost(Exception):
    """The server closed the connection (or it reset) before a whole status line came."""


def _readline(buf: Reader, deadline: float) -> bytes:
    while b"\r\n" not in buf.data:
        buf.fill(deadline)
    line, _, buf.data = buf.data.partition(b"\r\n")
    return line


class Reader:
    def __init__(self, sock: ssl.SSLSocket) -> None:
        self.sock, self.data, self.eof = sock, b"", False

    def fill(self, deadline: float) -> None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        self.sock.settimeout(remaining)
        try:
            chunk = self.sock.recv(65536)
        except (ConnectionResetError, ssl.SSLError, BrokenPipeError) as exc:
            raise ConnectionLost(str(exc)) from exc
        except TimeoutError:
            raise
        if not chunk:
            self.eof = True
            raise ConnectionLost("closed")
        self.data += chunk

    def take(self, n: int, deadline: float) -> bytes:
        while len(self.data) < n:
            self.fill(deadline)
        out, self.data = self.data[:n], self.data[n:]
        return out


class Client:
    """One keep-alive TLS connection to 127.0.0.1:`port`, reopened when the server closes it."""

    def __init__(self, port: int, identity: Identity, *, timeout: float = 20.0) -> None:
        self.port, self.identity, self.timeout = port, identity, timeout
        self._ctx = identity.context()
        self._sock: ssl.SSLSocket | None = None
        self._reader: Reader | None = None
        self.sent = 0

    def close(self) -> None:
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.close()
        self._sock = self._reader = None

    def connect(self) -> ssl.SSLSocket:
        raw = socket.create_connection(("127.0.0.1", self.port), timeout=self.timeout)
        return self._ctx.wrap_socket(raw, server_hostname="localhost")

    def _open(self) -> tuple[ssl.SSLSocket, Reader]:
        if self._sock is None or self._reader is None:
            self._sock = self.connect()
            self._reader = Reader(self._sock)
        return self._sock, self._reader

    def request(self, method: str, target: str, *, body: bytes | None = None,
                headers: dict[str, str] | None = None, read_limit: float | None = None,
                ) -> Response:
        """Send one request; `target` goes on the request line exactly as given."""
        all_headers = {"Host": f"127.0.0.1:{self.port}", **self.identity.headers,
                       **(headers or {})}
        if body is not None or method in ("POST", "PUT", "PATCH"):
            all_headers.setdefault("Content-Length", str(len(body or b"")))
        head = f"{method} {target} HTTP/1.1\r\n".encode("latin-1", "replace")
        for k, v in all_headers.items():
            head += f"{k}: {v}\r\n".encode("latin-1", "replace")
        payload = head + b"\r\n" + (body or b"")
        for attempt in (1, 2):
            fresh = self._sock is None
            sock, reader = self._open()
            try:
                sock.sendall(payload)
                self.sent += 1
                return self.read(reader, method, read_limit)
            except ConnectionLost:
                self.close()
                if fresh or attempt == 2:
                    raise
            except (TimeoutError, OSError):
                self.close()
                raise
        raise AssertionError("unreachable")

    def send_raw(self, payload: bytes, read_limit: float | None = 2.0) -> Response:
        """Send `payload` as is on a fresh connection and read one answer."""
        self.close()
        sock, reader = self._open()
        try:
            sock.sendall(payload)
            self.sent += 1
            return self.read(reader, "GET", read_limit)
        finally:
            self.close()

    def read(self, reader: Reader, method: str, read_limit: float | None) -> Response:
        deadline = time.monotonic() + self.timeout
        status_line = _readline(reader, deadline)
        parts = status_line.split(b" ", 2)
        status = int(parts[1])
        headers: dict[str, str] = {}
        while line := _readline(reader, deadline):
            key, _, value = line.decode("latin-1").partition(":")
            headers[key.strip().lower()] = value.strip()
        body_deadline = time.monotonic() + read_limit if read_limit else deadline
        body, truncated, chunks = b"", False, []
        try:
            if method == "HEAD" or status in (204, 304):
                pass
            elif "content-length" in headers:
                body = reader.take(int(headers["content-length"]), body_deadline)
            elif headers.get("transfer-encoding", "").lower() == "chunked":
                body = self._chunked(reader, body_deadline, chunks)
            else:
                while not reader.eof:
                    try:
                        reader.fill(body_deadline)
                    except ConnectionLost:
                        break
                body, reader.data = reader.data, b""
                self.close()
        except (TimeoutError, ConnectionLost):
            body, truncated = b"".join(chunks) + reader.data, True
            self.close()
        if headers.get("connection", "").lower() == "close":
            self.close()
        return Response(status, headers, body, truncated)

    @staticmethod
    def _chunked(reader: Reader, deadline: float, chunks: list[bytes]) -> bytes:
        while True:
            size = int(_readline(reader, deadline).split(b";")[0], 16)
            if size == 0:
                while _readline(reader, deadline):
                    pass
                return b"".join(chunks)
            chunks.append(reader.take(size, deadline))
            reader.take(2, deadline)
