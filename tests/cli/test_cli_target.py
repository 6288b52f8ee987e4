"""`capplan target`: foreground server, clean Ctrl-C, bad flags exit 2."""

from __future__ import annotations

import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from typer.testing import CliRunner

from capplan.cli.app import app

runner = CliRunner()


def test_target_prints_its_url_and_capacity_serves_and_stops_cleanly_on_ctrl_c():
    capplan = Path(sys.executable).with_name("capplan")
    process = subprocess.Popen([str(capplan), "target", "--port", "0", "--slots", "8", "--service-ms", "20"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first_line = process.stdout.readline()
        assert "nominal capacity C/S = 400 rps" in first_line
        url = first_line.split("listening on ")[1].split()[0]
        assert url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(url + "/", timeout=5) as response:
            assert response.status == 200
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=10)
    assert process.returncode == 0, err
    assert "demo target stopped" in out
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--host", "0.0.0.0"], "not loopback"),
        (["--slots", "0"], "slots is invalid, 0"),
        (["--service-ms", "-3"], "service-ms is invalid, -3.0"),
        (["--error-rate", "2"], "error-rate is invalid, 2.0"),
    ],
)
def test_bad_target_flags_exit_2_with_one_error_line(args, message):
    result = runner.invoke(app, ["target", *args])
    assert result.exit_code == 2
    assert message in result.output
    assert result.output.count("Error:") == 1


def test_a_port_in_use_is_a_load_test_error_with_exit_5():
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = runner.invoke(app, ["target", "--port", str(port)])
    assert result.exit_code == 5
    assert f"127.0.0.1:{port}" in result.output and "choose another --port" in result.output
