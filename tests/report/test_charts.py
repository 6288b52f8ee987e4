"""Report charts: drift slopes and figure contents."""

from __future__ import annotations

import json
from datetime import date

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from capplan.models.drift import trend
from capplan.report.charts import chart_spec, instances_figure, soak_figure


@settings(deadline=None, max_examples=25)
@given(st.floats(-100, 100), st.floats(-1e3, 1e3))
def test_the_soak_trend_line_is_the_stored_theil_sen_line(slope_per_h, intercept):
    t = np.arange(0, 7200, 60.0)
    p95 = intercept + slope_per_h * t / 3600.0
    stored = trend(t, p95)
    (line,) = [tr for tr in soak_figure(t, p95, None, stored).data if tr.name.startswith("p95 trend")]
    assert np.allclose(line.y, [p95[0], p95[-1]], atol=1e-6 * (1 + abs(slope_per_h) + abs(intercept)))


def test_no_stored_trend_draws_no_trend_line():
    t = np.arange(0, 60, 1.0)
    assert [tr.name for tr in soak_figure(t, 10 + t, 100 + t).data] == ["p95 latency (ms)", "target RSS (MB)"]


def test_soak_figure_labels_the_trend_with_its_slope():
    t = np.arange(0, 3600, 1.0)
    p95, rss = 10 + 2 * t / 3600, 100 + 5 * t / 3600
    names = [tr.name for tr in soak_figure(t, p95, rss, trend(t, p95), trend(t, rss)).data]
    assert any(n.startswith("p95 trend (+2 ms/h") for n in names)
    assert any(n.startswith("RSS trend (+5 MB/h") for n in names)


def test_a_flat_memory_axis_is_formatted_and_not_zoomed_into_rounding_noise():
    t = np.arange(0, 60, 1.0)
    layout = soak_figure(t, 10 + 0 * t, np.full(60, 22.224895999999994)).layout
    assert layout.yaxis2.tickformat == ",.1f" and layout.yaxis.tickformat == ",.1f"
    assert layout.yaxis2.range[1] - layout.yaxis2.range[0] >= 2.0


def test_soak_figure_leaves_out_memory_when_unknown():
    t = np.arange(0, 60, 1.0)
    names = [tr.name for tr in soak_figure(t, 10 + 0 * t, np.full(60, np.nan)).data]
    assert not any("RSS" in n for n in names)


def test_instances_chart_spec_is_plotly_json_for_its_section():
    fig = instances_figure([date(2027, 1, 1), date(2027, 2, 1)], [3, 4], [4, 5], 3, date(2027, 1, 20))
    spec = chart_spec("instances", "Instances", fig)
    assert spec.section == "instances" and len(json.loads(spec.figure_json)["data"]) == 2
