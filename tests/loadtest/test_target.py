"""The demo target: capacity C/S, exponential service, contention, errors, leak, loopback only."""

from __future__ import annotations

import http.client
import random
import shutil
import statistics
import subprocess
import time

import psutil
import pytest
from hypothesis import given
from hypothesis import strategies as st

from capplan.errors import ConfigError
from capplan.loadtest.target import TargetSettings, start_target
from capplan.loadtest.wrk import measure_with_wrk


def _get(conn: http.client.HTTPConnection, path: str = "/") -> tuple[int, bytes]:
    conn.request("GET", path)
    response = conn.getresponse()
    return response.status, response.read()


def _metric(url: str, name: str) -> float:
    host, port = url.split("//")[1].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=5)
    _, body = _get(conn, "/metrics")
    conn.close()
    for line in body.decode().splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not in /metrics")


def _connect(url: str) -> http.client.HTTPConnection:
    host, port = url.split("//")[1].split(":")
    return http.client.HTTPConnection(host, int(port), timeout=10)


def test_start_target_returns_when_it_accepts_connections_on_a_free_port():
    with start_target(TargetSettings(port=0)) as target:
        assert target.url.startswith("http://127.0.0.1:") and target.port > 0
        status, body = _get(_connect(target.url), "/health")
        assert (status, body) == (200, b"ok\n")
    assert not target.is_alive()


def test_keep_alive_connection_serves_many_requests():
    with start_target(TargetSettings(port=0, slots=2, service_ms=1)) as target:
        conn = _connect(target.url)
        statuses = [_get(conn)[0] for _ in range(50)]
        assert statuses == [200] * 50
        assert _metric(target.url, 'requests_total{code="200"}') == 50


def _round_trip_ms() -> float:
    """This machine's loopback HTTP round trip to the target with (almost) no service time.

    The timing tests below allow the target 1 ms of its own overhead on top of this, so a VM
    whose scheduler adds a millisecond to every wake-up (seen on 2026-12-01: 2 ms, on the
    unchanged code of the previous release too) is not mistaken for a stretched service time.
    """
    with start_target(TargetSettings(port=0, slots=1, service_ms=0.01, distribution="constant")) as target:
        return statistics.median(_latencies_ms(target.url, 100))


def _latencies_ms(url: str, count: int) -> list[float]:
    """``count`` sequential GETs on one keep-alive connection, each timed from send to full answer."""
    conn = _connect(url)
    samples_ms = []
    for _ in range(count):
        start = time.perf_counter()
        _get(conn)
        samples_ms.append((time.perf_counter() - start) * 1000)
    return samples_ms


def test_service_time_is_exponential_with_the_configured_mean():
    """One client, one slot, seeded: each latency is its own exponential draw plus a small overhead.

    The target draws ``Random(seed).expovariate(1 / S)`` per request in arrival order, so
    the draws are known here; pairing them with the measured latencies checks both the
    distribution and that no request is served early or stretched by timer jitter (a
    looser mean-only bound would depend on how busy the machine is).
    """
    rtt_ms = _round_trip_ms()
    rng = random.Random(7)
    drawn_ms = [rng.expovariate(1 / 0.004) * 1000 for _ in range(400)]
    with start_target(TargetSettings(port=0, slots=1, service_ms=4, seed=7)) as target:
        samples_ms = _latencies_ms(target.url, 400)
    overhead_ms = [m - d for m, d in zip(samples_ms, drawn_ms)]
    assert min(overhead_ms) > -0.05  # never served before its drawn service time
    assert statistics.median(overhead_ms) < rtt_ms + 1.0
    assert sum(o < rtt_ms + 1.5 for o in overhead_ms) >= 0.75 * len(overhead_ms)  # a wrong draw is off by ~4 ms
    assert 3.6 < statistics.fmean(drawn_ms) < 4.4 and 0.9 < statistics.stdev(drawn_ms) / statistics.fmean(drawn_ms) < 1.1


@pytest.mark.flaky(reruns=2, reruns_delay=1)  # real timing on 2 shared cores: one median of 6.35 ms on a fresh
# clone of 2026-12-02 beside a busy suite, as the real-load tests are retried (tests/conftest.py)
def test_constant_service_time_is_accurate_to_within_a_millisecond_of_the_round_trip():
    rtt_ms = _round_trip_ms()
    with start_target(TargetSettings(port=0, slots=1, service_ms=5, distribution="constant")) as target:
        samples_ms = _latencies_ms(target.url, 100)
    # the same tolerance as the exponential test above: median overhead within 1 ms of the round trip (the precise
    # timer woke 0.96 ms late on the fresh 2-core VM of 2026-12-03: medians 6.27 and 6.37 ms, round trips 0.31, 0.41)
    assert 5.0 <= statistics.median(samples_ms) < 5.0 + 1.0 + rtt_ms


@pytest.mark.slow
def test_max_throughput_measured_with_wrk_is_close_to_slots_over_service_time():
    settings = TargetSettings(port=0, slots=4, service_ms=10)
    with start_target(settings) as target:
        result = measure_with_wrk(target.url, connections=64, duration_s=5)
    assert result.errors == 0
    assert result.requests_per_s == pytest.approx(settings.capacity_rps, rel=0.05)


