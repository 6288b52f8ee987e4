"""Build :class:`LoadTestSettings` from command-line flags and an optional capplan.toml.

Precedence: a flag given on the command line, else ``[loadtest.<scenario>]``, else
``[loadtest]`` (and ``[service] slos``) of ``--config``, else the knob's declared default.
Which flag and which key set which field is read from the knob declarations in
:mod:`capplan.loadtest.settings`; nothing is listed twice here. Only the ``[service]`` and
``[loadtest]`` sections are read, so a capplan.toml holding just those works for load tests.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from capplan.config.units import parse_duration
from capplan.errors import ConfigError
from capplan.loadtest.knob import PER_SCENARIO, knobs_of
from capplan.loadtest.settings import LoadTestSettings

_PATH_FIELDS = ("locustfile", "out_dir", "raw_dir")


def parse_duration_flag(flag: str, text: str) -> float:
    """Seconds from ``"120s"``, ``"2m"``, ``"1h"``; ConfigError naming the flag otherwise."""
    try:
        return parse_duration(text).seconds
    except ValueError as exc:
        raise ConfigError(f"--{flag.replace('_', '-')} {exc}") from None


@dataclass(frozen=True)
class ConfigDefaults:
    """What capplan.toml contributes: settings fields and the SLO list."""

    fields: dict[str, Any]
    slos: tuple[str, ...]


def read_config_defaults(path: Path, scenario: str) -> ConfigDefaults:
    """Read ``[service]`` and ``[loadtest]`` of a capplan.toml into the settings fields it sets."""
    from pydantic import ValidationError

    from capplan.config import LoadTestConfig, ServiceConfig

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
        raise ConfigError(f"{Path(path).name} [loadtest/service] {where} {first['msg']}, {first.get('input')!r}, "
                          "fix that entry") from None
    # [service] slos only when written: the schema's default SLOs are for plans, and a load test
    # with an empty config must run as one with no config.
    slos = tuple(service.slos) if "slos" in service.model_fields_set else ()
    return ConfigDefaults(config_settings(loadtest, scenario, Path(path).resolve().parent), slos)


def config_settings(loadtest: Any, scenario: str, base: Path) -> dict[str, Any]:
    """Settings fields written in ``[loadtest]`` and ``[loadtest.<scenario>]`` (keys left out are not given)."""
    fields: dict[str, Any] = {}
    section = getattr(loadtest, scenario)
    for name, (spec, _field) in knobs_of(LoadTestSettings).items():
        if spec.key is None or scenario not in spec.scenarios:
            continue
        source = section if spec.section == PER_SCENARIO else loadtest
        if spec.key not in source.model_fields_set:
            continue  # left out: the declared default (a relative default path stays relative to the cwd)
        value = getattr(source, spec.key)
        if value is None:
            continue
        if spec.kind == "duration":
            value = value.seconds
        elif spec.kind == "list":
            value = tuple(value)
        elif name in _PATH_FIELDS:
            value = base / value
        fields[name] = value
    if "rate_rps" in fields and "users" in fields:
        raise ConfigError(f"[loadtest.{scenario}] sets both users and rate, {fields['users']} and "
                          f"{fields['rate_rps']}, keep users (closed model) or rate (open model)")
    return fields


def flag_settings(flags: dict[str, Any]) -> dict[str, Any]:
    """Settings fields given on the command line (a flag left out is None or an empty list)."""
    fields: dict[str, Any] = {}
    for name, (spec, _field) in knobs_of(LoadTestSettings).items():
        value = flags.get(spec.param)
        if value is None or (spec.kind == "list" and not value):
            continue
        if spec.kind == "duration":
            value = parse_duration_flag(spec.param, value)
        elif spec.kind == "list":
            value = tuple(value)
        elif name in _PATH_FIELDS:
            value = Path(value)
        fields[name] = value
    return fields


def build_settings(scenario: str, flags: dict[str, Any], config: Path | None) -> LoadTestSettings:
    """Merge flags (None = not given) over capplan.toml over the declared defaults, then validate."""
    defaults = read_config_defaults(config, scenario) if config is not None else ConfigDefaults({}, ())
    given = flag_settings(flags)
    fields: dict[str, Any] = dict(defaults.fields)
    if "rate_rps" in given or "users" in given:
        fields.pop("users", None)  # the command line chooses the load model: --rate switches a config
        fields.pop("rate_rps", None)  # closed model to open, --users an open one to closed
    fields.update(given)
    # Allowed hosts add up: naming a host on the command line does not forget the config's.
    fields["allow_hosts"] = given.get("allow_hosts", ()) + defaults.fields.get("allow_hosts", ())
    fields["slos"] = given.get("slos") or defaults.slos
    fields["role"] = "master" if flags.get("master") else "worker" if flags.get("worker") else "local"
    if not fields.get("host"):
        raise ConfigError("no target given, --host is missing, pass e.g. --host http://127.0.0.1:8089 "
                          "or set [loadtest] host in capplan.toml")
    return LoadTestSettings(scenario=scenario, **fields)
