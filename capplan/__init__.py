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

# The library's entry points, imported on first use so `import capplan` stays light
# (pandas, Prophet and Locust load only when the part that needs them is used).
_LAZY = {
    "load_config": "capplan.config",
    "build_plan": "capplan.app.planning",
    "estimate_saturation": "capplan.models.saturation",
    "load_measurements": "capplan.store.measurements",
    "read_history": "capplan.store.history",
    "read_run": "capplan.store.runs",
    "run_review": "capplan.app.reviewing",
}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'capplan' has no attribute {name!r}")

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
    "build_plan",
    "estimate_saturation",
    "evaluate_slos",
    "load_config",
    "load_measurements",
    "parse_slo",
    "read_history",
    "read_run",
    "run_review",
]
