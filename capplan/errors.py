"""The one exception tree of capplan, each class carrying its CLI exit code.

::

    CapplanError                      (exit 1, never raised bare)
    ├── SloBreached                   exit 1  a load test or plan missed an SLO
    ├── ConfigError                   exit 2  bad flags, capplan.toml or expressions
    ├── InputDataError                exit 3  unreadable, empty or inconsistent data
    ├── ModelError                    exit 4  a model could not be fitted or used
    │   └── NotFittedError            exit 4  predict() called before fit()
    ├── LoadTestError                 exit 5  the target or the load generator failed
    │   └── RecordingError            exit 5  a run directory could not be written (disk full)
    └── ReportError                   exit 4  a report could not be rendered, or any output file written

Messages follow one shape: what failed, the offending value, how to fix it, e.g.
``USL fit needs >= 3 load levels, got 2 (1, 8): add steps or lower --step-duration``.
Third-party exceptions are translated at the boundary with ``raise ... from exc``.
"""

from __future__ import annotations


class CapplanError(Exception):
    """Root of every error capplan raises on purpose."""

    exit_code: int = 1


class SloBreached(CapplanError):
    """A load test or a plan did not meet one of its SLOs (exit 1)."""

    exit_code = 1


class ConfigError(CapplanError):
    """Usage or configuration error: bad flag, bad capplan.toml, bad SLO expression (exit 2)."""

    exit_code = 2


class InputDataError(CapplanError):
    """Input data that cannot be used: empty, malformed, negative, incomplete (exit 3)."""

    exit_code = 3


class ModelError(CapplanError):
    """A model failed to fit or cannot answer the question asked (exit 4)."""

    exit_code = 4


class NotFittedError(ModelError):
    """An estimator's ``predict`` was called before ``fit``."""


class ReportError(CapplanError):
    """A report could not be built, or an output file (report, plot, rules, archive) written (exit 4)."""

    exit_code = 4


class LoadTestError(CapplanError):
    """The target was unreachable or the load generator failed (exit 5)."""

    exit_code = 5


class RecordingError(LoadTestError):
    """A run directory could not be written (disk full, read-only store); the load is stopped (exit 5)."""


EXIT_OK = 0
"""Exit code when everything succeeded and every SLO was met."""
