"""capplan.toml validation: the sample loads, and every bad input is one ConfigError line with exit 2."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from capplan.config import load_config, parse_duration, parse_growth
from capplan.errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parents[1]
SAMPLE = REPO_ROOT / "capplan.toml"

MINIMAL = """
[capacity]
per_instance_rps = 100
[demand]
from_rate = 500
growth = "10%/month"
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "capplan.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _error(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(_write(tmp_path, text))
    message = str(info.value)
    assert "\n" not in message
    return message


def test_sample_capplan_toml_loads_with_its_documented_values():
    config = load_config(SAMPLE)
    assert config.fleet.instance_type == "m6i.large"
    assert config.instance_price.hourly == pytest.approx(0.096)
    assert config.pricing.instance_types["m6i.xlarge"].hourly == pytest.approx(0.192)
    assert config.pricing.instance_types["c6i.large"].hourly == pytest.approx(0.085)
    assert config.pricing.hours_per_month == 730
    assert config.fleet.lead_time.days == 14
    assert config.demand.horizon_days == 730
    assert [s.text for s in config.service.objectives] == ["p95<300ms", "error_rate<0.5%"]


def test_minimal_config_gets_documented_defaults(tmp_path):
    config = load_config(_write(tmp_path, MINIMAL))
    assert config.capacity.target_utilization == 0.8
    assert config.fleet.spare_instances == 1
    assert config.demand.growth.fraction_per_month == pytest.approx(0.10)


def test_relative_paths_resolve_against_the_config_directory(tmp_path):
    config = load_config(_write(tmp_path, MINIMAL))
    assert config.resolve("datasets/x.csv") == tmp_path / "datasets" / "x.csv"


def test_unknown_field_names_the_field_path_and_the_allowed_fields(tmp_path):
    message = _error(tmp_path, MINIMAL + "[fleet]\ncurent_count = 3\n")
    assert message.startswith("capplan.toml: fleet.curent_count is not a known field")
    assert "current_count" in message


def test_duration_with_a_space_before_the_unit_is_rejected(tmp_path):
    message = _error(tmp_path, MINIMAL + '[fleet]\nlead_time = "14 d"\n')
    assert "fleet.lead_time" in message and "'14 d'" in message and '"14d"' in message


def test_slo_with_a_space_before_the_unit_is_rejected(tmp_path):
    message = _error(tmp_path, MINIMAL + '[service]\nslos = ["p95<300 ms"]\n')
    assert "service.slos" in message and "300 ms" in message


def test_negative_count_names_the_field_and_the_bound(tmp_path):
    message = _error(tmp_path, MINIMAL + "[fleet]\ncurrent_count = -3\n")
    assert message == "capplan.toml: fleet.current_count must be >= 0, got -3, use a value in range"


def test_missing_price_for_the_chosen_instance_type(tmp_path):
    message = _error(tmp_path, MINIMAL + '[fleet]\ninstance_type = "m7g.large"\n')
    assert "fleet.instance_type" in message and "'m7g.large'" in message
    assert '[pricing.instance_types."m7g.large"]' in message


def test_nested_list_field_path_has_its_index(tmp_path):
    text = MINIMAL + '[[resources]]\nname = "disk"\nunit = "GB"\nlimit = 100\ncurrent = -10\ngrowth = "1GB/day"\n'
    assert _error(tmp_path, text) == "capplan.toml: resources[0].current must be >= 0.0, got -10.0, use a value in range"


def test_both_capacity_sources_is_an_error(tmp_path):
    message = _error(tmp_path, MINIMAL.replace("per_instance_rps = 100", 'per_instance_rps = 100\nruns = ["r"]'))
    assert "capacity" in message and "exactly one source" in message


def test_an_unknown_holiday_country_is_named_with_examples(tmp_path):
    message = _error(tmp_path, MINIMAL.replace('growth = "10%/month"', 'growth = "10%/month"\ncountry = "XX"'))
    assert "demand.country" in message and "'XX'" in message and '"US"' in message


