"""The wrk baseline: parsing wrk's report, loopback only, clear errors."""

from __future__ import annotations

import pytest

from capplan.errors import ConfigError, LoadTestError
from capplan.loadtest.target import TargetSettings, start_target
from capplan.loadtest.wrk import measure_with_wrk, parse_wrk_output

# The sample run printed in wrk's README (github.com/wg/wrk).
WRK_README_SAMPLE = """\
Running 30s test @ http://127.0.0.1:8080/index.html
  12 threads and 400 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   635.91us    0.89ms  12.92ms   93.69%
    Req/Sec    56.20k     8.07k   62.00k    86.54%
  22464657 requests in 30.00s, 17.76GB read
Requests/sec: 748868.53
Transfer/sec:    606.33MB
"""


def test_parses_the_wrk_readme_sample():
    result = parse_wrk_output(WRK_README_SAMPLE)
    assert result.requests_per_s == 748868.53
    assert result.requests == 22464657
    assert result.duration_s == 30.0
    assert result.latency_mean_ms == pytest.approx(0.63591)
    assert result.errors == 0
    assert result.latency_ms == {}


def test_parses_latency_distribution_and_errors_in_mixed_units():
    text = WRK_README_SAMPLE.replace(
        "  22464657 requests",
        "  Latency Distribution\n     50%  512.00us\n     75%    1.50ms\n     90%    2.00s\n     99%    1.10m\n"
        "  22464657 requests",
    ).replace("Requests/sec", "  Socket errors: connect 1, read 2, write 3, timeout 4\n"
                              "  Non-2xx or 3xx responses: 10\nRequests/sec")
    result = parse_wrk_output(text)
    assert result.latency_ms == {50.0: 0.512, 75.0: 1.5, 90.0: 2000.0, 99.0: 66000.0}
    assert result.non_2xx == 10
    assert result.errors == 20


def test_unparseable_output_is_a_load_test_error():
    with pytest.raises(LoadTestError, match="could not be parsed"):
        parse_wrk_output("segmentation fault")


@pytest.mark.parametrize("url", ["http://10.0.0.5:8080/", "http://example.com/", "http://[2001:db8::1]/"])
def test_non_loopback_urls_are_refused_before_any_traffic(url):
    with pytest.raises(ConfigError, match="loopback"):
        measure_with_wrk(url, duration_s=1)


def test_missing_wrk_binary_says_how_to_install_it(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(LoadTestError, match="apt-get install wrk"):
        measure_with_wrk("http://127.0.0.1:9/", duration_s=1)


def test_unreachable_target_is_a_load_test_error():
    target = start_target(TargetSettings(port=0))
    url = target.url
    target.kill()  # the port is now closed
    with pytest.raises(LoadTestError, match="wrk failed"):
        measure_with_wrk(url, connections=2, duration_s=1)


def test_real_run_reports_consistent_rate_and_500s_as_errors():
    with start_target(TargetSettings(port=0, slots=8, service_ms=1, error_rate=0.5, seed=1)) as target:
        result = measure_with_wrk(target.url, connections=8, duration_s=1)
    assert result.requests_per_s == pytest.approx(result.requests / result.duration_s, rel=0.02)
    assert 0.4 < result.non_2xx / result.requests < 0.6
    assert set(result.latency_ms) == {50.0, 75.0, 90.0, 99.0}
