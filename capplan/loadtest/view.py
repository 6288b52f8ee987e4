"""Rich renderables for load tests: the live status line and the end-of-run tables.

Pure builders (no printing): the CLI decides where they go.
"""

from __future__ import annotations

import math
from typing import Any

from rich.table import Table
from rich.text import Text

from capplan.loadtest.settings import RunOutcome
from capplan.models.drift import DriftAssessment, SpikeRecovery, format_recovery, format_slope


def _ms(value: Any) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.1f}"


def status_line(row: dict[str, Any], scenario: str) -> Text:
    """One line: scenario, stage, users/rate, throughput, p95, errors, generator CPU."""
    load = f"{row['users']} users"
    if not math.isnan(row.get("offered_rps", math.nan)):
        load = f"{row['offered_rps']:.0f} req/s offered"
    text = Text.assemble(
        (f"{scenario} ", "bold"), (f"t={row['t_s']:.0f}s ", "dim"), (f"{row['stage']}", "cyan"),
        f" step {row['step']}  {load}  ", (f"{row['throughput_rps']:.0f} req/s", "green"),
        f"  p95 {_ms(row['latency_p95_ms'])} ms  ",
        (f"errors {row['error_rate']:.2%}", "red" if row["errors"] else ""),
        f"  gen CPU {_ms(row['gen_cpu_pct'])}%",
    )
    if row.get("gen_cpu_pct", 0) and row["gen_cpu_pct"] > 90:
        text.append("  generator saturated!", "bold red")
    return text


def step_line(row: dict[str, Any]) -> str:
    """A short line printed when a step ends."""
    offered = row.get("offered_rps", math.nan)
    load = f"{row['users']} users" if math.isnan(offered) else f"{offered:.0f} req/s offered"
    return (f"step {row['step']} ({row['stage']}): {load}, {row['throughput_rps']:.1f} req/s, "
            f"p95 {_ms(row['latency_p95_ms'])} ms, errors {row['error_rate']:.2%}")


def steps_table(steps: tuple[dict[str, Any], ...], open_model: bool) -> Table:
    """Per-step table: offered load, concurrency, throughput, latency percentiles, error rate."""
    table = Table(title="Steps (steady state)", header_style="bold")
    for name in ("step", "stage", "offered req/s" if open_model else "users", "conc. (XR)", "req/s", "p50 ms",
                 "p95 ms", "p99 ms", "p99.9 ms", "max ms", "errors"):
        table.add_column(name, justify="right")
    for s in steps:
        load = f"{s['offered_rps']:.1f}" if open_model else str(s["users"])
        table.add_row(str(s["step"]), s["stage"], load, _ms(s["concurrency_little"]), f"{s['throughput_rps']:.1f}",
                      _ms(s["latency_p50_ms"]), _ms(s["latency_p95_ms"]), _ms(s["latency_p99_ms"]),
                      _ms(s["latency_p999_ms"]), _ms(s["latency_max_ms"]), f"{s['error_rate']:.2%}")
    return table


def summary_table(outcome: RunOutcome) -> Table:
    """Totals, scenario findings and the SLO verdict."""
    table = Table(title=f"Run {outcome.run_dir.name} ({outcome.status})", show_header=False)
    table.add_column("what", style="bold")
    table.add_column("value")
    t = outcome.totals
    table.add_row("requests", f"{t['requests']} ({t['errors']} errors, {t['error_rate']:.2%})")
    table.add_row("throughput", f"{t['throughput_rps']:.1f} req/s over {t['duration_s']:.0f} s")
    table.add_row("latency", f"p50 {_ms(t.get('latency_p50_ms'))} / p95 {_ms(t.get('latency_p95_ms'))} / "
                  f"p99 {_ms(t.get('latency_p99_ms'))} / max {_ms(t.get('latency_max_ms'))} ms")
    for label, value in _findings(outcome.summary):
        table.add_row(label, value)
    v = outcome.verdict
    verdict = "no SLO given" if v.slos_met is None else ("met" if v.slos_met else "BREACHED")
    table.add_row("SLO verdict", f"{verdict} — {v.basis}" if v.basis and v.slos_met is not None else verdict)
    for r in v.results:
        table.add_row(f"  {r['slo']}", f"observed {_ms(r['observed']) if r['slo'][0] != 'e' else r['observed']}"
                      f" → {'ok' if r['met'] else 'breached'}")
    table.add_row("run directory", str(outcome.run_dir))
    return table


def _findings(summary: dict[str, Any]) -> list[tuple[str, str]]:
    out = []
    if summary.get("stress"):
        out.append(("stress stopped", str(summary["stress"].get("stop_reason"))))
    if summary.get("spike"):
        sp = SpikeRecovery.from_dict(summary["spike"])
        out.append(("spike recovery", f"{format_recovery(sp)} (p95 within {sp.tolerance:.0%} of before); peak p95 "
                    f"{_ms(sp.peak_p95_ms)} ms, peak error rate {(sp.peak_error_rate or 0):.2%}, peak latency "
                    f"{_ms(sp.peak_latency_ms)} ms"))
    if summary.get("soak"):
        so = DriftAssessment.from_dict(summary["soak"])
        out.append(("soak drift", so.verdict + "".join(f"; {r}" for r in so.reasons)))
        out.append(("p95 trend", format_slope(so.p95, "ms")))
        if so.rss is not None:
            out.append(("target memory trend", format_slope(so.rss, "MB")))
    if summary.get("open_model"):
        om = summary["open_model"]
        out.append(("open model", f"achieved {om['achieved_ratio']:.1%} of intended arrivals, mean generator "
                    f"lag {_ms(om['mean_gen_lag_ms'])} ms"))
    if summary.get("generator_bottleneck"):
        out.append(("warning", f"generator CPU > 90% in {len(summary['generator_cpu_over_90pct_s'])} s: "
                    "results there may be limited by the load generator (use --workers)"))
    for note in summary.get("notes", []):
        out.append(("note", note))
    if summary.get("errors_by_kind"):
        out.append(("errors by kind", ", ".join(f"{k}: {v}" for k, v in summary["errors_by_kind"].items())))
    return out
