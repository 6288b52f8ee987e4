"""Import a JMeter JTL results file in its default CSV layout (``jmeter -n -t plan.jmx -l results.jtl``).

One row per sample: ``timeStamp`` (ms since the epoch, when the sample *started* —
JMeter's shipped ``sampleresult.timestamp.start=true``), ``elapsed`` (ms), ``success``,
``responseCode`` and ``allThreads`` (threads active in all thread groups: the closed-model
concurrency). A sample completes at ``timeStamp + elapsed``.

The first line is the header when ``jmeter.save.saveservice.print_field_names`` is on (the
default since JMeter 3.0); without it the columns are JMeter's default order — 12 fields
up to 2.13, 17 fields from 3.0 on — and are recognised by their count. A sequence of
thread groups with different thread counts (``TestPlan.serialize_threadgroups``), or one
stepping group, gives one step per thread count.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from capplan.errors import InputDataError
from capplan.store.import_samples import ImportOptions, RequestSamples, bad_line, write_samples_run

DEFAULT_FIELDS = {
    12: ("timeStamp", "elapsed", "label", "responseCode", "responseMessage", "threadName", "dataType", "success",
         "bytes", "grpThreads", "allThreads", "Latency"),
    17: ("timeStamp", "elapsed", "label", "responseCode", "responseMessage", "threadName", "dataType", "success",
         "failureMessage", "bytes", "sentBytes", "grpThreads", "allThreads", "URL", "Latency", "IdleTime",
         "Connect"),
}
"""JMeter's default CSV columns when the JTL has no header, by field count (2.13, then 3.0 and later)."""

_REQUIRED = ("timeStamp", "elapsed", "success", "allThreads")
_FIX = "re-run jmeter -n -t plan.jmx -l results.jtl and keep the whole file (CSV output, the default)"


def read_jtl(path: Path) -> tuple[pd.DataFrame, int]:
    """The JTL's rows as text, and the file line number of its first row."""
    if not path.is_file():
        raise InputDataError(f"JMeter JTL not found, {str(path)!r}: check the path given to -l")
    try:
        first = path.open(encoding="utf-8").readline()
        header = first.startswith("timeStamp")
        if not header and first.lstrip().startswith("<"):
            raise InputDataError(f"JMeter JTL is XML, {str(path)!r}: write CSV with "
                                 "-Jjmeter.save.saveservice.output_format=csv")
        names = None if header else DEFAULT_FIELDS.get(first.count(",") + 1)
        if not header and names is None:
            raise bad_line("JMeter", 1, path, f"{first.count(',') + 1} fields and no header line",
                           "save the JTL with -Jjmeter.save.saveservice.print_field_names=true")
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, names=names, header=0 if header else None,
                            on_bad_lines="error")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputDataError(f"JMeter JTL cannot be parsed, {str(path)!r} ({exc}): {_FIX}") from exc
    missing = [c for c in _REQUIRED if c not in frame.columns]
    if missing:
        raise InputDataError(f"JMeter JTL lacks columns {missing}, {str(path)!r}: save timeStamp, elapsed, "
                             "success and allThreads (JMeter's defaults)")
    return frame, 2 if header else 1


def jtl_samples(frame: pd.DataFrame, first_line: int, path: Path) -> pd.DataFrame:
    """Per-request rows (``end_s``, ``latency_ms``, ``ok``, ``kind``, ``users``) from the JTL's text rows."""
    numbers = {}
    for column in ("timeStamp", "elapsed", "allThreads"):
        values = pd.to_numeric(frame[column], errors="coerce")
        bad = values.isna() | (values < 0)
        if bad.any():
            row = int(bad.to_numpy().argmax())
            raise bad_line("JMeter", row + first_line, path,
                           f"{column} {frame[column].iloc[row]!r} is not a number >= 0", _FIX)
        numbers[column] = values.to_numpy(float)
    success = frame["success"].str.strip().str.lower()
    bad = ~success.isin(["true", "false"])
    if bad.any():
        row = int(bad.to_numpy().argmax())
        raise bad_line("JMeter", row + first_line, path, f"success {frame['success'].iloc[row]!r} is not true/false",
                       _FIX)
    ok = (success == "true").to_numpy()
    codes = frame["responseCode"] if "responseCode" in frame.columns else pd.Series("", index=frame.index)
    kinds = np.where(ok, "", codes.map(lambda c: f"HTTP {c}" if str(c).isdigit() else str(c) or "failed"))
    return pd.DataFrame({"end_s": (numbers["timeStamp"] + numbers["elapsed"]) / 1000.0,
                         "latency_ms": numbers["elapsed"], "ok": ok, "kind": kinds, "users": numbers["allThreads"]})


def import_jmeter_jtl(source: Path | str, options: ImportOptions | None = None) -> Path:
    """Import a JMeter CSV JTL as a finalized closed-model run (threads = concurrency); return its directory."""
    path = Path(source)
    frame, first_line = read_jtl(path)
    samples = RequestSamples(jtl_samples(frame, first_line, path), "jmeter", str(path))
    labels = sorted(frame["label"].unique().tolist()) if "label" in frame.columns else []
    return write_samples_run(samples, options or ImportOptions(), {"labels": labels[:20]})
