"""The plan archive for monthly reviews: one JSON file per plan in ``[review] archive_dir``.

``plan-<UTC %Y%m%dT%H%M%SZ>.json`` holds a :class:`~capplan.models.review.PlanSnapshot`
(schema_version 1): the daily P50/P90 peak demand forecast (req/s), the runway date, the
act-by date, the current fleet, triggers and recommendations. Files are written to a temp
file in the same directory and renamed (``os.replace``), so a crash never leaves half a
file; unreadable files raise :class:`InputDataError` naming the file. What goes into a
snapshot is decided above this layer (:func:`capplan.app.reviewing.snapshot_of`, from the
plan's one :class:`~capplan.models.decision.Decision`); this module only stores it.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from pathlib import Path

from capplan.errors import InputDataError, ReportError
from capplan.models.review import PlanSnapshot, SnapshotTrigger
from capplan.models.risk_review import RiskSnapshotMonth
from capplan.store.atomic import write_text_atomic

SCHEMA_VERSION = 1
_PREFIX = "plan-"
_STAMP = "%Y%m%dT%H%M%SZ"


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
        "total_cost": snapshot.total_cost,
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
            demand_source=str(raw.get("demand_source", "")), total_cost=raw.get("total_cost"),
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
