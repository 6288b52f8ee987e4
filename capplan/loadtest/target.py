"""The bundled demo service: an HTTP/1.1 keep-alive server with a known capacity.

It has ``slots`` (C) concurrent service slots; requests beyond C wait in a FIFO queue.
Each request's service time is exponential with mean ``service_ms`` (S), so the
maximum throughput is C / S (requests/s with S in seconds). Optional knobs:

* contention (USL-style): a request that starts service when n slots are busy (itself
  included) has its service time multiplied by ``1 + sigma*(n-1) + kappa*n*(n-1)``, so
  throughput X(n) = (n/S) / (1 + sigma(n-1) + kappa n(n-1)) falls past a peak
  (Gunther, *Guerrilla Capacity Planning*, 2007, ch. 4);
* ``error_rate``: fraction of served requests answered with HTTP 500;
* ``leak_mb_per_min``: the process allocates and touches that much memory per minute.

Why the design: asyncio timers are rounded up to the 1 ms granularity of epoll, which
would stretch a 10 ms mean service time by ~5-10 %. Service completions are therefore
timed by one precise timer thread (``threading.Condition.wait`` with sub-ms accuracy),
and each slot keeps a *virtual* clock: a queued request starts exactly when the
previous one's deadline passed, not when the wake-up happened, so wake-up jitter never
accumulates into lost capacity. HTTP parsing runs on the asyncio loop (no thread per
connection), which keeps the server itself far above the capacities it simulates.

Routes: ``GET /health`` (immediate 200), ``GET /metrics`` (Prometheus text format),
anything else is a served request.
"""

from __future__ import annotations

import asyncio
import heapq
import ipaddress
import itertools
import json
import math
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from types import TracebackType

from capplan.errors import CapplanError, ConfigError, LoadTestError

_DISTRIBUTIONS = ("exponential", "constant")
_READY_TIMEOUT_S = 20.0
_MAX_HEADER_BYTES = 65536


def is_loopback_host(host: str) -> bool:
    """True when ``host`` is a loopback address or ``localhost``."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class TargetSettings:
    """Validated settings of the demo target.

    ``service_ms`` is the mean service time (ms); nominal capacity is
    ``slots * 1000 / service_ms`` requests/s (without contention).
    """

    slots: int = 4
    service_ms: float = 10.0
    sigma: float = 0.0
    kappa: float = 0.0
    error_rate: float = 0.0
    leak_mb_per_min: float = 0.0
    port: int = 8089
    host: str = "127.0.0.1"
    allow_non_loopback: bool = False
    distribution: str = "exponential"
    seed: int | None = None

    def __post_init__(self) -> None:
        _check(isinstance(self.slots, int) and 1 <= self.slots <= 10_000, "slots", self.slots,
               "use an integer between 1 and 10000")
        _check(_finite(self.service_ms) and 0 < self.service_ms <= 600_000, "service-ms", self.service_ms,
               "use a mean service time in ms greater than 0")
        _check(_finite(self.sigma) and 0 <= self.sigma <= 10, "sigma", self.sigma, "use 0 <= sigma <= 10")
        _check(_finite(self.kappa) and 0 <= self.kappa <= 10, "kappa", self.kappa, "use 0 <= kappa <= 10")
        _check(_finite(self.error_rate) and 0 <= self.error_rate <= 1, "error-rate", self.error_rate,
               "use a fraction between 0 and 1, e.g. 0.01")
        _check(_finite(self.leak_mb_per_min) and 0 <= self.leak_mb_per_min <= 1024, "leak-mb-per-min",
               self.leak_mb_per_min, "use 0 to 1024 MB per minute")
        _check(isinstance(self.port, int) and 0 <= self.port <= 65535, "port", self.port,
               "use 0 (any free port) to 65535")
        _check(self.distribution in _DISTRIBUTIONS, "distribution", self.distribution,
               f"use one of {', '.join(_DISTRIBUTIONS)}")
        if not self.allow_non_loopback and not is_loopback_host(self.host):
            raise ConfigError(
                f"demo target bind address is not loopback, {self.host!r}: "
                "bind to 127.0.0.1, or allow it explicitly (--allow-host, allow_non_loopback=True)"
            )

    @property
    def capacity_rps(self) -> float:
        """Nominal capacity C/S in requests/s (the peak without contention)."""
        return self.slots * 1000.0 / self.service_ms

    def contention_factor(self, busy: int) -> float:
        """Service-time multiplier 1 + sigma(n-1) + kappa n(n-1) for n busy slots."""
        return 1.0 + self.sigma * (busy - 1) + self.kappa * busy * (busy - 1)


def _finite(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _check(ok: bool, name: str, value: object, fix: str) -> None:
    if not ok:
        raise ConfigError(f"demo target setting {name} is invalid, {value!r}: {fix}")


class _PreciseTimer:
    """One thread that fires callbacks on the asyncio loop at precise monotonic deadlines."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="target-timer", daemon=True)
        self._thread.start()

    def call_at(self, deadline_s: float, callback: Callable[[], None]) -> None:
        """Run ``callback`` on the loop as soon as ``time.monotonic() >= deadline_s``."""
        with self._cond:
            heapq.heappush(self._heap, (deadline_s, next(self._seq), callback))
            if self._heap[0][0] == deadline_s:
                self._cond.notify()

    def stop(self) -> None:
        """Stop the timer thread; pending callbacks are dropped."""
        with self._cond:
            self._stopped = True
            self._cond.notify()
        self._thread.join(timeout=2)

    def _run(self) -> None:
        while True:
            with self._cond:
                due = self._wait_due()
                if due is None:
                    return
            self._loop.call_soon_threadsafe(_run_all, due)

    def _wait_due(self) -> list[Callable[[], None]] | None:
        while not self._stopped:
            now = time.monotonic()
            if self._heap and self._heap[0][0] <= now:
                due = []
                while self._heap and self._heap[0][0] <= now:
                    due.append(heapq.heappop(self._heap)[2])
                return due
            self._cond.wait(self._heap[0][0] - now if self._heap else None)
        return None


