"""Entry point of a local Locust worker process: ``python -m capplan.cli.worker_process SETTINGS_JSON``.

The master (capplan.loadtest.distributed) starts one per ``--workers``; a failure is one ``Error:``
line on stderr and the error's exit code, like every capplan command.
"""

from __future__ import annotations

import sys

from capplan.errors import CapplanError


def main() -> None:
    """Run one worker with the settings the master serialized."""
    from capplan.loadtest.worker import run_worker, settings_from_json

    try:
        run_worker(settings_from_json(sys.argv[1]))
    except CapplanError as exc:
        print(f"Error: {exc}", file=sys.stderr, flush=True)
        sys.exit(exc.exit_code)


if __name__ == "__main__":
    main()