def test_a_known_holiday_country_is_accepted(tmp_path):
    config = load_config(_write(tmp_path, MINIMAL.replace('growth = "10%/month"', 'growth = "10%/month"\ncountry = "DE"')))
    assert config.demand.country == "DE"


def test_redundancy_given_twice_is_an_error(tmp_path):
    assert "keep only one" in _error(tmp_path, MINIMAL + "[fleet]\nn_plus = 1\nzones = 3\n")


def test_missing_required_section_is_named(tmp_path):
    message = _error(tmp_path, "[capacity]\nper_instance_rps = 100\n")
    assert message.startswith("capplan.toml: demand is required")


def test_invalid_toml_syntax_is_a_config_error(tmp_path):
    assert "not valid TOML" in _error(tmp_path, "[capacity\n")


def test_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.toml")


def test_bad_config_exits_2_with_one_line_through_the_cli(tmp_path):
    from capplan.cli.app import app

    path = _write(tmp_path, MINIMAL + "[fleet]\ncurrent_count = -1\n")
    result = CliRunner().invoke(app, ["plan", "--config", str(path)])
    assert result.exit_code == 2
    assert re.fullmatch(r"Error: capplan\.toml: fleet\.current_count .*\n", result.output)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("300ms", 0.3), ("30s", 30), ("5m", 300), ("6h", 21_600), ("14d", 1_209_600), ("2w", 1_209_600),
     ("24mo", 730 * 86_400), ("1y", 365 * 86_400)],
)
def test_durations_parse_to_seconds_with_730_hour_months(text, seconds):
    assert parse_duration(text).seconds == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["14 d", "14", "d", "14days", "-3d", "1.d"])
def test_malformed_durations_are_rejected(text):
    with pytest.raises(ValueError, match="no space"):
        parse_duration(text)


def test_weekly_growth_compounds_to_a_monthly_fraction():
    """2 %/week over a 30.4167-day month: 1.02 ** (30.4167 / 7) - 1 = 0.0899."""
    assert parse_growth("2%/week").fraction_per_month == pytest.approx(1.02 ** (730 / 24 / 7) - 1)


def test_absolute_growth_is_per_day():
    assert parse_growth("70GB/week").per_day == pytest.approx(10.0)
    assert parse_growth("70GB/week").unit == "GB"


def test_one_day_and_span_events_are_temporary_and_start_alone_is_a_lasting_step(tmp_path):
    text = MINIMAL + ('[[demand.events]]\nname = "bf"\ndate = 2027-11-26\nmultiplier = 2.0\n'
                      '[[demand.events]]\nname = "launch"\nstart = 2027-03-01\nmultiplier = 1.5\n')
    bf, launch = load_config(_write(tmp_path, text)).demand.events
    assert not bf.is_permanent and bf.last_day == bf.first_day
    assert launch.is_permanent and launch.last_day is None


def test_event_with_end_before_start_is_rejected(tmp_path):
    text = MINIMAL + '[[demand.events]]\nname = "x"\nstart = 2027-03-10\nend = 2027-03-01\nmultiplier = 2.0\n'
    assert "ends before it starts" in _error(tmp_path, text)


def test_event_with_date_and_start_is_rejected(tmp_path):
    text = MINIMAL + '[[demand.events]]\nname = "x"\ndate = 2027-03-10\nstart = 2027-03-01\nmultiplier = 2.0\n'
    assert _error(tmp_path, text).startswith("capplan.toml: demand.events[0] event 'x' needs either date")


def test_what_if_growth_must_be_a_percentage(tmp_path):
    assert "percentage growth" in _error(tmp_path, MINIMAL.replace('"10%/month"', '"10rps/month"'))


