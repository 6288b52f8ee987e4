"""capplan.toml: strict pydantic models and :func:`load_config`.

``load_config(path)`` reads TOML with :mod:`tomllib`, validates it, and turns any problem
into one :class:`~capplan.errors.ConfigError` line (exit 2) naming the field path, the
offending value and the fix, e.g.::

    capplan.toml: fleet.current_count must be >= 0, got -3, use 0 or more

Sections (see the annotated ``capplan.toml`` at the repository root): ``[service]``,
``[loadtest]``, ``[capacity]``, ``[fleet]``, ``[demand]`` with ``[[demand.events]]``,
``[pricing]``, ``[[resources]]``, ``[alerts]``, ``[report]``, ``[review]``.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from capplan.config.schema import (
    AlertsConfig,
    CapacityConfig,
    CapplanConfig,
    DemandConfig,
    DemandEvent,
    FleetConfig,
    InstancePrice,
    LoadTestConfig,
    PricingConfig,
    ReportConfig,
    ResourceConfig,
    ReviewConfig,
    ServiceConfig,
)
from capplan.config.units import HOURS_PER_MONTH, Duration, Growth, parse_duration, parse_growth
from capplan.errors import ConfigError

__all__ = [
    "HOURS_PER_MONTH",
    "AlertsConfig",
    "CapacityConfig",
    "CapplanConfig",
    "DemandConfig",
    "DemandEvent",
    "Duration",
    "FleetConfig",
    "Growth",
    "InstancePrice",
    "LoadTestConfig",
    "PricingConfig",
    "ReportConfig",
    "ResourceConfig",
    "ReviewConfig",
    "ServiceConfig",
    "config_from_mapping",
    "load_config",
    "parse_duration",
    "parse_growth",
]

_BOUND_WORDS = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<"}


def load_config(path: str | Path) -> CapplanConfig:
    """Read and validate a capplan.toml; raise one-line :class:`ConfigError` on any problem."""
    file = Path(path)
    try:
        raw = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"config file not found, {str(file)!r}, pass --config with the path to capplan.toml") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {str(file)!r}, {exc}, check the path and permissions") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file.name} is not valid TOML, {exc}, fix the syntax there") from exc
    return config_from_mapping(raw, base_dir=file.resolve().parent, source=file.name)


def config_from_mapping(raw: Mapping[str, Any], base_dir: Path | None = None, source: str = "config") -> CapplanConfig:
    """Validate an already-parsed mapping (e.g. from tests or flags) into a :class:`CapplanConfig`."""
    try:
        config = CapplanConfig.model_validate(dict(raw))
    except ValidationError as exc:
        raise ConfigError(_describe(exc, source)) from None
    if base_dir is not None:
        config._base_dir = base_dir
    return config


def _describe(exc: ValidationError, source: str) -> str:
    """One line for the first validation error: ``<source>: <field path> <problem>, <value>, <fix>``."""
    errors = exc.errors(include_url=False)
    first = errors[0]
    loc = tuple(first["loc"])
    where = _path(loc)
    more = f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})" if len(errors) > 1 else ""
    problem = _problem(first, loc)
    if not where or problem.startswith(where.split(".")[-1] + " "):  # "demand needs ..." names itself
        return f"{source}: {problem}{more}"
    return f"{source}: {where} {problem}{more}"


def _path(loc: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts[-1:] = [f"{parts[-1]}[{item}]"] if parts else [f"[{item}]"]
        else:
            text = str(item)
            parts.append(f'"{text}"' if "." in text else text)  # a dotted key such as "m6i.large"
    return ".".join(parts)


def _problem(error: Mapping[str, Any], loc: tuple[Any, ...]) -> str:
    kind, value, ctx = error["type"], error.get("input"), error.get("ctx") or {}
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    if kind == "extra_forbidden":
        allowed = ", ".join(_allowed_fields(loc[:-1])) or "none"
        return f"is not a known field, {value!r}, remove it or fix its spelling (allowed here: {allowed})"
    if kind == "missing":
        return "is required, nothing given, add it (see the comments in the sample capplan.toml)"
    bound = next((k for k in _BOUND_WORDS if k in ctx), None)
    if bound is not None:
        return f"must be {_BOUND_WORDS[bound]} {ctx[bound]}, got {value!r}, use a value in range"
    return f"is invalid ({error['msg'].lower()}), got {value!r}, write a value of the documented type"


def _allowed_fields(loc: tuple[Any, ...]) -> list[str]:
    """Field names accepted at ``loc`` (walking the models; list indexes and dict keys skipped)."""
    model: type[BaseModel] = CapplanConfig
    for item in loc:
        if isinstance(item, int):
            continue
        field = model.model_fields.get(str(item))
        if field is None:
            return sorted(model.model_fields)
        inner = _model_in(field.annotation)
        if inner is None:
            return []
        model = inner
    return sorted(model.model_fields)


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_in(arg)
        if found is not None:
            return found
    return None
