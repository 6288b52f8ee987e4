"""read_run / list_runs: live, killed, finalized and damaged runs (real writer processes)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from capplan.errors import InputDataError
from capplan.store.runs import RunWriter, list_runs, read_run

# A writer process that appends one row every 50 ms with flushes every 0.5 s and never finishes.
_WRITER = textwrap.dedent("""
    import sys, time
    from capplan.store.runs import RunWriter
    writer = RunWriter("soak", "http://127.0.0.1:1", root=sys.argv[1], flush_interval_s=0.5)
    print(writer.path, flush=True)
    t = 0
    while True:
        writer.append_seconds([{"t_s": float(t), "requests": t, "sketch": b"x" * 64}])
        t += 1
        if len(sys.argv) > 2 and t == int(sys.argv[2]):
            writer.flush()
            print("finalizing", flush=True)
            writer.finalize("complete")
            print("done", flush=True)
            time.sleep(60)
        time.sleep(0.05 if len(sys.argv) < 3 else 0.0)
""")


def _start_writer(root: Path, *args: str) -> tuple[subprocess.Popen, Path]:
    process = subprocess.Popen([sys.executable, "-c", _WRITER, str(root), *args], stdout=subprocess.PIPE, text=True)
    return process, Path(process.stdout.readline().strip())


def _wait_for_parts(run_dir: Path, count: int, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while len(list((run_dir / "seconds").glob("part-*.parquet"))) < count:
        assert time.monotonic() < deadline, "writer produced no parts"
        time.sleep(0.05)


def test_a_sigkilled_writer_leaves_a_readable_incomplete_run(tmp_path):
    process, run_dir = _start_writer(tmp_path)
    try:
        _wait_for_parts(run_dir, 3)
        live = read_run(run_dir)
        assert live.live and live.status == "running" and not live.complete
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
        process.stdout.close()
    run = read_run(run_dir)
    assert not run.live and not run.complete
    assert run.status == "incomplete" and run.meta["status"] == "running"
    assert len(run.seconds) >= 3
    assert run.seconds["requests"].tolist() == list(range(len(run.seconds)))  # no gap, no duplicate
    assert any("not finalized" in w for w in run.warnings)
    assert [r.status for r in list_runs(tmp_path)] == ["incomplete"]


@pytest.mark.slow
def test_killing_the_writer_during_finalize_never_loses_or_duplicates_rows(tmp_path):
    """Killed at any moment of finalize, the run reads back as all 40 rows, exactly once."""
    for delay_s in (0.0, 0.01, 0.03, 0.1):
        process, run_dir = _start_writer(tmp_path / f"d{delay_s}", "40")
        try:
            assert process.stdout.readline().strip() == "finalizing"
            time.sleep(delay_s)
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait()
            process.stdout.close()
        run = read_run(run_dir)
        assert run.seconds["requests"].tolist() == list(range(40)), delay_s


def test_a_truncated_last_part_is_skipped_with_a_warning(tmp_path):
    writer = RunWriter("stress", "http://127.0.0.1:1", root=tmp_path, flush_interval_s=0.01)
    for t in range(3):
        writer.append_seconds([{"t_s": float(t), "requests": t}])
        writer.flush()
    last = sorted((writer.path / "seconds").glob("part-*.parquet"))[-1]
    last.write_bytes(last.read_bytes()[:40])  # as if a copy was cut short
    run = read_run(writer.path)
    assert run.seconds["requests"].tolist() == [0, 1]
    assert any("last part" in w and last.name in w for w in run.warnings)


def test_a_run_without_seconds_reads_as_empty_frames_with_the_schema(tmp_path):
    writer = RunWriter("baseline", "http://127.0.0.1:1", root=tmp_path)
    run = read_run(writer.path)
    assert run.live and run.seconds.empty and "latency_p95_ms" in run.seconds.columns
    assert run.steps.empty and "throughput_rps" in run.steps.columns


def test_list_runs_lists_only_run_directories_oldest_first(tmp_path):
    first = RunWriter("baseline", "http://127.0.0.1:1", root=tmp_path)
    first.finalize("complete")
    second = RunWriter("stress", "http://127.0.0.1:1", root=tmp_path)
    (tmp_path / "notes").mkdir()
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "run.json").write_text("{not json")
    runs = list_runs(tmp_path)
    assert [r.path for r in runs] == [first.path, second.path]
    assert [(r.status, r.complete) for r in runs] == [("complete", True), ("running", False)]
    assert list_runs(tmp_path / "absent") == []


def test_a_directory_that_is_not_a_run_is_a_clear_input_error(tmp_path):
    with pytest.raises(InputDataError, match="no run.json") as info:
        read_run(tmp_path)
    assert info.value.exit_code == 3
    with pytest.raises(InputDataError, match="does not exist"):
        read_run(tmp_path / "nope")


def test_corrupt_run_json_is_a_clear_input_error(tmp_path):
    (tmp_path / "run.json").write_text('{"run_id": "x"')
    with pytest.raises(InputDataError, match="not valid JSON"):
        read_run(tmp_path)
    (tmp_path / "run.json").write_text(json.dumps({"run_id": "x"}))
    with pytest.raises(InputDataError, match="lacks scenario, status, started_at"):
        read_run(tmp_path)


def test_a_corrupt_finalized_seconds_file_is_a_clear_input_error(tmp_path):
    writer = RunWriter("stress", "http://127.0.0.1:1", root=tmp_path)
    writer.append_seconds([{"t_s": 0.0}])
    path = writer.finalize("complete")
    (path / "seconds.parquet").write_bytes(b"PAR1 garbage")
    with pytest.raises(InputDataError, match="not valid Parquet"):
        read_run(path)


def test_a_run_written_on_another_host_with_status_running_is_not_live(tmp_path):
    writer = RunWriter("soak", "http://127.0.0.1:1", root=tmp_path)
    meta = json.loads((writer.path / "run.json").read_text())
    meta["writer"]["hostname"] = "some-other-host"
    (writer.path / "run.json").write_text(json.dumps(meta))
    assert read_run(writer.path).status == "incomplete"
    assert os.getpid() == meta["writer"]["pid"]  # same pid, but not this machine's process


def test_read_run_also_accepts_the_run_json_path(tmp_path):
    writer = RunWriter("baseline", "http://127.0.0.1:1", root=tmp_path)
    path = writer.finalize("complete")
    assert read_run(path / "run.json").path == path