def test_every_config_field_is_documented_in_the_sample_capplan_toml():
    """Docs checked by tests: each field of every section appears (set or commented) in capplan.toml."""
    from pydantic import BaseModel

    from capplan.config import CapplanConfig
    from capplan.config import _model_in as model_in

    text = SAMPLE.read_text(encoding="utf-8")
    missing, todo = [], [CapplanConfig]
    while todo:
        model = todo.pop()
        for name, field in model.model_fields.items():
            if not re.search(rf"(^|[\s#\[.]){re.escape(name)}\b", text, re.MULTILINE):
                missing.append(f"{model.__name__}.{name}")
            inner = model_in(field.annotation)
            if inner is not None and issubclass(inner, BaseModel):
                todo.append(inner)
    assert missing == []


def test_resource_sizes_with_units_convert_to_the_resource_unit(tmp_path):
    """limit "2TB" → 2000 GB, current "1.5TB" → 1500 GB, growth "500MB/day" → 0.5 GB/day."""
    text = MINIMAL + ('[[resources]]\nname = "disk"\nunit = "GB"\nlimit = "2TB"\ncurrent = "1.5TB"\n'
                      'growth = "500MB/day"\n')
    (disk,) = load_config(_write(tmp_path, text)).resources
    assert (disk.limit, disk.current, disk.growth.per_day) == (pytest.approx(2000.0), pytest.approx(1500.0),
                                                                pytest.approx(0.5))


def test_resource_size_with_a_space_is_rejected(tmp_path):
    text = MINIMAL + '[[resources]]\nname = "disk"\nunit = "GB"\nlimit = "2 TB"\ncurrent = 1\ngrowth = "1GB/day"\n'
    message = _error(tmp_path, text)
    assert message.startswith("capplan.toml: resources[0] limit must be a number or a size")
    assert "'2 TB'" in message


def test_resource_growth_in_an_unrelated_unit_is_rejected(tmp_path):
    text = MINIMAL + ('[[resources]]\nname = "conns"\nunit = "connections"\nlimit = 500\ncurrent = 100\n'
                      'growth = "5GB/day"\n')
    assert "cannot convert 'GB' to 'connections'" in _error(tmp_path, text)


def test_dotted_catalog_keys_are_quoted_in_the_field_path(tmp_path):
    text = MINIMAL + '[pricing.instance_types."m6i.large"]\nhourly = -0.096\n'
    assert _error(tmp_path, text).startswith('capplan.toml: pricing.instance_types."m6i.large".hourly must be > 0.0')


def test_section_level_problem_names_the_section_once(tmp_path):
    message = _error(tmp_path, "[capacity]\nper_instance_rps = 100\n[demand]\nhorizon = \"6mo\"\n")
    assert message.startswith("capplan.toml: demand needs exactly one source, got source=None")


def test_a_growth_range_in_demand_is_a_band_of_monthly_rates(tmp_path):
    """12-18 %/month → the what-if band's low and high; its single rate is the band's middle."""
    text = MINIMAL.replace('growth = "10%/month"', 'growth = "12-18%/month"')
    growth = load_config(_write(tmp_path, text)).demand.growth
    assert growth.is_range and growth.band_per_month == pytest.approx((0.12, 0.18))
    assert growth.fraction_per_month == pytest.approx(0.15)


def test_a_weekly_growth_range_compounds_each_end_to_a_month():
    low, high = parse_growth("1-2%/week").band_per_month
    assert (low, high) == pytest.approx((1.01 ** (730 / 24 / 7) - 1, 1.02 ** (730 / 24 / 7) - 1))


def test_a_growth_range_written_high_to_low_names_the_fix(tmp_path):
    text = MINIMAL.replace('growth = "10%/month"', 'growth = "18-12%/month"')
    assert "write \"12-18%/month\"" in _error(tmp_path, text)


def test_a_resource_growth_range_is_rejected_as_not_one_rate(tmp_path):
    text = MINIMAL + '[[resources]]\nname = "disk"\nunit = "GB"\nlimit = 100\ncurrent = 10\ngrowth = "1-2%/month"\n'
    assert "must be one rate" in _error(tmp_path, text)
