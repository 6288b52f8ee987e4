"""Run a capplan command for a docs page and paste its real output (used by ``cog -r docs/*.md``).

Each docs page holds blocks like::

    <!-- [[[cog import cogdoc; cogdoc.show("capplan plan --config docs/examples/capplan.toml --months 6") ]]] -->
    ... generated output ...
    <!-- [[[end]]] -->

``make docs`` regenerates them; ``tests/test_docs.py`` runs ``cog --check`` so a page whose output
no longer matches what the command prints fails the suite.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import cog  # provided by cogapp while it runs

ROOT = Path(__file__).resolve().parent.parent


def _rounded(value: object) -> object:
    """Floats to 6 significant digits, so a last-bit difference between CPUs cannot fail the check."""
    if isinstance(value, float):
        return float(f"{value:.6g}")
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    return value


def show(command: str, *, exit_code: int | None = 0, head: int | None = None, pretty_json: bool = False) -> None:
    """Print ``command`` as typed and its stdout+stderr, in a console block.

    ``exit_code`` is checked (None: any), so a docs example that starts failing fails the check.
    ``pretty_json`` re-indents a one-line JSON answer; ``head`` keeps its first lines.
    """
    argv = shlex.split(command)
    if argv[0] == "capplan":
        argv = [str(Path(sys.executable).parent / "capplan"), *argv[1:]]
    env = {**os.environ, "COLUMNS": "100", "NO_COLOR": "1", "TERM": "dumb", "PYTHONHASHSEED": "0"}
    proc = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    if exit_code is not None and proc.returncode != exit_code:
        raise SystemExit(f"{command!r} exited {proc.returncode}, expected {exit_code}:\n{proc.stderr}")
    text = proc.stdout + proc.stderr
    if pretty_json:
        text = json.dumps(_rounded(json.loads(proc.stdout)), indent=2)
    out = text.rstrip("\n").splitlines()
    if head is not None and len(out) > head:
        out = [*out[:head], "…"]
    shown = f"$ {command}" + (f"   # exit {proc.returncode}" if proc.returncode else "")
    cog.outl("```console")
    cog.outl(shown)
    for line in out:
        cog.outl(line.rstrip())
    cog.outl("```")
