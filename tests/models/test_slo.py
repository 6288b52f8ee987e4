import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from capplan.errors import ConfigError
from capplan.models.slo import evaluate_slos, parse_slo, parse_slos


def test_latency_slo_is_normalised_to_milliseconds():
    assert parse_slo("p95<300ms").threshold_ms == 300
    assert parse_slo("p99.9 <= 1.5s").threshold_ms == 1500
    assert parse_slo("max<250us").threshold_ms == pytest.approx(0.25)


def test_error_rate_slo_accepts_percent_or_fraction():
    assert parse_slo("error_rate<0.5%").threshold == pytest.approx(0.005)
    assert parse_slo("error_rate<0.005").threshold == pytest.approx(0.005)


@pytest.mark.parametrize("text", ["p95<300 ms", "p95<300", "p95>300ms", "latency<3ms", "", "p100<1ms",
                                  "error_rate<150%", "p95<300 mss"])
def test_malformed_slo_is_a_config_error_with_a_fix(text):
    with pytest.raises(ConfigError) as info:
        parse_slo(text)
    assert "p95<300ms" in str(info.value) or "error_rate" in str(info.value) or "p95" in str(info.value)
    assert ConfigError.exit_code == 2


def test_evaluate_slos_reports_each_objective():
    slos = parse_slos(["p95<300ms", "error_rate<1%"])
    results = evaluate_slos(slos, {"p95": 310.0, "error_rate": 0.001})
    assert [r.met for r in results] == [False, True]


def test_strict_and_inclusive_operators_differ_at_the_threshold():
    assert not parse_slo("p95<300ms").is_met_by(300)
    assert parse_slo("p95<=300ms").is_met_by(300)


def test_nan_observation_never_meets_an_slo():
    assert not parse_slo("p95<300ms").is_met_by(math.nan)


def test_unmeasured_metric_is_a_config_error():
    with pytest.raises(ConfigError, match="p99.9"):
        evaluate_slos(parse_slos(["p99.9<1s"]), {"p95": 1.0})


def test_percentile_keys_match_numerically():
    (result,) = evaluate_slos(parse_slos(["p99.90<1s"]), {"p99.9": 900.0})
    assert result.met


@given(threshold=st.floats(0.01, 1e5), observed=st.floats(0, 2e5))
def test_a_lower_observation_never_turns_a_met_slo_into_a_breach(threshold, observed):
    slo = parse_slo(f"p95<{threshold:.3f}ms")
    if slo.is_met_by(observed):
        assert slo.is_met_by(observed * 0.5)
