"""Issue 14 figures: k6, JMeter and hey against the demo target, imported, analyzed, compared with wrk.

Runs each real tool at the import tests' concurrency levels against one demo target (4 slots
× 10 ms on 127.0.0.1, about 400 req/s), imports its output, runs ``capplan analyze`` and
prints max_throughput_rps against ``wrk -c64`` measured on the same target just before, plus
the k6 run's percentiles against k6's own ``--summary-export``. Usage:
``.venv/bin/python benchmarks/bench_import.py [--hold 4]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "store"))
from import_tools import run_hey, run_jmeter, run_k6  # noqa: E402

from capplan.cli.app import app  # noqa: E402
from capplan.loadtest.target import TargetSettings, start_target  # noqa: E402
from capplan.loadtest.wrk import measure_with_wrk  # noqa: E402
from capplan.store.import_hey import import_hey_csv  # noqa: E402
from capplan.store.import_jmeter import import_jmeter_jtl  # noqa: E402
from capplan.store.import_k6 import import_k6_json  # noqa: E402
from capplan.store.import_samples import ImportOptions  # noqa: E402

LEVELS = [2, 8, 16]


def _max_rps(run: Path) -> float:
    result = CliRunner().invoke(app, ["analyze", str(run), "--json"])
    return json.loads(result.stdout)["saturation"]["max_throughput_rps"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hold", type=int, default=4)
    hold = parser.parse_args().hold
    with tempfile.TemporaryDirectory() as tmp, start_target(TargetSettings(slots=4, service_ms=10.0, port=0)) as target:
        out = Path(tmp)
        wrk = measure_with_wrk(target.url, connections=64, duration_s=5).requests_per_s
        print(f"wrk -c64 5 s: {wrk:.1f} req/s")
        tools = {
            "k6": lambda: import_k6_json(*run_k6(target.url, out, LEVELS, hold)[:1],
                                         summary=out / "k6-summary.json", options=ImportOptions(root=out / "runs")),
            "hey": lambda: import_hey_csv(run_hey(target.url, out, LEVELS, hold), options=ImportOptions(root=out / "runs")),
            "jmeter": lambda: import_jmeter_jtl(run_jmeter(target.url, out, LEVELS, hold),
                                                options=ImportOptions(root=out / "runs")),
        }
        for name, run_tool in tools.items():
            started = time.perf_counter()
            run = run_tool()
            max_rps = _max_rps(run)
            print(f"{name:7s} max_throughput_rps {max_rps:7.1f}  vs wrk {(max_rps - wrk) / wrk:+6.1%}  "
                  f"({time.perf_counter() - started:.1f} s with the tool)")
            if name == "k6":
                summary = json.loads((run / "run.json").read_text())["summary"]
                k6, ours, sk = summary["k6_summary_ms"], summary["latency_ms"], summary["latency_ms_sketch"]
                for k6_name, key in (("med", "p50"), ("p(90)", "p90"), ("p(95)", "p95"), ("p(99)", "p99"),
                                     ("p(99.9)", "p999")):
                    col = f"latency_{key}_ms"
                    print(f"  k6 {k6_name:7s} {k6[k6_name]:8.3f} ms  raw {ours[col] / k6[k6_name] - 1:+.3%}  "
                          f"sketch {sk[col] / k6[k6_name] - 1:+.3%}  (n={int(k6['count'])})")


if __name__ == "__main__":
    main()