def _run_all(callbacks: list[Callable[[], None]]) -> None:
    for callback in callbacks:
        callback()


class _Slots:
    """C service slots with a FIFO queue and per-slot virtual clocks (see module docstring)."""

    def __init__(self, settings: TargetSettings, timer: _PreciseTimer) -> None:
        self.settings = settings
        self.busy = 0
        self.queue: deque[tuple[float, Callable[[], None]]] = deque()
        self._timer = timer
        self._rng = random.Random(settings.seed)

    def submit(self, done: Callable[[], None]) -> None:
        """Serve one request; ``done`` runs on the loop when its service ends."""
        now = time.monotonic()
        if self.busy < self.settings.slots:
            self._start(now, done)
        else:
            self.queue.append((now, done))

    def _start(self, start_s: float, done: Callable[[], None]) -> None:
        self.busy += 1
        factor = self.settings.contention_factor(self.busy)
        deadline_s = start_s + self._draw_service_s() * factor
        self._timer.call_at(deadline_s, lambda: self._finish(deadline_s, done))

    def _draw_service_s(self) -> float:
        mean_s = self.settings.service_ms / 1000.0
        if self.settings.distribution == "constant":
            return mean_s
        return self._rng.expovariate(1.0 / mean_s)

    def _finish(self, deadline_s: float, done: Callable[[], None]) -> None:
        self.busy -= 1
        if self.queue:
            arrived_s, waiting = self.queue.popleft()
            self._start(max(arrived_s, deadline_s), waiting)
        done()

    def draw_error(self) -> bool:
        """True with probability ``error_rate``."""
        return self.settings.error_rate > 0 and self._rng.random() < self.settings.error_rate


class _Stats:
    """Counters exported on /metrics."""

    def __init__(self) -> None:
        self.requests_by_code: dict[int, int] = {}
        self.leaked: list[bytes] = []
        self.leaked_bytes = 0

    def count(self, code: int) -> None:
        self.requests_by_code[code] = self.requests_by_code.get(code, 0) + 1


