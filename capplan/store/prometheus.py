"""Read a traffic series from a Prometheus server's HTTP API (``/api/v1/query_range``).

Source syntax: ``prometheus://host:port?query=<PromQL>[&step=5m][&start=…][&end=…]``.
``start``/``end`` are ISO-8601 dates/times or Unix seconds (default: the last 730 days up
to now); ``step`` is a Prometheus duration (default ``5m``). Prometheus refuses a range
query that would return more than 11,000 points per series, so the range is split into
chunks of at most :data:`MAX_POINTS_PER_REQUEST` steps and the answers are concatenated.
The query must return one series: aggregate on the server (``sum(rate(...[5m]))``).
"""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from urllib.parse import unquote, urlencode, urlsplit

import pandas as pd

from capplan.errors import ConfigError, InputDataError

PROMETHEUS_POINT_LIMIT = 11_000
MAX_POINTS_PER_REQUEST = 10_000
"""Stay clear of the 11,000 limit: a chunk spans (MAX_POINTS_PER_REQUEST − 1) steps."""
DEFAULT_LOOKBACK_S = 730 * 86_400
REQUEST_TIMEOUT_S = 30.0
_STEP = re.compile(r"^(\d+)(s|m|h|d)$")
_STEP_S = {"s": 1, "m": 60, "h": 3_600, "d": 86_400}


@dataclass(frozen=True)
class PrometheusSource:
    """A parsed ``prometheus://`` source: base URL, PromQL query, range [start_s, end_s], step_s."""

    base_url: str
    query: str
    start_s: float
    end_s: float
    step_s: int


def parse_prometheus_url(url: str, now_s: float | None = None) -> PrometheusSource:
    """Parse ``prometheus://host:port?query=…&step=…&start=…&end=…`` (query not form-decoded: ``+`` stays)."""
    parts = urlsplit(url)
    if parts.scheme != "prometheus" or not parts.hostname:
        raise ConfigError(f"Prometheus source must look like prometheus://host:9090?query=..., got {url!r}: "
                          "add host, port and a query")
    params = dict(p.split("=", 1) for p in parts.query.split("&") if "=" in p)
    query = unquote(params.get("query", ""))
    if not query:
        raise ConfigError(f"Prometheus source has no query, {url!r}: add ?query=sum(rate(http_requests_total[5m]))")
    end_s = _instant(params.get("end"), now_s if now_s is not None else time.time())
    start_s = _instant(params.get("start"), end_s - DEFAULT_LOOKBACK_S)
    if start_s >= end_s:
        raise ConfigError(f"Prometheus start must be before end, got start={params.get('start')!r}: fix the range")
    step_s = _step(unquote(params.get("step", "5m")))
    port = f":{parts.port}" if parts.port else ":9090"
    return PrometheusSource(f"http://{parts.hostname}{port}", query, start_s, end_s, step_s)


def chunk_ranges(start_s: float, end_s: float, step_s: int) -> list[tuple[float, float]]:
    """[start, end] split so that no chunk holds more than MAX_POINTS_PER_REQUEST samples."""
    span = (MAX_POINTS_PER_REQUEST - 1) * step_s
    chunks, begin = [], start_s
    while True:
        stop = min(begin + span, end_s)
        if end_s - stop < step_s:
            stop = end_s  # less than one step left: no further sample fits, so this chunk ends the range
        chunks.append((begin, stop))
        if stop >= end_s:
            return chunks
        begin = stop + step_s


def fetch_prometheus(url: str) -> pd.DataFrame:
    """The query's samples as a frame indexed by naive UTC time with one column ``value``."""
    source = parse_prometheus_url(url)
    times: list[float] = []
    values: list[float] = []
    for begin, stop in chunk_ranges(source.start_s, source.end_s, source.step_s):
        for stamp, value in _query_range(source, begin, stop):
            times.append(float(stamp))
            values.append(float(value))
    if not times:
        raise InputDataError(f"Prometheus returned no samples for {source.query!r} in the range asked: "
                             "check the query in the Prometheus UI, or widen start/end")
    index = pd.to_datetime(pd.Series(times), unit="s")
    frame = pd.DataFrame({"value": values}, index=pd.DatetimeIndex(index))
    return frame[~frame.index.duplicated()]


def _query_range(source: PrometheusSource, start_s: float, end_s: float) -> list[list]:
    query = urlencode({"query": source.query, "start": f"{start_s:.3f}", "end": f"{end_s:.3f}",
                       "step": f"{source.step_s}s"})
    address = f"{source.base_url}/api/v1/query_range?{query}"
    try:
        with urllib.request.urlopen(address, timeout=REQUEST_TIMEOUT_S) as response:  # noqa: S310 - http only
            payload = json.load(response)
    except urllib.error.HTTPError as exc:
        detail = _error_text(exc)
        raise InputDataError(f"Prometheus refused the query {source.query!r} ({detail}): fix the PromQL") from exc
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise InputDataError(f"Prometheus at {source.base_url} could not be read ({exc}): "
                             "check host, port and that the server is up") from exc
    result = payload.get("data", {}).get("result", [])
    if len(result) > 1:
        raise InputDataError(f"Prometheus query {source.query!r} returned {len(result)} series: "
                             "aggregate to one, e.g. sum(rate(http_requests_total[5m]))")
    return result[0]["values"] if result else []


def _error_text(exc: urllib.error.HTTPError) -> str:
    try:
        return json.load(exc).get("error", str(exc))
    except (ValueError, OSError):
        return str(exc)


def _instant(text: str | None, default: float) -> float:
    if text is None:
        return float(default)
    text = unquote(text)
    try:
        return float(text)
    except ValueError:
        pass
    try:
        stamp = pd.Timestamp(text)
    except ValueError as exc:
        raise ConfigError(f"Prometheus start/end is not a time, {text!r}: write 2025-01-31 or Unix seconds") from exc
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp
    return stamp.timestamp()


def _step(text: str) -> int:
    match = _STEP.match(text)
    if match is None:
        raise ConfigError(f"Prometheus step must be a duration like 5m, got {text!r}: write e.g. step=60s or step=5m")
    return int(match[1]) * _STEP_S[match[2]]
