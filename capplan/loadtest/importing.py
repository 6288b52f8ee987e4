"""Import measurements taken elsewhere as runs (the store's importers, chosen by format)."""

from __future__ import annotations

from pathlib import Path

from capplan.errors import ConfigError, InputDataError

FORMATS = ("auto", "locust", "measurements", "k6", "jmeter", "hey")
_HEY_HEADER = "response-time,DNS+dialup"


def detect_format(source: Path) -> str:
    """``locust`` for a ``--csv`` prefix or ``*_stats_history.csv``, else ``measurements``."""
    if source.name.endswith("_stats_history.csv") or Path(f"{source}_stats_history.csv").is_file():
        return "locust"
    if source.is_file():
        return _sniff(source)
    raise InputDataError(f"nothing to import at {str(source)!r}, no such file or Locust --csv prefix, "
                         "pass a CSV file or the prefix given to locust --csv")


def _sniff(source: Path) -> str:
    """k6 NDJSON, a JMeter JTL or a hey CSV by their first line; anything else is a measurements CSV."""
    with source.open("rb") as handle:
        first = handle.readline(4096).decode("utf-8", errors="replace")
    if first.lstrip().startswith("{"):
        return "k6"
    if source.suffix.lower() == ".jtl" or first.startswith("timeStamp,"):
        return "jmeter"
    return "hey" if first.startswith(_HEY_HEADER) else "measurements"


def import_run(source: Path | list[Path], kind: str, root: Path, host: str, *, concurrency: tuple[int, ...] = (),
               summary: Path | None = None, load_model: str = "auto") -> Path:
    """Import ``source`` (several files for hey: one per concurrency) under ``root``; return the run directory."""
    from capplan.store.import_samples import ImportOptions
    from capplan.store.run_import import import_locust_csv, import_measurements_csv

    if kind not in FORMATS:
        raise ConfigError(f"unknown import format, {kind!r}, use one of {', '.join(FORMATS)}")
    sources = [Path(p) for p in (source if isinstance(source, list) else [source])]
    chosen = detect_format(sources[0]) if kind == "auto" else kind
    if len(sources) > 1 and chosen != "hey":
        raise ConfigError(f"only hey imports several files, got {len(sources)} {chosen} files, import them one by one")
    options = ImportOptions(root=root, host=host)
    if chosen == "hey":
        from capplan.store.import_hey import import_hey_csv

        return import_hey_csv(sources, concurrency, options)
    if chosen == "k6":
        from capplan.store.import_k6 import import_k6_json

        return import_k6_json(sources[0], summary=summary, load_model=load_model, options=options)
    if chosen == "jmeter":
        from capplan.store.import_jmeter import import_jmeter_jtl

        return import_jmeter_jtl(sources[0], options)
    if chosen == "locust":
        return import_locust_csv(sources[0], root=root, host=host)
    return import_measurements_csv(sources[0], root=root, host=host)
