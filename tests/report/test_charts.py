"""Report charts: drift slopes and figure contents."""

from __future__ import annotations

import json
from datetime import date

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from capplan.report.charts import chart_spec, instances_figure, linear_drift, soak_figure


@given(st.floats(-100, 100), st.floats(-1e3, 1e3))
def test_linear_drift_recovers_an_exact_line_slope_per_hour(slope_per_h, intercept):
    t = np.arange(0, 7200, 10.0)
    drift = linear_drift(t, intercept + slope_per_h * t / 3600.0)
    assert abs(drift.slope_per_h - slope_per_h) < 1e-6 * (1 + abs(slope_per_h) + abs(intercept))


def test_linear_drift_needs_three_finite_points():
    assert linear_drift([0, 1, 2], [1.0, float("nan"), 2.0]) is None


def test_soak_figure_labels_the_trend_with_its_slope():
    t = np.arange(0, 3600, 1.0)
    names = [tr.name for tr in soak_figure(t, 10 + 2 * t / 3600, 100 + 5 * t / 3600).data]
    assert "p95 trend (+2.00 ms/h)" in names and "RSS trend (+5.00 MB/h)" in names


def test_soak_figure_leaves_out_memory_when_unknown():
    t = np.arange(0, 60, 1.0)
    names = [tr.name for tr in soak_figure(t, 10 + 0 * t, np.full(60, np.nan)).data]
    assert not any("RSS" in n for n in names)


def test_instances_chart_spec_is_plotly_json_for_its_section():
    fig = instances_figure([date(2027, 1, 1), date(2027, 2, 1)], [3, 4], [4, 5], 3, date(2027, 1, 20))
    spec = chart_spec("instances", "Instances", fig)
    assert spec.section == "instances" and len(json.loads(spec.figure_json)["data"]) == 2
