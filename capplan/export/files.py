"""Write exported configs atomically (temp file + rename): YAML manifests and rule files, JSON dashboards."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from capplan.store.atomic import write_output


def yaml_text(*documents: dict) -> str:
    """One or more YAML documents (``---`` between them), keys in the order built."""
    return "---\n".join(yaml.safe_dump(d, sort_keys=False, allow_unicode=True, width=1000) for d in documents)


def json_text(document: dict) -> str:
    """Indented JSON with a final newline."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def write_exports(files: dict[str, str], out_dir: Path) -> list[Path]:
    """Write ``{file name: text}`` into ``out_dir``; a failure names the path and leaves no half file."""
    return [write_output(Path(out_dir) / name, text, "export") for name, text in files.items()]
