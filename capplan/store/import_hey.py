"""Import hey's ``-o csv`` output (one file per concurrency level) as one run.

hey (github.com/rakyll/hey) prints one row per response: ``response-time`` (s),
``DNS+dialup``, ``DNS``, ``Request-write``, ``Response-delay``, ``Response-read``,
``status-code`` and ``offset`` (s from the start of that hey run to the request's start).
A request completes at ``offset + response-time``. What the file cannot say:

* the concurrency (``-c``): pass it, or name the files ``…-c8.csv`` (``c`` then digits);
* wall-clock time: each file is placed at its modification time (when hey finished), and
  files are laid end to end in the order given, on whole seconds, one silent second apart, so
  every file is its own step;
* transport errors (refused, reset, timeout): hey leaves them out of the CSV, so only
  HTTP statuses >= 400 count as failures.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from capplan.errors import InputDataError
from capplan.store.import_samples import ImportOptions, RequestSamples, bad_line, write_samples_run

HEY_COLUMNS = ("response-time", "DNS+dialup", "DNS", "Request-write", "Response-delay", "Response-read",
               "status-code", "offset")
_CONCURRENCY_IN_NAME = re.compile(r"(?:^|[^a-z0-9])c(\d+)(?:[^0-9]|$)", re.IGNORECASE)
_FIX = "re-run hey with -o csv and keep the whole file"


def concurrency_from_name(path: Path) -> int | None:
    """The ``N`` of a file named like ``hey-c8.csv`` or ``c16.csv``; None when the name has none."""
    match = _CONCURRENCY_IN_NAME.search(path.stem)
    return int(match.group(1)) if match else None


def read_hey_csv(path: Path) -> pd.DataFrame:
    """Rows of one hey CSV with numeric columns; a damaged row is an error naming its line."""
    if not path.is_file():
        raise InputDataError(f"hey CSV not found, {str(path)!r}: check the path")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputDataError(f"hey CSV cannot be parsed, {str(path)!r} ({exc}): {_FIX}") from exc
    missing = [c for c in ("response-time", "status-code", "offset") if c not in frame.columns]
    if missing:
        raise InputDataError(f"hey CSV lacks columns {missing}, {str(path)!r}: write it with hey -o csv")
    out = pd.DataFrame(index=frame.index)
    for column in ("response-time", "status-code", "offset"):
        values = pd.to_numeric(frame[column], errors="coerce")
        bad = values.isna() | (values < 0)
        if bad.any():
            row = int(bad.to_numpy().argmax())
            raise bad_line("hey", row + 2, path, f"{column} {frame[column].iloc[row]!r} is not a number >= 0", _FIX)
        out[column] = values
    return out


def import_hey_csv(paths: Sequence[Path | str], concurrency: Sequence[int] = (),
                   options: ImportOptions | None = None) -> Path:
    """Import hey CSVs, one per concurrency level, as one closed-model run; return the run directory.

    ``concurrency[i]`` is the ``-c`` of ``paths[i]``; when empty, each file's name gives it.
    """
    files = [Path(p) for p in paths]
    levels = _levels(files, list(concurrency))
    frames, start_s = [], None
    for path, users in zip(files, levels):
        rows = read_hey_csv(path)
        if rows.empty:
            raise InputDataError(f"hey CSV has no responses, {str(path)!r}: run hey longer (-z 5s)")
        end = rows["offset"] + rows["response-time"]
        begin = path.stat().st_mtime - float(end.max())
        start_s = math.ceil(begin if start_s is None else max(begin, start_s))  # hey's seconds stay whole seconds
        status = rows["status-code"].astype(int)
        frames.append(pd.DataFrame({
            "end_s": start_s + end, "latency_ms": rows["response-time"] * 1000.0, "ok": status < 400,
            "kind": status.map(lambda code: "" if code < 400 else f"HTTP {code}"), "users": users}))
        start_s += float(end.max()) + 2.0  # the next file starts after one silent second
    samples = RequestSamples(pd.concat(frames, ignore_index=True), "hey", ", ".join(map(str, files)))
    return write_samples_run(samples, options or ImportOptions(),
                             {"files": [str(f) for f in files], "concurrency": levels})


def _levels(files: list[Path], concurrency: list[int]) -> list[int]:
    if not files:
        raise InputDataError("no hey CSV given, 0 files: pass one hey -o csv file per concurrency level")
    if concurrency:
        if len(concurrency) != len(files):
            raise InputDataError(f"hey import needs one concurrency per file, got {len(concurrency)} for "
                                 f"{len(files)} files: repeat --concurrency once per file, in order")
        levels = concurrency
    else:
        levels = [concurrency_from_name(f) for f in files]
        unnamed = [str(f) for f, n in zip(files, levels) if n is None]
        if unnamed:
            raise InputDataError(f"hey CSV does not say its concurrency, {unnamed[0]!r}: pass --concurrency N "
                                 "per file or name the file like hey-c8.csv")
    bad = [n for n in levels if not n or n < 1]
    if bad:
        raise InputDataError(f"hey concurrency must be >= 1, got {bad[0]!r}: use hey's -c value")
    return [int(n) for n in levels]
