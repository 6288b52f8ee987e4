"""Fixtures for load-test tests: a private Prometheus scraping a demo target."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator

import pytest


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def prometheus_scraping(tmp_path_factory) -> Iterator[Callable[[str], str]]:
    """A function starting a Prometheus that scrapes ``url``/metrics every second.

    It returns the server's ``host:port`` once the first scrape arrived; every server
    started is stopped after the test.
    """
    if shutil.which("prometheus") is None:
        pytest.skip("Debian prometheus not installed (CI installs it)")
    processes: list[subprocess.Popen] = []

    def start(scrape_url: str) -> str:
        root = tmp_path_factory.mktemp("prometheus")
        (root / "prometheus.yml").write_text(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: demo\n"
            f"    static_configs:\n      - targets: ['{scrape_url.split('//', 1)[1]}']\n")
        port = _free_port()
        processes.append(subprocess.Popen(
            ["prometheus", f"--config.file={root / 'prometheus.yml'}", f"--storage.tsdb.path={root / 'data'}",
             f"--web.listen-address=127.0.0.1:{port}"],
            stdout=subprocess.DEVNULL, stderr=(root / "prometheus.log").open("w")))
        query = f"http://127.0.0.1:{port}/api/v1/query?query=process_resident_memory_bytes"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(query, timeout=1) as response:
                    if b'"value"' in response.read():  # the first scrape arrived
                        return f"127.0.0.1:{port}"
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"prometheus did not scrape {scrape_url} within 30 s, see {root / 'prometheus.log'}")

    yield start
    for process in processes:
        process.terminate()
        process.wait(timeout=20)
