"""Choosing the forecast by evidence: rolling-origin MASE, a combination, and a bias to the simple.

The candidates' held-out forecasts from one backtest (capplan.models.backtest) decide:

1. the combination ``combo`` is the equal-weight mean of the :data:`COMBINE_BEST` single
   models with the lowest MASE (the M4 competition's lesson: simple combinations of simple
   models are hard to beat — Makridakis et al. 2020); its fold forecasts are the mean of its
   members' fold forecasts, so it is scored on the same held-out days;
2. the lowest MASE wins, except that any candidate simpler than the winner whose MASE is
   within :data:`TOLERANCE` of it is preferred — with a handful of folds a few per cent
   cannot separate two models, and the simpler one fails more gracefully.

The winner's own fold errors are the smallest by selection (the winner's curse), so an
interval calibrated on them is too narrow for the next forecast. :func:`selection_folds` gives
the errors of the whole procedure instead: each fold forecast by what the same rule chooses
from the *other* folds (cross-validating the selection, as Varma & Simon, BMC Bioinformatics 7,
2006, do for a classifier's error; the held-out fold then judges the choice it did not make).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from capplan.models.backtest import BacktestResult, FoldForecast, ModelScore, score_folds

COMBINE_BEST = 3
COMBINATION = "combo"
TOLERANCE = 0.05
"""Relative MASE margin inside which the simpler candidate is preferred."""
SIMPLICITY = ("seasonal_naive", "seasonal_median", "seasonal_naive_yearly", "yearly_scaled", "theta", "ets",
              "holt_winters", "linear_trend", "mstl", "prophet", COMBINATION)
"""Candidates from simplest to most complex (ties go to the earlier one)."""


@dataclass(frozen=True)
class Selection:
    """What was chosen and why: ``model`` (a candidate or ``combo``), its ``weights``
    (member → weight; the single model → 1.0), every candidate's ``scores`` and a ``reason``."""

    model: str
    weights: tuple[tuple[str, float], ...]
    scores: tuple[ModelScore, ...]
    reason: str


def with_combination(result: BacktestResult) -> tuple[BacktestResult, tuple[str, ...]]:
    """``result`` plus the ``combo`` candidate (mean of the best :data:`COMBINE_BEST`) and its members."""
    singles = sorted((s for s in result.scores if np.isfinite(s.mase)), key=lambda s: (s.mase, _rank(s.model)))
    members = tuple(s.model for s in singles[:COMBINE_BEST])
    if len(members) < 2:
        return result, ()
    folds = tuple(_mean_fold([result.folds[m][k] for m in members]) for k in range(len(result.origins)))
    score = score_folds(COMBINATION, folds, result.interval)
    return BacktestResult(result.horizon_days, result.interval, result.origins, (*result.scores, score),
                          {**result.folds, COMBINATION: folds}), members


def select(result: BacktestResult, members: tuple[str, ...]) -> Selection:
    """The chosen candidate of ``result`` (see module docstring); ``members`` those of ``combo``."""
    finite = [s for s in result.scores if np.isfinite(s.mase)]
    if not finite:
        first = result.scores[0].model
        return Selection(first, ((first, 1.0),), result.scores, "no candidate could be scored; kept the first")
    best = min(finite, key=lambda s: (s.mase, _rank(s.model)))
    close = [s for s in finite if s.mase <= best.mase * (1.0 + TOLERANCE) + 1e-12]
    chosen = min(close, key=lambda s: _rank(s.model))
    if chosen.model == best.model:
        reason = f"lowest backtest MASE ({best.mase:.3f})"
    else:
        reason = (f"simplest within {TOLERANCE:.0%} of the lowest backtest MASE "
                  f"({chosen.mase:.3f} vs {best.model} {best.mase:.3f})")
    weights = (tuple((m, 1.0 / len(members)) for m in members) if chosen.model == COMBINATION
               else ((chosen.model, 1.0),))
    return Selection(chosen.model, weights, result.scores, reason)


def selection_folds(result: BacktestResult) -> tuple[FoldForecast, ...]:
    """The folds of "backtest, choose, forecast": fold k forecast by the candidate (or combination)
    that :func:`with_combination` and :func:`select` choose from the other folds of ``result``
    (the single candidates' backtest). With one fold there is nothing else to choose from: the
    choice's own fold."""
    count = len(result.origins)
    if count < 2:
        chosen = select(*with_combination(result))
        return tuple(_weighted_fold(result, chosen.weights, k) for k in range(count))
    folds = []
    for k in range(count):
        keep = [j for j in range(count) if j != k]
        others = BacktestResult(
            result.horizon_days, result.interval, tuple(result.origins[j] for j in keep),
            tuple(score_folds(s.model, tuple(result.folds[s.model][j] for j in keep), result.interval)
                  for s in result.scores),
            {name: tuple(items[j] for j in keep) for name, items in result.folds.items()})
        folds.append(_weighted_fold(result, select(*with_combination(others)).weights, k))
    return tuple(folds)


def _weighted_fold(result: BacktestResult, weights: tuple[tuple[str, float], ...], k: int) -> FoldForecast:
    first = result.folds[weights[0][0]][k]
    predicted = sum(w * result.folds[m][k].predicted for m, w in weights)
    return FoldForecast(first.origin, first.actual, np.asarray(predicted, dtype=float), first.horizon_days,
                        first.mase_scale, first.floor)


def _rank(model: str) -> int:
    return SIMPLICITY.index(model) if model in SIMPLICITY else len(SIMPLICITY)


def _mean_fold(folds: list[FoldForecast]) -> FoldForecast:
    first = folds[0]
    predicted = np.mean([f.predicted for f in folds], axis=0)
    return FoldForecast(first.origin, first.actual, predicted, first.horizon_days, first.mase_scale, first.floor)
