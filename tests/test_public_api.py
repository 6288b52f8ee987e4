"""The library's public names resolve, and importing capplan stays light."""

from __future__ import annotations

import subprocess
import sys

import capplan


def test_every_public_name_resolves():
    for name in capplan.__all__:
        assert getattr(capplan, name) is not None, name


def test_importing_capplan_loads_neither_pandas_nor_locust():
    code = "import sys, capplan; print(sorted(m for m in ('pandas', 'locust', 'prophet') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
