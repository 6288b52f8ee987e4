"""capplan: capacity planning and load testing.

Load tests record throughput/latency curves, a saturation model says what one instance
takes within its SLO, a growth forecast says what traffic is coming, and a planner turns
both into instances over time, scaling triggers, order-by dates and cost.
"""

from __future__ import annotations

from capplan.errors import (
    CapplanError,
    ConfigError,
    InputDataError,
    LoadTestError,
    ModelError,
    NotFittedError,
    ReportError,
    SloBreached,
)
from capplan.models.slo import Slo, SloResult, evaluate_slos, parse_slo

__version__ = "0.1.0"

__all__ = [
    "CapplanError",
    "ConfigError",
    "InputDataError",
    "LoadTestError",
    "ModelError",
    "NotFittedError",
    "ReportError",
    "Slo",
    "SloBreached",
    "SloResult",
    "__version__",
    "evaluate_slos",
    "parse_slo",
]
