"""What the load test knows about the target itself: CPU % and resident memory (RSS).

Two sources, either or both:

- ``--target-pid``: the process's CPU % and RSS via psutil, every second (same machine);
- ``--target-rss-query prometheus://host:9090?query=<PromQL>``: an instant query of a
  gauge in bytes (e.g. ``process_resident_memory_bytes{job="api"}``, summed when it
  returns several series) every :data:`RSS_QUERY_INTERVAL_S`; the seconds in between
  have no RSS (NaN), since Prometheus would only repeat its last scrape. Used for a
  target on another machine, or when the pid is unknown. A pid's RSS wins when both
  are given.

A target that dies, or a Prometheus that stops answering mid-run, turns the figures into
NaN (noted in the summary); it never stops the run.
"""

from __future__ import annotations

import json
import math
import time
import urllib.error
import urllib.request
from urllib.parse import urlencode

import psutil

from capplan.errors import LoadTestError
from capplan.loadtest.recorder import ProcessSample

RSS_QUERY_INTERVAL_S = 2.0
"""Seconds between two Prometheus RSS queries."""

_QUERY_TIMEOUT_S = 2.0


class PrometheusRss:
    """Instant queries of a memory gauge (bytes) on a Prometheus server."""

    def __init__(self, source_url: str) -> None:
        from capplan.store.prometheus import parse_prometheus_url

        source = parse_prometheus_url(source_url)
        self.base_url, self.query = source.base_url, source.query
        self.failures = 0

    def query_mb(self) -> float:
        """The gauge's current value in MB (1e6 bytes); LoadTestError when it cannot be read."""
        address = f"{self.base_url}/api/v1/query?{urlencode({'query': self.query})}"
        try:
            with urllib.request.urlopen(address, timeout=_QUERY_TIMEOUT_S) as response:  # noqa: S310 - http only
                payload = json.load(response)
            result = payload["data"]["result"]
            if not result:
                raise ValueError("the query returned no series")
            return sum(float(series["value"][1]) for series in result) / 1e6
        except (urllib.error.URLError, OSError, ValueError, KeyError, TypeError) as exc:
            raise LoadTestError(f"target memory query failed, {self.query!r} at {self.base_url} ({exc}), "
                                "check --target-rss-query (a gauge in bytes) and that Prometheus is up") from exc


class TargetMonitor:
    """CPU % and RSS of the target from its pid and/or a Prometheus query (module docstring)."""

    def __init__(self, pid: int | None, rss_query: str | None = None) -> None:
        self.proc: psutil.Process | None = None
        if pid is not None:
            try:
                self.proc = psutil.Process(pid)
                self.proc.cpu_percent(None)
            except psutil.Error as exc:
                raise LoadTestError(f"target process not found, --target-pid {pid} ({exc}), "
                                    "pass the pid of the running service") from exc
        self.prometheus = PrometheusRss(rss_query) if rss_query else None
        self._next_query_s = 0.0
        if self.prometheus is not None:
            self.prometheus.query_mb()  # fail before the test starts, not silently during it

    @property
    def notes(self) -> list[str]:
        """Problems met while monitoring, for the run summary."""
        if self.prometheus is None or not self.prometheus.failures:
            return []
        return [f"{self.prometheus.failures} target memory queries to Prometheus failed (RSS unknown there)"]

    def sample(self) -> ProcessSample:
        """This second's figures (NaN where unknown)."""
        cpu, rss = math.nan, math.nan
        if self.proc is not None:
            try:
                cpu, rss = self.proc.cpu_percent(None), self.proc.memory_info().rss / 1e6
            except psutil.Error:
                self.proc = None  # the target died: its figures are unknown from now on
        if self.prometheus is not None and math.isnan(rss) and time.monotonic() >= self._next_query_s:
            self._next_query_s = time.monotonic() + RSS_QUERY_INTERVAL_S
            try:
                rss = self.prometheus.query_mb()
            except LoadTestError:
                self.prometheus.failures += 1
        return ProcessSample(cpu, rss)
