"""The plan archive: atomic JSON round trip, latest-before lookup, clear errors."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from capplan.errors import InputDataError, ReportError
from capplan.models.review import PlanSnapshot, SnapshotTrigger
from capplan.store.reviews import list_snapshots, previous_snapshot, read_snapshot, write_snapshot


def _snapshot(service: str = "svc", day: int = 1) -> PlanSnapshot:
    d0 = date(2026, 10, day)
    return PlanSnapshot(service=service, archived_at=datetime(2026, 10, day, 12, tzinfo=timezone.utc), as_of=d0,
                        days=(d0, d0 + timedelta(days=1)), p50_rps=(10.5, 11.0), p90_rps=(12.0, 13.0),
                        current_instances=3, safe_capacity_rps=900.0, runway_date=date(2027, 1, 2), act_by=None,
                        triggers=(SnapshotTrigger("load", 720.0, date(2026, 12, 1), date(2026, 11, 17)),
                                  SnapshotTrigger("disk", None, None)),
                        recommendations=("add 1 × m6i.large",), cost_usd_month=210.24, demand_source="h.csv")


def test_a_snapshot_survives_the_round_trip(tmp_path):
    snapshot = _snapshot()
    path = write_snapshot(snapshot, tmp_path)
    assert path.name == "plan-20261001T120000Z.json"
    assert read_snapshot(path) == snapshot
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temp file left


def test_the_previous_snapshot_is_the_latest_of_the_service_before_the_time(tmp_path):
    for day, service in ((1, "svc"), (5, "other"), (9, "svc"), (20, "svc")):
        write_snapshot(_snapshot(service, day), tmp_path)
    found = previous_snapshot(tmp_path, "svc", before=datetime(2026, 10, 15, tzinfo=timezone.utc))
    assert found.archived_at.day == 9
    assert previous_snapshot(tmp_path, "nobody") is None
    assert previous_snapshot(tmp_path / "missing", "svc") is None
    assert len(list_snapshots(tmp_path)) == 4


@pytest.mark.parametrize("text", ["{", '{"schema_version": 99}', '{"schema_version": 1, "service": "s"}'])
def test_an_unusable_archive_file_names_the_file(tmp_path, text):
    bad = tmp_path / "plan-20261001T000000Z.json"
    bad.write_text(text)
    with pytest.raises(InputDataError, match="cannot read archived plan") as info:
        read_snapshot(bad)
    assert str(bad) in str(info.value)


def test_an_unwritable_archive_is_a_report_error(tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the archive directory should be")
    with pytest.raises(ReportError, match="cannot archive the plan"):
        write_snapshot(_snapshot(), blocker / "reviews")
