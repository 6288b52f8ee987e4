"""Settings from flags over capplan.toml over defaults; validation with the flag to fix."""

from __future__ import annotations

import pytest

from capplan.errors import ConfigError, LoadTestError
from capplan.loadtest.options import build_settings, parse_duration_flag
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
