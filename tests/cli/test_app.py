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