def _rss_bytes() -> int:
    try:
        with open("/proc/self/statm", "rb") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:  # not Linux
        import psutil

        return int(psutil.Process().memory_info().rss)


def _metrics_text(slots: _Slots, stats: _Stats) -> str:
    """Prometheus text exposition format 0.0.4 (checked with ``promtool check metrics``)."""
    codes = {200: 0, **stats.requests_by_code}
    lines = ["# HELP requests_total Requests served by the demo target, by HTTP status code.",
             "# TYPE requests_total counter"]
    lines += [f'requests_total{{code="{code}"}} {n}' for code, n in sorted(codes.items())]
    gauges = [("busy_slots", "Service slots busy right now.", slots.busy),
              ("queued_requests", "Requests waiting for a free slot.", len(slots.queue)),
              ("slots", "Configured service slots.", slots.settings.slots),
              ("process_resident_memory_bytes", "Resident memory size in bytes.", _rss_bytes()),
              ("leaked_bytes", "Bytes allocated on purpose by the leak knob.", stats.leaked_bytes)]
    for name, help_text, value in gauges:
        lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge", f"{name} {value}"]
    return "\n".join(lines) + "\n"


_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 500: "Internal Server Error"}


def _response(code: int, body: bytes, content_type: str, keep_alive: bool) -> bytes:
    head = (
        f"HTTP/1.1 {code} {_REASONS.get(code, 'OK')}\r\n"
        f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
        f"Connection: {'keep-alive' if keep_alive else 'close'}\r\n\r\n"
    )
    return head.encode("ascii") + body


class _HttpProtocol(asyncio.Protocol):
    """Minimal HTTP/1.1 server protocol: keep-alive, one request at a time per connection."""

    def __init__(self, slots: _Slots, stats: _Stats) -> None:
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
            body = _metrics_text(self._slots, self._stats).encode()
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


async def _leak(settings: TargetSettings, stats: _Stats) -> None:
    """Allocate and touch ``leak_mb_per_min`` MB per minute, in one-second chunks."""
    chunk = int(settings.leak_mb_per_min * 1024 * 1024 / 60)
    while chunk > 0:
        await asyncio.sleep(1.0)
        stats.leaked.append(b"\xa5" * chunk)  # written, so really resident
        stats.leaked_bytes += chunk


async def _watch_parent(parent_pid: int, stop: asyncio.Event) -> None:
    """Stop when the parent that started this child has gone (no orphaned targets)."""
    while os.getppid() == parent_pid:
        await asyncio.sleep(0.5)
    stop.set()


async def _serve(settings: TargetSettings, on_ready: Callable[[str], None] | None,
                 parent_pid: int | None = None) -> None:
    loop = asyncio.get_running_loop()
    timer = _PreciseTimer(loop)
    slots, stats = _Slots(settings, timer), _Stats()
    try:
        server = await loop.create_server(
            lambda: _HttpProtocol(slots, stats), settings.host, settings.port, reuse_address=True, backlog=1024
        )
    except OSError as exc:
        timer.stop()
        raise LoadTestError(
            f"demo target could not listen on {settings.host}:{settings.port}, {exc.strerror}: "
            "choose another --port (0 picks a free one)"
        ) from exc
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        if threading.current_thread() is threading.main_thread():
            loop.add_signal_handler(signum, stop.set)
    background = [asyncio.create_task(_leak(settings, stats))]
    if parent_pid is not None:
        background.append(asyncio.create_task(_watch_parent(parent_pid, stop)))
    port = server.sockets[0].getsockname()[1]
    if on_ready is not None:
        on_ready(f"http://{_url_host(settings.host)}:{port}")
    try:
        await stop.wait()
    finally:
        for task in background:
            task.cancel()
        server.close()
        timer.stop()


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def run_target(settings: TargetSettings, on_ready: Callable[[str], None] | None = None,
               parent_pid: int | None = None) -> None:
    """Serve in the foreground until SIGINT/SIGTERM, then return cleanly.

    ``on_ready(url)`` is called once the socket accepts connections. With
    ``parent_pid`` the server also stops when that process is no longer its parent.
    """
    previous = sys.getswitchinterval()
    sys.setswitchinterval(0.0005)  # lets the timer thread take the GIL promptly under load
    try:
        asyncio.run(_serve(settings, on_ready, parent_pid))
    finally:
        sys.setswitchinterval(previous)


