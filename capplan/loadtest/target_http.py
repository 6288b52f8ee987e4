"""The demo target's HTTP/1.1 side: a minimal keep-alive protocol on the asyncio loop.

One request at a time per connection (HTTP/1.1 without pipelining, as load generators
use it). ``GET /health`` answers at once, ``GET /metrics`` gives Prometheus text, any
other path is served by the :class:`~capplan.loadtest.target_service.ServiceSlots`.
"""

from __future__ import annotations

import asyncio

from capplan.loadtest.target_service import ServiceSlots, TargetStats, metrics_text

_MAX_HEADER_BYTES = 65536
_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 500: "Internal Server Error"}


def _response(code: int, body: bytes, content_type: str, keep_alive: bool) -> bytes:
    head = (
        f"HTTP/1.1 {code} {_REASONS.get(code, 'OK')}\r\n"
        f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
        f"Connection: {'keep-alive' if keep_alive else 'close'}\r\n\r\n"
    )
    return head.encode("ascii") + body


class HttpProtocol(asyncio.Protocol):
    """Minimal HTTP/1.1 server protocol: keep-alive, one request at a time per connection."""

    def __init__(self, slots: ServiceSlots, stats: TargetStats) -> None:
        self._slots = slots
        self._stats = stats
        self._buffer = bytearray()
        self._busy = False
        self._closed = False
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if len(self._buffer) > _MAX_HEADER_BYTES and b"\r\n\r\n" not in self._buffer:
            self._send(_response(400, b"headers too large\n", "text/plain", False), False)
            return
        self._next_request()

    def _next_request(self) -> None:
        if self._busy or self._closed:
            return
        end = self._buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(self._buffer[:end]).decode("latin-1")
        lines = head.split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:])}
        length = headers.get("content-length", "0") or "0"
        if not length.isdigit():
            self._send(_response(400, b"bad content-length\n", "text/plain", False), False)
            return
        body_len = int(length)
        if len(self._buffer) < end + 4 + body_len:
            return
        del self._buffer[: end + 4 + body_len]
        parts = lines[0].split()
        path = parts[1] if len(parts) >= 2 else "/"
        keep_alive = headers.get("connection", "").lower() != "close" and lines[0].endswith("1.1")
        self._busy = True
        self._dispatch(path.split("?", 1)[0], keep_alive)

    def _dispatch(self, path: str, keep_alive: bool) -> None:
        if path == "/health":
            self._send(_response(200, b"ok\n", "text/plain", keep_alive), keep_alive)
        elif path == "/metrics":
            body = metrics_text(self._slots, self._stats).encode()
            self._send(_response(200, body, "text/plain; version=0.0.4", keep_alive), keep_alive)
        else:
            self._slots.submit(lambda: self._served(keep_alive))

    def _served(self, keep_alive: bool) -> None:
        code = 500 if self._slots.draw_error() else 200
        self._stats.count(code)
        body = b"error\n" if code == 500 else b"ok\n"
        self._send(_response(code, body, "text/plain", keep_alive), keep_alive)

    def _send(self, payload: bytes, keep_alive: bool) -> None:
        self._busy = False
        if self._closed or self._transport is None:
            return
        self._transport.write(payload)
        if not keep_alive:
            self._transport.close()
            self._closed = True
            return
        self._next_request()
