"""``[loadtest]`` and ``[loadtest.<scenario>]`` of capplan.toml, built from the knob declarations.

Nothing is declared here: every key, its default, its bounds and its help come from the knob
fields of :class:`capplan.loadtest.settings.LoadTestSettings`, so a key left out takes the
settings' own default — an empty ``[loadtest.stress]`` section and no section at all resolve
to the same settings as no flags. Command-line flags override both.
"""

from __future__ import annotations

from dataclasses import MISSING
from pathlib import PurePath
from typing import Annotated, Any, get_args

from pydantic import Field, create_model

from capplan.config.base import DurationField, _Section
from capplan.config.units import parse_duration
from capplan.loadtest.knob import PER_SCENARIO, SCENARIOS, TOP, Knob, duration_text, knobs_of
from capplan.loadtest.settings import LoadTestSettings


def _value_type(spec: Knob, annotation: Any) -> Any:
    if spec.kind == "duration":
        return DurationField
    if spec.kind == "list":
        return tuple[str, ...]
    base = next((a for a in get_args(annotation) if a is not type(None)), annotation)
    base = {"Path": str, "int": int, "float": float, "str": str}.get(getattr(base, "__name__", str(base)), base)
    bounds = {k: v for k, v in (("gt", spec.gt), ("ge", spec.ge), ("le", spec.le)) if v is not None}
    return Annotated[base, Field(**bounds)] if bounds and base in (int, float) else base


def _annotation(name: str) -> Any:
    # ``from __future__ import annotations`` keeps field types as strings; resolve them once.
    import typing

    return typing.get_type_hints(LoadTestSettings)[name]


def config_fields(section: str, scenario: str | None = None) -> dict[str, tuple[str, Knob]]:
    """capplan.toml key -> (settings field, knob) of one section: top (``scenario=None``) or a scenario's."""
    out = {}
    for name, (spec, _field) in knobs_of(LoadTestSettings).items():
        if spec.key is None or spec.section != section:
            continue
        if scenario is None or scenario in spec.scenarios:
            out[spec.key] = (name, spec)
    return out


def _config_default(spec: Knob, name: str) -> Any:
    """The settings default as capplan.toml writes it (``"10s"`` as a Duration, paths as text)."""
    default = LoadTestSettings.__dataclass_fields__[name].default
    if default is None or default is MISSING:
        return None
    if spec.kind == "duration":
        return parse_duration(duration_text(float(default)))
    return str(default) if isinstance(default, PurePath) else default


def _model(title: str, fields: dict[str, tuple[str, Knob]], doc: str, **sections: Any) -> type[_Section]:
    spec_fields: dict[str, Any] = {
        key: (_value_type(spec, _annotation(name)) | None, Field(_config_default(spec, name), description=spec.help))
        for key, (name, spec) in fields.items()}
    model = create_model(title, __base__=_Section, __doc__=doc, **spec_fields, **sections)
    return model


_SCENARIO_MODELS = {s: _model(f"{s.capitalize()}Settings", config_fields(PER_SCENARIO, s),
                              f"``[loadtest.{s}]``: the {s} scenario's knobs (flags override them).")
                    for s in SCENARIOS}
BaselineSettings = _SCENARIO_MODELS["baseline"]
StressSettings = _SCENARIO_MODELS["stress"]
SpikeSettings = _SCENARIO_MODELS["spike"]
SoakSettings = _SCENARIO_MODELS["soak"]

LoadTestConfig = _model(
    "LoadTestConfig", config_fields(TOP), "``[loadtest]``: defaults for ``capplan loadtest`` (flags override them).",
    **{s: (model, model()) for s, model in _SCENARIO_MODELS.items()})
