"""The review's risk check: predicted monthly risk beside what the actual peaks did."""

from __future__ import annotations

from datetime import date

import pytest

from capplan.models.risk_review import RiskSnapshotMonth, brier_score, risk_checks

MONTHS = (RiskSnapshotMonth("2027-01", 6, 0.02, 0.30, 1500.0, 960.0),
          RiskSnapshotMonth("2027-02", 6, 0.10, 0.60, 1500.0, 960.0),
          RiskSnapshotMonth("2027-03", 7, 0.01, 0.20, 1800.0, 1152.0))


def test_each_month_with_actuals_says_whether_its_peak_breached_or_crossed():
    actual = {date(2027, 1, 5): 900.0, date(2027, 1, 20): 1000.0, date(2027, 2, 3): 1600.0}
    checks = risk_checks(MONTHS, actual)
    assert [(c.month, c.days, c.actual_peak_rps, c.breached, c.crossed) for c in checks] == [
        ("2027-01", 2, 1000.0, False, True), ("2027-02", 1, 1600.0, True, True)]  # March has no actuals yet


def test_brier_score_hand_computed():
    """(0.02 − 0)² and (0.10 − 1)²: mean (0.0004 + 0.81) / 2 = 0.4052."""
    checks = risk_checks(MONTHS, {date(2027, 1, 5): 900.0, date(2027, 2, 3): 1600.0})
    assert brier_score(checks) == pytest.approx(0.4052)
    assert brier_score(()) is None
