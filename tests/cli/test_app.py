import re

from typer.testing import CliRunner

import capplan
from capplan.cli.app import app

runner = CliRunner()


def test_version_prints_the_package_version():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"capplan {capplan.__version__}"


def test_unknown_command_is_a_usage_error():
    result = runner.invoke(app, ["frobnicate"])
    assert result.exit_code == 2


def test_public_api_all_is_sorted_and_importable():
    assert capplan.__all__ == sorted(capplan.__all__)
    for name in capplan.__all__:
        assert hasattr(capplan, name), name


def test_exit_codes_follow_the_product_contract():
    assert capplan.SloBreached.exit_code == 1
    assert capplan.ConfigError.exit_code == 2
    assert capplan.InputDataError.exit_code == 3
    assert capplan.ModelError.exit_code == 4
    assert capplan.LoadTestError.exit_code == 5
    assert re.match(r"\d+\.\d+\.\d+", capplan.__version__)


def test_capplan_error_is_one_line_on_stderr_with_its_exit_code():
    result = runner.invoke(app, ["analyze", "/nonexistent/measurements.csv"])
    assert result.exit_code == 3
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ")
    assert "Traceback" not in result.output


def test_debug_flag_shows_the_exception_instead():
    result = runner.invoke(app, ["--debug", "analyze", "/nonexistent/measurements.csv"])
    assert result.exit_code != 0
    assert isinstance(result.exception, capplan.InputDataError)


def test_help_lists_every_product_command():
    result = runner.invoke(app, ["--help"])
    for name in ["demo", "target", "loadtest", "analyze", "forecast", "plan", "rules", "report", "review"]:
        assert name in result.output


def test_starting_the_cli_does_not_import_the_heavy_libraries():
    import subprocess
    import sys

    code = "import sys, capplan.cli.app; print(sorted(m for m in ('scipy', 'pandas', 'prophet', 'locust') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
