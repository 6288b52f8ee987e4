"""``python -m capplan``: the CLI.

The guard matters: where worker processes are spawned rather than forked (macOS, Windows),
each worker imports the main module again, and must not start the CLI a second time.
"""

from capplan.cli.app import main

if __name__ == "__main__":
    main()
