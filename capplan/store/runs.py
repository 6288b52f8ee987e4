"""The run store: one directory per load-test run (docs/architecture.md, "The run directory").

This module is the public face of the store; the parts live in ``run_format`` (schemas,
atomic writes, secret stripping), ``run_writer`` (:class:`RunWriter`), ``run_parts``
(part files), ``run_reader`` (:func:`read_run`, :func:`list_runs`) and ``run_import``
(Locust CSV and generic measurement CSV importers).
"""

from __future__ import annotations

from capplan.store.run_format import SECOND_COLUMNS, STEP_COLUMNS, strip_secrets
from capplan.store.run_import import import_locust_csv, import_measurements_csv
from capplan.store.run_reader import Run, RunSummary, list_runs, read_meta, read_run
from capplan.store.run_writer import DEFAULT_ROOT, RunWriter

__all__ = [
    "DEFAULT_ROOT",
    "SECOND_COLUMNS",
    "STEP_COLUMNS",
    "Run",
    "RunSummary",
    "RunWriter",
    "import_locust_csv",
    "import_measurements_csv",
    "list_runs",
    "read_meta",
    "read_run",
    "strip_secrets",
]
