"""The scenario's pure load controller, built from :class:`LoadTestSettings`."""

from __future__ import annotations

from capplan.loadtest.settings import LoadTestSettings
from capplan.loadtest.shapes import FixedController, SteadyConfig, baseline_phases, soak_phases, spike_phases
from capplan.loadtest.stress import StressController, stress_config


def make_controller(s: LoadTestSettings) -> FixedController | StressController:
    """The scenario's pure controller, built from the settings."""
    steady = SteadyConfig(settle_s=s.settle_s, min_steady_s=3)
    integer = not s.open_model
    if s.scenario == "stress":
        return StressController(stress_config(s, steady), _slos(s))
    if s.scenario == "baseline":
        phases = baseline_phases(s.level, s.ramp_s, s.hold_s)
    elif s.scenario == "soak":
        phases = soak_phases(s.level, s.ramp_s, s.soak_s)
    else:
        phases = spike_phases(s.level, s.spike_multiplier, s.spike_pre_s, s.spike_window_s, s.spike_post_s)
    return FixedController(phases, integer_levels=integer, settle_s=s.settle_s)


def _slos(s: LoadTestSettings):
    from capplan.models.slo import parse_slos

    return parse_slos(s.slos)
