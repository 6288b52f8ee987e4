"""The docs cannot drift: command output in docs/ is what the commands print, and links resolve."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOC_PAGES = sorted((ROOT / "docs").glob("*.md"))


def _cog(*args: str) -> subprocess.CompletedProcess:
    cog = Path(sys.executable).parent / "cog"
    return subprocess.run([str(cog), "-I", "docs", *args, *map(str, DOC_PAGES)], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_command_output_in_docs_is_what_the_commands_print_today():
    result = _cog("--check")
    assert result.returncode == 0, f"run `make docs` to regenerate:\n{result.stdout}{result.stderr}"


def test_every_local_link_in_readme_and_docs_resolves():
    broken = []
    for page in [ROOT / "README.md", *DOC_PAGES]:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text()):
            if "://" in target:
                continue
            if not (page.parent / target).exists():
                broken.append(f"{page.relative_to(ROOT)} -> {target}")
    assert broken == []


def test_readme_stays_a_front_door_not_a_manual():
    assert len((ROOT / "README.md").read_text().splitlines()) <= 150