class RunningTarget:
    """A demo target running in a child process; use as a context manager."""

    def __init__(self, process: subprocess.Popen[bytes], url: str, settings: TargetSettings) -> None:
        self._process = process
        self.url = url
        self.settings = settings

    @property
    def pid(self) -> int:
        """Process id of the child serving the target."""
        return self._process.pid

    @property
    def port(self) -> int:
        """The TCP port the target listens on."""
        return int(self.url.rsplit(":", 1)[1])

    def is_alive(self) -> bool:
        """True while the child process runs."""
        return self._process.poll() is None

    def stop(self, timeout_s: float = 5.0) -> None:
        """Ask the target to stop (SIGTERM) and wait; SIGKILL if it does not within ``timeout_s``."""
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.kill()
        self._close_pipe()

    def kill(self) -> None:
        """SIGKILL the target (for fault tests) and reap it."""
        if self._process.poll() is None:
            self._process.kill()
        self._process.wait()
        self._close_pipe()

    def _close_pipe(self) -> None:
        if self._process.stdout is not None:
            self._process.stdout.close()

    def __enter__(self) -> RunningTarget:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


def start_target(settings: TargetSettings | None = None) -> RunningTarget:
    """Start the target in a child process and return once it accepts connections.

    ``settings.port`` 0 (the usual choice in tests) binds a free port; the bound port
    is in the returned ``url``.
    """
    settings = settings or TargetSettings(port=0)
    code = "import sys; from capplan.loadtest.target import _child_main; _child_main(sys.argv[1], int(sys.argv[2]))"
    package_root = str(Path(__file__).resolve().parents[2])  # importable even when not installed
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")]))}
    process = subprocess.Popen(
        [sys.executable, "-c", code, json.dumps(asdict(settings)), str(os.getpid())],
        stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, start_new_session=True, env=env,
    )
    url = _read_ready_line(process)
    _wait_accepting(url, process)
    return RunningTarget(process, url, settings)


def _read_ready_line(process: subprocess.Popen[bytes]) -> str:
    assert process.stdout is not None
    result: list[bytes] = []
    reader = threading.Thread(target=lambda: result.append(process.stdout.readline()), daemon=True)
    reader.start()
    reader.join(_READY_TIMEOUT_S)
    line = result[0].decode().strip() if result else ""
    if line.startswith("ERROR "):
        process.wait()
        raise LoadTestError(line.split(" ", 1)[1])
    if not line.startswith("READY "):
        process.kill()
        process.wait()
        raise LoadTestError(
            f"demo target did not start within {_READY_TIMEOUT_S:.0f} s, exit code {process.poll()}: "
            "run `capplan target --port 0` to see its error"
        )
    return line.split(" ", 1)[1]


def _wait_accepting(url: str, process: subprocess.Popen[bytes]) -> None:
    host, port = url.split("//", 1)[1].rsplit(":", 1)
    deadline = time.monotonic() + _READY_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host.strip("[]"), int(port)), timeout=1.0):
                return
        except OSError:
            time.sleep(0.02)
    process.kill()
    raise LoadTestError(f"demo target is not accepting connections, {url}: check that the port is not firewalled")


def _child_main(settings_json: str, parent_pid: int) -> None:
    """Entry point of the child process started by :func:`start_target`."""
    settings = TargetSettings(**json.loads(settings_json))

    def ready(url: str) -> None:
        sys.stdout.write(f"READY {url}\n")
        sys.stdout.flush()

    try:
        run_target(settings, on_ready=ready, parent_pid=parent_pid)
    except CapplanError as exc:  # reported by the parent as one clear error
        sys.stdout.write(f"ERROR {exc}\n")
        sys.stdout.flush()
        sys.exit(exc.exit_code)
