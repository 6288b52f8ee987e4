"""Run the demo target in a child process: :func:`start_target` and :class:`RunningTarget`.

The child (``capplan.loadtest.target._child_main``) prints ``READY <url>`` once it
listens, or ``ERROR <message>`` for a :class:`~capplan.errors.CapplanError` such as a busy
port, which the parent raises as one :class:`~capplan.errors.LoadTestError`.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from dataclasses import asdict
from pathlib import Path
from types import TracebackType

from capplan.errors import LoadTestError
from capplan.loadtest.target_settings import TargetSettings

_READY_TIMEOUT_S = 20.0


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
