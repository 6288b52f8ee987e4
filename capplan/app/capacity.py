"""Per-instance capacity, the fleet and its triggers, and the load-test runs a plan uses.

Capacity is estimated once per plan: ``[capacity] per_instance_rps`` (safe = ×
``target_utilization``) or the saturation estimate of ``[capacity] runs``
(:func:`capplan.models.saturation.estimate_saturation`, whose CPU service demand enables
the CPU trigger when ``cpu_ms_per_request`` is unset). Reports also show the latest run of
each scenario under ``[loadtest] out_dir``, with the summaries stored in their run.json.
"""

from __future__ import annotations

import math
from pathlib import Path

from capplan.config import CapplanConfig
from capplan.errors import CapplanError
from capplan.models.alerts import scaling_triggers
from capplan.models.capacity import FleetSpec, InstanceCapacity, Redundancy
from capplan.models.decision import TriggerSet
from capplan.models.saturation import SaturationEstimate, estimate_saturation
from capplan.store.measurements import load_measurements
from capplan.store.run_reader import read_latest_runs
from capplan.store.runs import Run

SCENARIO_ORDER = ("baseline", "stress", "spike", "soak")


def fleet_spec(config: CapplanConfig) -> FleetSpec:
    """The ``[fleet]`` section as the planner's :class:`FleetSpec`."""
    fleet = config.fleet
    return FleetSpec(
        instance_type=fleet.instance_type, current_count=fleet.current_count, minimum=fleet.minimum,
        redundancy=Redundancy(spares=fleet.spare_instances, zones=fleet.zones),
        trigger_utilization=fleet.trigger_utilization, lead_time_days=fleet.lead_time.days,
        step_ahead_days=fleet.step_ahead.days,
    )


def resolve_capacity(config: CapplanConfig) -> tuple[InstanceCapacity, SaturationEstimate | None]:
    """Per-instance capacity from the explicit number, or from load-test runs via the estimator (kept)."""
    cap = config.capacity
    if cap.per_instance_rps is not None:
        return InstanceCapacity(cap.per_instance_rps, cap.per_instance_rps * cap.target_utilization,
                                "capplan.toml [capacity] per_instance_rps", cap.cpu_ms_per_request), None
    paths = [config.resolve(p) for p in cap.runs]
    estimate = estimate_saturation(load_measurements(paths), config.service.objectives, cap.target_utilization)
    cpu_ms = cap.cpu_ms_per_request
    if cpu_ms is None and math.isfinite(estimate.service_demand_cpu_ms) and estimate.service_demand_cpu_ms > 0:
        cpu_ms = float(estimate.service_demand_cpu_ms)  # utilisation law D = U / X from the runs
    capacity = InstanceCapacity(float(estimate.max_throughput_rps), float(estimate.safe_throughput_rps),
                                f"{len(paths)} load-test run(s)", cpu_ms)
    return capacity, estimate


def triggers_for(config: CapplanConfig, capacity: InstanceCapacity, warnings: tuple[str, ...]) -> TriggerSet:
    """The fleet and its scaling triggers for ``capacity``."""
    fleet = fleet_spec(config)
    triggers = scaling_triggers(capacity, fleet, config.service.objectives, capacity.cpu_ms_per_request,
                                config.instance_price.vcpus)
    return TriggerSet(capacity, fleet, triggers, warnings)


def build_triggers(config: CapplanConfig) -> TriggerSet:
    """Per-instance capacity, the fleet and its scaling triggers (no forecast is fitted)."""
    capacity, estimate = resolve_capacity(config)
    return triggers_for(config, capacity, () if estimate is None else tuple(estimate.warnings))


def latest_runs(root: Path) -> tuple[tuple[Run, ...], tuple[str, ...]]:
    """The latest readable run of each scenario under ``root`` and warnings for damaged runs skipped."""
    return read_latest_runs(root, SCENARIO_ORDER)


def measured_saturation(config: CapplanConfig, runs: tuple[Run, ...]) -> tuple[SaturationEstimate | None, list[str]]:
    """The saturation estimate of the latest stress run, for a plan whose capacity is a configured number."""
    stress = [r.path for r in runs if r.scenario == "stress"]
    if not stress:
        return None, []
    try:
        estimate = estimate_saturation(load_measurements(stress), config.service.objectives,
                                       config.capacity.target_utilization)
    except CapplanError as exc:
        return None, [f"No saturation estimate from {', '.join(p.name for p in stress)}: {exc}"]
    return estimate, list(estimate.warnings) + capacity_mismatch(config, estimate)


def capacity_mismatch(config: CapplanConfig, measured: SaturationEstimate) -> list[str]:
    """A warning when the configured capacity and the measured one differ by more than 10 %."""
    per_instance = config.capacity.per_instance_rps
    if per_instance is None:
        return []
    planned = per_instance * config.capacity.target_utilization
    safe = float(measured.safe_throughput_rps)
    if abs(safe - planned) <= 0.1 * planned:
        return []
    return [f"The plan uses [capacity] per_instance_rps = {per_instance:g} req/s (safe "
            f"{planned:,.0f} req/s), but the latest stress run measured a safe {safe:,.0f} req/s per instance; "
            "set [capacity] runs to plan with the measurement."]
