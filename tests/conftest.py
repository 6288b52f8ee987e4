"""Shared fixtures: the public reference data beside the checkout."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
REFERENCE_DIR = REPO_ROOT.parent / "shared" / "reference"


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    """../shared/reference (public data with published results); skip when absent (a user's clone)."""
    if not REFERENCE_DIR.is_dir():
        pytest.skip(f"reference data not found at {REFERENCE_DIR} (present in CI beside the checkout)")
    return REFERENCE_DIR
