"""Import measurements taken elsewhere as runs (the store's importers, chosen by format)."""

from __future__ import annotations

from pathlib import Path

from capplan.errors import ConfigError, InputDataError

FORMATS = ("auto", "locust", "measurements")


def detect_format(source: Path) -> str:
    """``locust`` for a ``--csv`` prefix or ``*_stats_history.csv``, else ``measurements``."""
    if source.name.endswith("_stats_history.csv") or Path(f"{source}_stats_history.csv").is_file():
        return "locust"
    if source.is_file():
        return "measurements"
    raise InputDataError(f"nothing to import at {str(source)!r}, no such file or Locust --csv prefix, "
                         "pass a CSV file or the prefix given to locust --csv")


def import_run(source: Path, kind: str, root: Path, host: str) -> Path:
    """Import ``source`` into the run store under ``root``; return the run directory."""
    from capplan.store.run_import import import_locust_csv, import_measurements_csv

    if kind not in FORMATS:
        raise ConfigError(f"unknown import format, {kind!r}, use one of {', '.join(FORMATS)}")
    chosen = detect_format(Path(source)) if kind == "auto" else kind
    if chosen == "locust":
        return import_locust_csv(source, root=root, host=host)
    return import_measurements_csv(source, root=root, host=host)
