"""Instance-type what-if: vCPU scaling, planning each shape to the target, the recommendation."""

from __future__ import annotations

import numpy as np
import pytest

from capplan.errors import ModelError
from capplan.models.capacity import DemandSeries, Redundancy
from capplan.models.instance_types import ShapeSpec, compare_shapes, scaled_by_vcpus
from capplan.models.risk import CapacityInterval, RiskSettings, sample_demand_paths

D = np.datetime64
DAYS = np.arange(D("2027-01-01", "D"), D("2027-01-01", "D") + 90)
PATHS = sample_demand_paths(DemandSeries(DAYS, np.full(90, 1000.0), np.full(90, 1200.0)), RiskSettings(paths=500))
POLICY = (Redundancy(spares=1), 2, 0.01)
HOURS = np.full(90, 24.0)
MEASURED = CapacityInterval(300.0, 260.0, 340.0)


def test_capacity_scaled_by_vcpus_doubles_with_twice_the_cores():
    scaled = scaled_by_vcpus(MEASURED, 2, 4)
    assert (scaled.max_rps, scaled.lower_rps, scaled.upper_rps) == (600.0, 520.0, 680.0)
    with pytest.raises(ModelError, match="vcpus"):
        scaled_by_vcpus(MEASURED, 0, 4)


def test_zero_width_shapes_are_costed_by_hand():
    """Demand 1000 req/s exactly: 300 req/s → 4 + 1 = 5 instances; 600 req/s → 2 + 1 = 3.

    5 × 0.10 = 0.50 vs 3 × 0.15 = 0.45 USD/h: large is 10 % cheaper; per safe req/s 0.15/480 vs 0.10/240 (25 %).
    """
    flat = sample_demand_paths(DemandSeries(DAYS, np.full(90, 1000.0), np.full(90, 1000.0)), RiskSettings(paths=20))
    shapes = (ShapeSpec("small", 0.10, CapacityInterval.exact(300.0), "explicit"),
              ShapeSpec("large", 0.15, CapacityInterval.exact(600.0), "explicit"))
    result = compare_shapes(flat, shapes, POLICY, HOURS, current="small")
    by_name = {o.name: o for o in result.outcomes}
    assert by_name["small"].peak_instances == 5 and by_name["small"].cost == pytest.approx(5 * 0.10 * 24 * 90)
    assert by_name["large"].peak_instances == 3 and by_name["large"].cost == pytest.approx(3 * 0.15 * 24 * 90)
    assert result.recommended == "large"
    assert result.reason.startswith("large: 10% cheaper than small")


def test_the_cheapest_shape_meeting_the_target_is_recommended_with_its_assumption():
    shapes = (ShapeSpec("m6i.large", 0.096, MEASURED, "measured"),
              ShapeSpec("c6i.large", 0.085, scaled_by_vcpus(MEASURED, 2, 2), "scaled by vCPUs",
                        "estimated from m6i.large by vCPUs (2/2), not measured"),
              ShapeSpec("m6i.xlarge", 0.192, scaled_by_vcpus(MEASURED, 2, 4), "scaled by vCPUs",
                        "estimated from m6i.large by vCPUs (4/2), not measured"))
    result = compare_shapes(PATHS, shapes, POLICY, HOURS, current="m6i.large")
    assert all(o.meets_target and o.max_breach_probability <= 0.01 for o in result.outcomes)
    assert [o.cost for o in result.outcomes] == sorted(o.cost for o in result.outcomes)
    assert result.recommended == result.outcomes[0].name == "c6i.large"
    assert "11% cheaper per safe req/s" in result.reason and "not measured" in result.reason


def test_no_shapes_is_refused():
    with pytest.raises(ModelError, match="at least one priced shape"):
        compare_shapes(PATHS, (), POLICY, HOURS, current="m6i.large")
