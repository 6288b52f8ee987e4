"""Whole-file writes that never leave half a file: a temp file beside the target, then a rename.

The rename (``os.replace``) alone is atomic against a killed process (the page cache
survives it); ``durable`` adds an fsync, which also survives a power cut but costs
~10-100 ms. Files get the permissions a plain ``open(..., "w")`` would give (0666 less
the umask), not the 0600 of ``tempfile.mkstemp``: reports and archives are meant to be shared.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_bytes_atomic(path: Path, data: bytes, durable: bool = False) -> Path:
    """Write ``data`` to ``path`` atomically (parent directories must exist); returns ``path``."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_text_atomic(path: Path, text: str, durable: bool = False) -> Path:
    """:func:`write_bytes_atomic` for UTF-8 text."""
    return write_bytes_atomic(path, text.encode("utf-8"), durable)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_output(path: Path, text: str, what: str) -> Path:
    """Write an output file the user asked for (report, rule file, manifest, export) atomically.

    Creates its directory. Every unwritable output is the same fault, so it is always a
    :class:`~capplan.errors.ReportError` (exit 4) naming ``what`` and the path.
    """
    from capplan.errors import ReportError

    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return write_text_atomic(path, text)
    except OSError as exc:
        raise ReportError(f"cannot write the {what}, {str(path)!r} ({exc.strerror}), "
                          "choose a writable --out path") from exc
