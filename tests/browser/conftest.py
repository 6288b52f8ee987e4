"""Browser-test fixtures: one headless Chromium per module, helpers on sys.path."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "report"))

from chromium import chromium_context, require_chromium  # noqa: E402


@pytest.fixture(scope="module")
def chromium():
    """A headless Chromium context (Debian package), shared by the tests of one module."""
    require_chromium()
    with chromium_context() as context:
        yield context
