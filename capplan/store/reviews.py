"""The plan archive for monthly reviews: one JSON file per plan in ``[review] archive_dir``.

``plan-<UTC %Y%m%dT%H%M%SZ>.json`` holds a :class:`~capplan.models.review.PlanSnapshot`
(schema_version 1): the daily P50/P90 peak demand forecast (req/s), the runway date, the
act-by date, the current fleet, triggers and recommendations. Files are written to a temp
file in the same directory and renamed (``os.replace``), so a crash never leaves half a
file; unreadable files raise :class:`InputDataError` naming the file.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from pathlib import Path

from capplan.config import CapplanConfig
from capplan.errors import InputDataError, ReportError
from capplan.models.review import PlanSnapshot, SnapshotTrigger
from capplan.models.risk_review import RiskSnapshotMonth
from capplan.app.planning import PlanReport
from capplan.app.risk import risk_snapshot
from capplan.store.atomic import write_text_atomic

SCHEMA_VERSION = 1
_PREFIX = "plan-"
_STAMP = "%Y%m%dT%H%M%SZ"


def snapshot_of(report: PlanReport, config: CapplanConfig, archived_at: datetime) -> PlanSnapshot:
    """What ``report`` says today, as a snapshot to archive."""
    from capplan.report.adapters import plan_facts, to_date

    plan, runway = report.plan, report.plan.runway
    facts = plan_facts(report, config.pricing.hours_per_month)
    triggers = [SnapshotTrigger("fleet load trigger", runway.trigger_capacity_rps, to_date(runway.trigger_date),
                                to_date(runway.order_by_date)),
                SnapshotTrigger("fleet safe capacity", runway.safe_capacity_rps, to_date(runway.safe_exceeded_date)),
                SnapshotTrigger("fleet maximum capacity", runway.max_capacity_rps, to_date(runway.breach_date))]
    triggers += [SnapshotTrigger(f"scale-out step {i} (fleet {s.fleet_after})", None, to_date(s.crossing_date),
                                 to_date(s.order_by_date)) for i, s in enumerate(plan.steps, 1)]
    triggers += [SnapshotTrigger(f"resource {r.spec.name}", None, to_date(r.trigger_date), to_date(r.order_by_date))
                 for r in report.resources]
    return PlanSnapshot(
        service=report.service, archived_at=archived_at, as_of=to_date(plan.demand.ds[0]),
        days=tuple(to_date(d) for d in plan.demand.ds),
        p50_rps=tuple(float(v) for v in plan.demand.p50_rps), p90_rps=tuple(float(v) for v in plan.demand.p90_rps),
        current_instances=plan.fleet.current_count, safe_capacity_rps=float(runway.safe_capacity_rps),
        runway_date=to_date(runway.safe_exceeded_date), act_by=facts.act_by, triggers=tuple(triggers),
        recommendations=tuple(report.recommendations), cost_usd_month=facts.cost_usd_month_now,
        demand_source=report.demand_source, risk_months=risk_snapshot(report))


def archive_plan(report: PlanReport, config: CapplanConfig, archived_at: datetime) -> Path:
    """Archive ``report`` under ``[review] archive_dir``; returns the file written."""
    snapshot = snapshot_of(report, config, archived_at)
    return write_snapshot(snapshot, config.resolve(config.review.archive_dir))


def write_snapshot(snapshot: PlanSnapshot, archive_dir: Path) -> Path:
    """Write one snapshot atomically as ``plan-<UTC>.json`` in ``archive_dir``."""
    stamp = snapshot.archived_at.astimezone(timezone.utc).strftime(_STAMP)
    path = Path(archive_dir) / f"{_PREFIX}{stamp}.json"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(path, json.dumps(snapshot_to_dict(snapshot), indent=1))
    except OSError as exc:
        raise ReportError(f"cannot archive the plan, {path} ({exc.strerror}), "
                          "set [review] archive_dir to a writable directory") from exc
    return path


def snapshot_to_dict(snapshot: PlanSnapshot) -> dict:
    """The JSON form (dates as ISO strings)."""
    return {
        "schema_version": SCHEMA_VERSION, "service": snapshot.service,
        "archived_at": snapshot.archived_at.isoformat(), "as_of": snapshot.as_of.isoformat(),
        "demand_source": snapshot.demand_source, "current_instances": snapshot.current_instances,
        "safe_capacity_rps": snapshot.safe_capacity_rps, "runway_date": _iso(snapshot.runway_date),
        "act_by": _iso(snapshot.act_by), "cost_usd_month": snapshot.cost_usd_month,
        "recommendations": list(snapshot.recommendations),
        "triggers": [{"name": t.name, "threshold_rps": t.threshold_rps, "expected": _iso(t.expected),
                      "order_by": _iso(t.order_by)} for t in snapshot.triggers],
        "forecast": {"ds": [d.isoformat() for d in snapshot.days], "p50_rps": list(snapshot.p50_rps),
                     "p90_rps": list(snapshot.p90_rps)},
        "risk": [vars(m) for m in snapshot.risk_months],
    }


def read_snapshot(path: Path) -> PlanSnapshot:
    """Read one archived plan; :class:`InputDataError` naming the file when it is unusable."""
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
        if raw.get("schema_version") != SCHEMA_VERSION:
            raise ValueError(f"schema_version {raw.get('schema_version')!r}")
        fc = raw["forecast"]
        return PlanSnapshot(
            service=str(raw["service"]), archived_at=datetime.fromisoformat(raw["archived_at"]),
            as_of=date.fromisoformat(raw["as_of"]), days=tuple(date.fromisoformat(d) for d in fc["ds"]),
            p50_rps=tuple(float(v) for v in fc["p50_rps"]), p90_rps=tuple(float(v) for v in fc["p90_rps"]),
            current_instances=int(raw["current_instances"]), safe_capacity_rps=float(raw["safe_capacity_rps"]),
            runway_date=_date(raw["runway_date"]), act_by=_date(raw["act_by"]),
            triggers=tuple(SnapshotTrigger(t["name"], t["threshold_rps"], _date(t["expected"]), _date(t["order_by"]))
                           for t in raw["triggers"]),
            recommendations=tuple(raw.get("recommendations", ())), cost_usd_month=raw.get("cost_usd_month"),
            demand_source=str(raw.get("demand_source", "")),
            risk_months=tuple(RiskSnapshotMonth(**m) for m in raw.get("risk", ())))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise InputDataError(f"cannot read archived plan, {path} ({exc.__class__.__name__}: {exc}), "
                             "delete or move the file out of the archive directory") from exc


def list_snapshots(archive_dir: Path) -> list[Path]:
    """Archived plan files in ``archive_dir``, oldest first."""
    folder = Path(archive_dir)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob(f"{_PREFIX}*.json") if p.is_file())


def previous_snapshot(archive_dir: Path, service: str, before: datetime | None = None) -> PlanSnapshot | None:
    """The latest archived plan of ``service`` archived before ``before`` (default: any)."""
    for path in reversed(list_snapshots(archive_dir)):
        snapshot = read_snapshot(path)
        if snapshot.service == service and (before is None or snapshot.archived_at < before):
            return snapshot
    return None


def _iso(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _date(value: object) -> date | None:
    return None if value is None else date.fromisoformat(str(value))
