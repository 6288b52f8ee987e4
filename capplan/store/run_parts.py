"""Read the per-second part files of a run, tolerating a truncated last part.

A writer killed while the operating system was writing a part can leave a file that is
not valid Parquet (parts are renamed into place, so this needs a crash of the machine or
a copy cut short). Such a part is skipped with a warning, so the rest of the run stays
readable; a corrupt part that is *not* the last one is reported the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from capplan.store.run_format import SECOND_COLUMNS, SECONDS_PARTS_DIR, empty_frame


@dataclass(frozen=True, eq=False)
class MergedParts:
    """Per-second rows of every readable part, in time order, and what was skipped."""

    frame: pd.DataFrame
    warnings: tuple[str, ...]
    parts_read: int


def part_files(run_dir: Path) -> list[Path]:
    """The run's part files in write order (temp files of an interrupted write are ignored)."""
    parts_dir = run_dir / SECONDS_PARTS_DIR
    if not parts_dir.is_dir():
        return []
    return sorted(p for p in parts_dir.glob("part-*.parquet") if p.is_file())


def read_parquet_frame(path: Path) -> pd.DataFrame:
    """Read one Parquet file into pandas (raises pyarrow/OS errors to the caller)."""
    return pq.read_table(path).to_pandas()


def merge_parts(run_dir: Path) -> MergedParts:
    """Concatenate all readable parts, sorted by ``t_s``; unreadable parts become warnings."""
    frames: list[pd.DataFrame] = []
    warnings: list[str] = []
    files = part_files(run_dir)
    for index, path in enumerate(files):
        try:
            frames.append(read_parquet_frame(path))
        except (OSError, pa.ArrowException) as exc:
            where = "last part" if index == len(files) - 1 else "part"
            warnings.append(f"skipped unreadable {where} {path.name} ({exc.__class__.__name__}: {exc})")
    frames = [f for f in frames if not f.empty]
    if not frames:
        return MergedParts(empty_frame(SECOND_COLUMNS), tuple(warnings), 0)
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    if "t_s" in frame.columns:
        frame = frame.sort_values("t_s", kind="stable").reset_index(drop=True)
    return MergedParts(frame, tuple(warnings), len(frames))