@pytest.mark.slow
def test_strong_contention_makes_throughput_fall_past_the_peak():
    """X(n) = (n/S)/(1 + σ(n-1) + κn(n-1)): with σ=0.1, κ=0.05, S=10 ms, X(4)=210, X(16)=110 rps."""
    settings = TargetSettings(port=0, slots=16, service_ms=10, sigma=0.1, kappa=0.05, distribution="constant")
    with start_target(settings) as target:
        at_peak = measure_with_wrk(target.url, connections=4, duration_s=2)
        past_peak = measure_with_wrk(target.url, connections=64, duration_s=2)
    assert at_peak.requests_per_s == pytest.approx(4 / 0.010 / 1.9, rel=0.1)
    assert past_peak.requests_per_s == pytest.approx(16 / 0.010 / 14.5, rel=0.1)
    assert past_peak.requests_per_s < 0.6 * at_peak.requests_per_s


def test_error_rate_knob_answers_that_fraction_with_http_500():
    with start_target(TargetSettings(port=0, slots=8, service_ms=0.2, error_rate=0.25, seed=3)) as target:
        conn = _connect(target.url)
        statuses = [_get(conn)[0] for _ in range(800)]
        served_500 = _metric(target.url, 'requests_total{code="500"}')
    failures = statuses.count(500)
    assert set(statuses) == {200, 500}
    assert failures == served_500
    assert abs(failures / 800 - 0.25) < 4 * (0.25 * 0.75 / 800) ** 0.5


def test_leak_knob_grows_resident_memory_by_the_configured_rate():
    with start_target(TargetSettings(port=0, leak_mb_per_min=900)) as target:  # 15 MB/s, in 1 s ticks
        process = psutil.Process(target.pid)
        rss_before = process.memory_info().rss
        time.sleep(3.5)
        grown_mb = (process.memory_info().rss - rss_before) / 2**20
        reported = _metric(target.url, "process_resident_memory_bytes")
    assert 40 <= grown_mb <= 70  # 3 or 4 ticks of 15 MB in 3.5 s
    assert reported >= rss_before + 40 * 2**20


def test_metrics_are_prometheus_text_with_busy_slots_and_rss():
    with start_target(TargetSettings(port=0, slots=3)) as target:
        assert _metric(target.url, "slots") == 3
        assert _metric(target.url, "busy_slots") == 0
        assert _metric(target.url, "process_resident_memory_bytes") > 1e6


def test_metrics_pass_promtool_check():
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool not installed (Debian package prometheus; present in CI)")
    with start_target(TargetSettings(port=0, error_rate=0.5, seed=2)) as target:
        conn = _connect(target.url)
        for _ in range(10):
            _get(conn)
        _, body = _get(conn, "/metrics")
    checked = subprocess.run([promtool, "check", "metrics"], input=body, capture_output=True, timeout=30)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert b'requests_total{code="500"}' in body


def test_kill_stops_the_target_at_once():
    target = start_target(TargetSettings(port=0))
    target.kill()
    assert not target.is_alive()
    with pytest.raises(OSError):
        _get(_connect(target.url), "/health")


@pytest.mark.parametrize("host", ["0.0.0.0", "10.1.2.3", "example.com", "::"])
def test_non_loopback_bind_address_is_refused(host):
    with pytest.raises(ConfigError, match="not loopback"):
        TargetSettings(host=host)


def test_non_loopback_bind_address_is_accepted_when_explicitly_allowed():
    assert TargetSettings(host="0.0.0.0", allow_non_loopback=True).host == "0.0.0.0"


@given(
    slots=st.integers(1, 1000),
    service_ms=st.floats(0.01, 10_000),
    sigma=st.floats(0, 1),
    kappa=st.floats(0, 1),
)
def test_capacity_is_slots_over_service_time_and_contention_never_speeds_up(slots, service_ms, sigma, kappa):
    settings = TargetSettings(slots=slots, service_ms=service_ms, sigma=sigma, kappa=kappa)
    assert settings.capacity_rps == pytest.approx(slots / (service_ms / 1000))
    factors = [settings.contention_factor(n) for n in range(1, 20)]
    assert factors[0] == 1.0
    assert factors == sorted(factors)


@pytest.mark.parametrize(
    ("field", "value"),
    [("slots", 0), ("service_ms", 0.0), ("service_ms", float("nan")), ("sigma", -0.1), ("error_rate", 1.5),
     ("leak_mb_per_min", -1.0), ("port", 70000), ("distribution", "pareto")],
)
def test_invalid_settings_raise_one_config_error_naming_the_value(field, value):
    with pytest.raises(ConfigError) as info:
        TargetSettings(**{field: value})
    assert repr(value) in str(info.value)


def test_a_malformed_request_gets_400_and_the_server_keeps_serving():
    import socket

    with start_target(TargetSettings(port=0)) as target:
        with socket.create_connection(("127.0.0.1", target.port), timeout=5) as raw:
            raw.sendall(b"POST / HTTP/1.1\r\nContent-Length: lots\r\n\r\n")
            assert raw.recv(1024).startswith(b"HTTP/1.1 400")
        assert _get(_connect(target.url), "/health")[0] == 200


def test_a_busy_port_is_one_load_test_error_from_start_target():
    import socket

    from capplan.errors import LoadTestError

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(LoadTestError, match=f"could not listen on 127.0.0.1:{port}"):
            start_target(TargetSettings(port=port))
