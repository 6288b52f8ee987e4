"""Choosing the forecast by evidence: rolling-origin MASE, and a combination where it cannot separate.

The candidates' held-out forecasts from one backtest (capplan.models.backtest) decide:

1. a candidate is judged on the folds it is fair on: a yearly naive forecast needs a year of
   training, and a fold that trains on less scores it as the weekly naive it falls back to; so
   when yearly candidates are offered every candidate is judged on the folds that train on a
   full year, where at least two do (:func:`judged_positions`);
2. the candidate with the lowest MASE wins alone when every other one is more than :data:`BAND`
   worse; else the forecast is ``combo``, the equal-weight mean of every candidate within
   :data:`BAND` of it. A handful of folds cannot separate candidates a few per cent apart, and
   the M4 competition's lesson is that a simple combination of such candidates beats a choice
   among them (Makridakis et al. 2020). Preferring the simplest one inside the band was
   measured too, and lost: benchmarks/README.md, 2026-12-08.

The winner's own fold errors are the smallest by selection (the winner's curse), so an
interval calibrated on them is too narrow for the next forecast. :func:`selection_folds` gives
the errors of the whole procedure instead: each fold forecast by what the same rule chooses
from the *other* folds (cross-validating the selection, as Varma & Simon, BMC Bioinformatics 7,
2006, do for a classifier's error; the held-out fold then judges the choice it did not make).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from capplan.models.backtest import BacktestResult, FoldForecast, ModelScore, score_folds

BAND = 0.10
"""Candidates whose backtest MASE is within this share of the lowest are averaged with equal weights."""
COMBINATION = "combo"
MIN_JUDGED_FOLDS = 2
"""Fewer folds that train on a full year than this, and every fold judges."""
SIMPLICITY = ("seasonal_naive", "seasonal_median", "seasonal_naive_yearly", "yearly_scaled", "theta", "ets",
              "holt_winters", "linear_trend", "mstl", "prophet", COMBINATION)
"""Candidates from simplest to most complex: equal scores go to the simpler one."""


@dataclass(frozen=True)
class Selection:
    """What was chosen and why: ``model`` (a candidate or ``combo``), its ``weights``
    (member → weight; the single model → 1.0), the ``scores`` that decided (each candidate's on
    the judged folds, and ``combo``'s when chosen), a ``reason`` and the number of ``folds`` judged."""

    model: str
    weights: tuple[tuple[str, float], ...]
    scores: tuple[ModelScore, ...]
    reason: str
    folds: int


def judged_positions(result: BacktestResult, min_train_days: int = 0) -> list[int]:
    """Positions of the folds that train on at least ``min_train_days``; every fold when fewer than
    :data:`MIN_JUDGED_FOLDS` do."""
    count = len(result.origins)
    keep = [k for k in range(count) if all(items[k].train_days >= min_train_days for items in result.folds.values())]
    return keep if len(keep) >= MIN_JUDGED_FOLDS else list(range(count))


def with_combination(result: BacktestResult, members: tuple[str, ...]) -> BacktestResult:
    """``result`` plus the ``combo`` candidate: the equal-weight mean of ``members``' fold forecasts,
    scored on the same held-out days."""
    folds = tuple(_mean_fold([result.folds[m][k] for m in members]) for k in range(len(result.origins)))
    score = score_folds(COMBINATION, folds, result.interval)
    return BacktestResult(result.horizon_days, result.interval, result.origins, (*result.scores, score),
                          {**result.folds, COMBINATION: folds})


def select(result: BacktestResult, min_train_days: int = 0) -> Selection:
    """The chosen candidate of the single candidates' ``result`` (see module docstring), judged on
    the folds that train on ``min_train_days`` or more (:func:`judged_positions`)."""
    return _choose(result, judged_positions(result, min_train_days), min_train_days)


def selection_folds(result: BacktestResult, min_train_days: int = 0) -> tuple[FoldForecast, ...]:
    """The folds of "backtest, choose, forecast": fold k forecast by what :func:`select` chooses
    from the other folds of ``result`` (the single candidates' backtest): from the other judged
    folds, or every other fold when fold k is the only one judged. With one fold there is nothing
    else to choose from: the choice's own fold."""
    count = len(result.origins)
    positions = judged_positions(result, min_train_days)
    if count < 2:
        chosen = _choose(result, positions, min_train_days)
        return tuple(_weighted_fold(result, chosen.weights, k) for k in range(count))
    folds = []
    for k in range(count):
        others = [j for j in positions if j != k] or [j for j in range(count) if j != k]
        folds.append(_weighted_fold(result, _choose(result, others, min_train_days).weights, k))
    return tuple(folds)


def _choose(result: BacktestResult, positions: list[int], min_train_days: int) -> Selection:
    """The rule of the module docstring on the folds of ``result`` at ``positions``."""
    fair = result if len(positions) == len(result.origins) else _restricted(result, positions)
    finite = sorted((s for s in fair.scores if np.isfinite(s.mase)), key=lambda s: (s.mase, _rank(s.model)))
    if not finite:
        first = result.scores[0].model
        return Selection(first, ((first, 1.0),), fair.scores, "no candidate could be scored; kept the first",
                         len(positions))
    best = finite[0]
    members = tuple(s.model for s in finite if s.mase <= best.mase * (1.0 + BAND) + 1e-12)
    on = ("" if fair is result else
          f"; judged on the {len(positions)} folds that train on {min_train_days} days or more")
    if len(members) == 1:
        return Selection(best.model, ((best.model, 1.0),), fair.scores,
                         f"lowest backtest MASE ({best.mase:.3f}), no other candidate within {BAND:.0%}{on}",
                         len(positions))
    listed = ", ".join(f"{s.model} {s.mase:.3f}" for s in finite[:len(members)])
    reason = (f"equal-weight mean of the {len(members)} candidates within {BAND:.0%} of the lowest backtest "
              f"MASE ({listed}){on}")
    return Selection(COMBINATION, tuple((m, 1.0 / len(members)) for m in members),
                     with_combination(fair, members).scores, reason, len(positions))


def _restricted(result: BacktestResult, keep: list[int]) -> BacktestResult:
    """``result`` on the folds at positions ``keep``, every score recomputed on them."""
    folds = {name: tuple(items[j] for j in keep) for name, items in result.folds.items()}
    return BacktestResult(result.horizon_days, result.interval, tuple(result.origins[j] for j in keep),
                          tuple(score_folds(s.model, folds[s.model], result.interval) for s in result.scores), folds)


def _weighted_fold(result: BacktestResult, weights: tuple[tuple[str, float], ...], k: int) -> FoldForecast:
    predicted = sum(w * result.folds[m][k].predicted for m, w in weights)
    return replace(result.folds[weights[0][0]][k], predicted=np.asarray(predicted, dtype=float))


def _rank(model: str) -> int:
    return SIMPLICITY.index(model) if model in SIMPLICITY else len(SIMPLICITY)


def _mean_fold(folds: list[FoldForecast]) -> FoldForecast:
    return replace(folds[0], predicted=np.mean([f.predicted for f in folds], axis=0))
