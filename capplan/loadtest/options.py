"""Build :class:`LoadTestSettings` from command-line flags and an optional capplan.toml.

Precedence: a flag given on the command line, else ``[loadtest]`` / ``[service]`` of
``--config``, else the library default. Only the ``[service]`` and ``[loadtest]``
sections are read (validated with capplan.config's models), so a capplan.toml holding
just those works for load tests.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from capplan.config.units import parse_duration
from capplan.errors import ConfigError
from capplan.loadtest.settings import LoadTestSettings

_DURATION_FLAGS = {
    "max_duration": "max_duration_s", "ramp": "ramp_s", "hold": "hold_s", "step_duration": "step_s",
    "max_step_duration": "max_step_s", "spike_before": "spike_pre_s", "spike_window": "spike_window_s",
    "spike_after": "spike_post_s", "soak_duration": "soak_s", "settle": "settle_s",
}
_PLAIN_FLAGS = {
    "host": "host", "locustfile": "locustfile", "path": "path", "users": "users", "rate": "rate_rps",
    "workers": "workers", "out": "out_dir", "target_pid": "target_pid",
    "target_rss_query": "target_rss_query", "growth": "growth",
    "refine_steps": "refine_steps", "error_ceiling": "error_rate_max", "multiplier": "spike_multiplier",
    "max_in_flight": "max_in_flight", "master_host": "master_host", "master_port": "master_port",
    "raw_dir": "raw_dir", "seed": "seed", "max_users": "max_level", "recovery_tolerance": "recovery_tolerance",
}


def parse_duration_flag(flag: str, text: str) -> float:
    """Seconds from ``"120s"``, ``"2m"``, ``"1h"``; ConfigError naming the flag otherwise."""
    try:
        seconds = parse_duration(text).seconds
    except ValueError as exc:
        raise ConfigError(f"--{flag.replace('_', '-')} {exc}") from None
    if seconds <= 0 and flag not in ("ramp", "settle"):
        raise ConfigError(f"--{flag.replace('_', '-')} must be positive, {text!r}, write e.g. 30s, 2m or 1h")
    return seconds


@dataclass(frozen=True)
class ConfigDefaults:
    """What capplan.toml contributes: settings fields and the SLO list."""

    fields: dict[str, Any]
    slos: tuple[str, ...]


def read_config_defaults(path: Path, scenario: str) -> ConfigDefaults:
    """Read ``[service]`` and ``[loadtest]`` of a capplan.toml into settings fields."""
    from pydantic import ValidationError

    from capplan.config import (  # engineer 5's pydantic models
        LoadTestConfig,
        ServiceConfig,
    )

    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"config file not found, {str(path)!r}, pass --config with the path to capplan.toml") from exc
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read {str(path)!r}, {exc}, fix the file") from exc
    try:
        service = ServiceConfig.model_validate(raw.get("service", {}))
        loadtest = LoadTestConfig.model_validate(raw.get("loadtest", {}))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"{Path(path).name} [{where}] {first['msg']}, {first.get('input')!r}, "
                          "fix that entry") from None
    base = Path(path).resolve().parent
    return ConfigDefaults(_loadtest_fields(loadtest, scenario, base), tuple(service.slos))


def _loadtest_fields(lt: Any, scenario: str, base: Path) -> dict[str, Any]:
    fields: dict[str, Any] = {"host": lt.host, "allow_hosts": tuple(lt.allow_hosts),
                              "workers": lt.workers if lt.workers > 1 else 0, "out_dir": base / lt.out_dir}
    if scenario == "stress" or "max_duration" in lt.model_fields_set:
        fields["max_duration_s"] = lt.max_duration.seconds  # fixed schedules otherwise run to their end
    if lt.locustfile:
        fields["locustfile"] = base / lt.locustfile
    if scenario == "baseline":
        fields.update(users=lt.baseline.users, hold_s=lt.baseline.duration.seconds)
    elif scenario == "stress":
        fields.update(users=lt.stress.start_users, growth=lt.stress.growth, max_level=float(lt.stress.max_users),
                      step_s=lt.stress.step_duration.seconds,
                      max_step_s=2 * lt.stress.step_duration.seconds)
        if lt.stress.rate is not None:
            fields.update(rate_rps=lt.stress.rate, users=None)
    elif scenario == "spike":
        fields.update(users=lt.spike.users, spike_multiplier=lt.spike.multiplier,
                      spike_pre_s=lt.spike.before.seconds, spike_window_s=lt.spike.window.seconds,
                      spike_post_s=lt.spike.after.seconds)
    else:
        fields.update(users=lt.soak.users, soak_s=lt.soak.duration.seconds)
    return fields


def build_settings(scenario: str, flags: dict[str, Any], config: Path | None) -> LoadTestSettings:
    """Merge flags (None = not given) over capplan.toml over defaults, then validate."""
    defaults = read_config_defaults(config, scenario) if config is not None else ConfigDefaults({}, ())
    fields: dict[str, Any] = dict(defaults.fields)
    for flag, name in _PLAIN_FLAGS.items():
        if flags.get(flag) is not None:
            fields[name] = flags[flag]
    for flag, name in _DURATION_FLAGS.items():
        if flags.get(flag) is not None:
            fields[name] = parse_duration_flag(flag, flags[flag])
    if flags.get("rate") is not None and flags.get("users") is None:
        fields["users"] = None  # --rate on the command line overrides users from the config
    if flags.get("users") is not None and flags.get("rate") is None:
        fields["rate_rps"] = None
    if flags.get("max_users") is not None:
        fields["max_level"] = float(flags["max_users"])
    fields["allow_hosts"] = tuple(flags.get("allow_host") or ()) + tuple(fields.get("allow_hosts", ()))
    fields["slos"] = tuple(flags.get("slo") or ()) or defaults.slos
    fields["role"] = "master" if flags.get("master") else "worker" if flags.get("worker") else "local"
    if not fields.get("host"):
        raise ConfigError("no target given, --host is missing, pass e.g. --host http://127.0.0.1:8089 "
                          "or set [loadtest] host in capplan.toml")
    return LoadTestSettings(scenario=scenario, **fields)
