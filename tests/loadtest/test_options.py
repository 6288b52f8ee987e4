"""Settings from flags over capplan.toml over defaults; validation with the flag to fix."""

from __future__ import annotations

import re

import pytest

from capplan.errors import ConfigError, LoadTestError
from capplan.app.loadtest_options import build_settings, parse_duration_flag
from capplan.loadtest.settings import LoadTestSettings, check_reachable

CONFIG = """
[service]
slos = ["p95<250ms"]

[loadtest]
host = "http://127.0.0.1:8089"
workers = 3

[loadtest.soak]
users = 7
duration = "45m"

[loadtest.stress]
rate = 20.0
growth = 1.5
"""


@pytest.fixture()
def config(tmp_path):
    path = tmp_path / "capplan.toml"
    path.write_text(CONFIG)
    return path


@pytest.mark.parametrize(("text", "seconds"), [("120s", 120), ("2m", 120), ("1h", 3600), ("500ms", 0.5)])
def test_durations_accept_units(text, seconds):
    assert parse_duration_flag("hold", text) == seconds


def test_config_supplies_scenario_defaults_and_slos(config):
    s = build_settings("soak", {}, config)
    assert (s.users, s.soak_s, s.slos, s.workers) == (7, 2700.0, ("p95<250ms",), 3)
    assert s.effective_max_duration_s >= s.soak_s, "a soak from config is not cut by the stress cap"


def test_flags_override_the_config(config):
    s = build_settings("soak", {"users": 2, "soak_duration": "10s", "slo": ["p99<1s"]}, config)
    assert (s.users, s.soak_s, s.slos) == (2, 10.0, ("p99<1s",))


def test_the_stress_growth_comes_from_the_config_unless_the_flag_gives_it(config):
    assert build_settings("stress", {}, config).growth == 1.5
    assert build_settings("stress", {"growth": 3.0}, config).growth == 3.0


def test_users_flag_switches_a_config_open_model_back_to_closed(config):
    assert build_settings("stress", {}, config).rate_rps == 20.0
    s = build_settings("stress", {"users": 4}, config)
    assert (s.users, s.rate_rps, s.open_model) == (4, None, False)


def test_allowed_non_loopback_host_is_accepted_only_when_named():
    with pytest.raises(ConfigError, match="--allow-host db.example"):
        LoadTestSettings(scenario="baseline", host="http://db.example:80")
    s = LoadTestSettings(scenario="baseline", host="http://db.example:80", allow_hosts=("db.example",))
    assert s.host.endswith(":80")


def test_loopback_names_are_accepted():
    for host in ("http://localhost:1", "http://127.0.0.2:1", "http://[::1]:1"):
        LoadTestSettings(scenario="baseline", host=host)


def test_unreachable_host_is_a_load_test_error():
    with pytest.raises(LoadTestError, match="target unreachable"):
        check_reachable("http://127.0.0.1:9", timeout_s=1)


def test_worker_settings_survive_the_command_line_round_trip(tmp_path):
    from capplan.loadtest.distributed import settings_from_json, settings_to_json

    s = LoadTestSettings(scenario="stress", host="http://127.0.0.1:1", slos=("p95<1s",), rate_rps=5.0,
                         raw_dir=tmp_path, role="worker")
    assert settings_from_json(settings_to_json(s)) == s


def test_stress_with_no_flags_and_with_an_empty_stress_section_resolve_to_identical_settings(tmp_path):
    empty = tmp_path / "empty.toml"
    empty.write_text("[loadtest]\n[loadtest.stress]\n")
    flags = {"host": "http://127.0.0.1:8089"}
    no_config = build_settings("stress", flags, None)
    assert build_settings("stress", flags, empty) == no_config
    assert no_config == LoadTestSettings(scenario="stress", host="http://127.0.0.1:8089")
    assert (no_config.step_s, no_config.max_level, no_config.effective_max_duration_s) == (10.0, 4096.0, 600.0)


def test_the_root_capplan_toml_resolves_to_the_same_settings_as_no_config_at_all():
    """Its [loadtest] sections write the declared defaults, so they must change nothing."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "capplan.toml"
    for scenario in ("baseline", "stress", "spike", "soak"):
        from_file = build_settings(scenario, {}, root)
        bare = build_settings(scenario, {"host": from_file.host, "slo": list(from_file.slos)}, None)
        assert from_file.parameters() == bare.parameters() | {"out_dir": str(root.parent / "datasets/runs")}


def test_every_knob_key_is_documented_with_its_default_in_its_section_of_the_root_capplan_toml():
    import re
    import tomllib
    from pathlib import Path

    from capplan.config.loadtest import config_fields
    from capplan.loadtest.knob import PER_SCENARIO, SCENARIOS, TOP

    text = (Path(__file__).resolve().parents[2] / "capplan.toml").read_text()
    sections = dict(re.findall(r"^\[(loadtest(?:\.\w+)?)\][^\n]*\n(.*?)(?=^\[)", text, re.MULTILINE | re.DOTALL))
    wanted = {"loadtest": config_fields(TOP)} | {f"loadtest.{s}": config_fields(PER_SCENARIO, s) for s in SCENARIOS}
    missing, wrong = [], []
    for section, keys in wanted.items():
        lines = dict(re.findall(r"^(#? ?\w+) = (.*)$", sections.get(section, ""), re.MULTILINE))
        for key, (name, spec) in keys.items():
            line = next((k for k in lines if k.lstrip("# ") == key), None)
            if line is None:
                missing.append(f"[{section}] {key}")
                continue
            default = LoadTestSettings.__dataclass_fields__[name].default
            if default is None or name in ("host", "out_dir"):
                continue  # examples only, a required value, a path relative to the file
            written = tomllib.loads(f"v = {lines[line]}")["v"]
            if spec.kind == "duration":
                written = parse_duration_flag(key, written)
            if written != (list(default) if isinstance(default, tuple) else default):
                wrong.append(f"[{section}] {key} = {written!r}, default {default!r}")
    assert (missing, wrong) == ([], [])


def test_the_request_timeout_comes_from_the_flag_or_the_config(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('[loadtest]\nrequest_timeout = "3s"\n')
    flags = {"host": "http://127.0.0.1:1"}
    assert build_settings("soak", flags, None).request_timeout_s == 10.0
    assert build_settings("soak", flags, cfg).request_timeout_s == 3.0
    assert build_settings("soak", flags | {"request_timeout": "500ms"}, cfg).request_timeout_s == 0.5


def test_a_scenario_section_only_takes_that_scenarios_knobs(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('[loadtest.soak]\ngrowth = 3\n')
    with pytest.raises(ConfigError, match="growth"):
        build_settings("soak", {"host": "http://127.0.0.1:1"}, cfg)


def test_a_bad_config_value_names_the_key(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('[loadtest.stress]\ngrowth = 0.5\n')
    with pytest.raises(ConfigError, match=r"stress.growth.*greater than 1"):
        build_settings("stress", {"host": "http://127.0.0.1:1"}, cfg)


@pytest.mark.parametrize(("field", "value", "message"), [
    ("users", 0, "--users must be at least 1, 0, pass e.g. --users 1"),
    ("rate_rps", -1.0, "--rate must be positive"),
    ("workers", 99, "--workers must be at most 64"),
    ("error_rate_max", 2.0, "--error-ceiling must be at most 1"),
    ("request_timeout_s", 0.0, "--request-timeout must be positive"),
])
def test_library_callers_get_the_declared_bounds_with_the_flag_to_fix(field, value, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        LoadTestSettings(scenario="stress", host="http://127.0.0.1:1", **{field: value})
