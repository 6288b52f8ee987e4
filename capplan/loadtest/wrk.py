"""The reference load generator: run the Debian ``wrk`` binary and parse its report.

``wrk`` (github.com/wg/wrk) is a closed-loop C load generator that is far faster than
any Python generator, so its requests/s against the demo target is the baseline that
capplan's own measurements are compared with. Only loopback URLs are accepted.
"""

from __future__ import annotations

import math
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from capplan.errors import ConfigError, LoadTestError
from capplan.loadtest.target import is_loopback_host

_UNIT_TO_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}
_LATENCY_ROW = re.compile(r"^\s*(\d+(?:\.\d+)?)%\s+(\d+(?:\.\d+)?)(us|ms|s|m|h)\s*$")
_REQUESTS = re.compile(r"(\d+) requests in (\d+(?:\.\d+)?)(us|ms|s|m|h)")
_RPS = re.compile(r"Requests/sec:\s+(\d+(?:\.\d+)?)")
_SOCKET_ERRORS = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")
_NON_2XX = re.compile(r"Non-2xx or 3xx responses: (\d+)")
_MEAN_LATENCY = re.compile(r"^\s*Latency\s+(\d+(?:\.\d+)?)(us|ms|s|m|h)", re.MULTILINE)


@dataclass(frozen=True)
class WrkResult:
    """What one ``wrk`` run measured.

    ``latency_ms`` maps percentile (50.0, 75.0, 90.0, 99.0) to milliseconds as wrk
    prints them (3 significant digits); ``errors`` counts socket errors plus
    non-2xx/3xx responses.
    """

    requests_per_s: float
    requests: int
    duration_s: float
    errors: int
    non_2xx: int
    latency_mean_ms: float
    latency_ms: dict[float, float] = field(default_factory=dict)
    raw_output: str = ""


def wrk_path() -> str:
    """Path of the wrk binary, or a LoadTestError that says how to install it."""
    path = shutil.which("wrk")
    if path is None:
        raise LoadTestError("wrk was not found on PATH, 'wrk': install it (Debian/Ubuntu: apt-get install wrk)")
    return path


def measure_with_wrk(url: str, connections: int = 64, duration_s: float = 10, threads: int = 1) -> WrkResult:
    """Run ``wrk -t threads -c connections -d duration_s --latency url`` and parse the report."""
    _check_url(url)
    if connections < threads or threads < 1:
        raise ConfigError(f"wrk needs connections >= threads >= 1, got {connections} and {threads}: raise connections")
    if not (math.isfinite(duration_s) and duration_s >= 1):
        raise ConfigError(f"wrk duration must be at least 1 s, got {duration_s!r}: use duration_s >= 1")
    cmd = [wrk_path(), f"-t{threads}", f"-c{connections}", f"-d{int(round(duration_s))}s", "--latency",
           "--timeout", "10s", url]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=duration_s + 30, check=False)
    except subprocess.TimeoutExpired as exc:
        raise LoadTestError(f"wrk did not finish, {url}: check that the target answers at all") from exc
    if proc.returncode != 0 or _RPS.search(proc.stdout) is None:
        detail = (proc.stderr or proc.stdout).strip().splitlines()
        raise LoadTestError(
            f"wrk failed against {url}, {detail[-1] if detail else f'exit {proc.returncode}'}: "
            "check that the target is running and the URL is right"
        )
    return parse_wrk_output(proc.stdout)


def _check_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"wrk URL is not an http(s) URL, {url!r}: use e.g. http://127.0.0.1:8089/")
    if not is_loopback_host(parts.hostname):
        raise ConfigError(f"wrk only measures loopback targets, {parts.hostname!r}: use a 127.0.0.1 URL")


def parse_wrk_output(text: str) -> WrkResult:
    """Parse the text wrk prints (with ``--latency``) into a :class:`WrkResult`."""
    rps = _RPS.search(text)
    total = _REQUESTS.search(text)
    if rps is None or total is None:
        raise LoadTestError(f"wrk output could not be parsed, {text[:80]!r}: check the wrk version (4.x expected)")
    socket_errors = _SOCKET_ERRORS.search(text)
    non_2xx = _NON_2XX.search(text)
    mean = _MEAN_LATENCY.search(text)
    latencies = {}
    for line in text.splitlines():
        row = _LATENCY_ROW.match(line)
        if row:
            latencies[float(row.group(1))] = float(row.group(2)) * _UNIT_TO_MS[row.group(3)]
    n_non_2xx = int(non_2xx.group(1)) if non_2xx else 0
    n_socket = sum(int(g) for g in socket_errors.groups()) if socket_errors else 0
    return WrkResult(
        requests_per_s=float(rps.group(1)),
        requests=int(total.group(1)),
        duration_s=float(total.group(2)) * _UNIT_TO_MS[total.group(3)] / 1000.0,
        errors=n_socket + n_non_2xx,
        non_2xx=n_non_2xx,
        latency_mean_ms=float(mean.group(1)) * _UNIT_TO_MS[mean.group(2)] if mean else math.nan,
        latency_ms=latencies,
        raw_output=text,
    )
