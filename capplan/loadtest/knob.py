"""The declaration of one load-test knob: its flag, help, capplan.toml key, scenarios and bounds.

A knob is a field of :class:`capplan.loadtest.settings.LoadTestSettings` declared with
:func:`knob`; the dataclass field carries the default and the type, the :class:`Knob`
metadata carries everything else. The command-line options (``capplan loadtest <scenario>``),
the ``[loadtest]`` / ``[loadtest.<scenario>]`` models of capplan.toml and the validation
all read these declarations, so a knob is added, documented or re-defaulted in one place.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

SCENARIOS = ("baseline", "stress", "spike", "soak")

TOP = "loadtest"
"""Section of knobs that apply to every scenario: ``[loadtest]``."""
PER_SCENARIO = "scenario"
"""Section of scenario knobs: ``[loadtest.<scenario>]`` of each scenario the knob applies to."""


@dataclass(frozen=True)
class Knob:
    """What a settings field needs besides its default and type.

    ``flag`` is the command-line option (``--step-duration``); ``kind`` is ``duration``
    (text such as ``"20s"``, stored in seconds), ``list`` (a repeatable flag) or ``plain``;
    ``key`` is the capplan.toml key (None: command line only) in ``section`` (:data:`TOP`
    or :data:`PER_SCENARIO`); bounds ``gt``/``ge``/``le`` are checked for flags, config and
    library callers alike; ``default_text`` documents a default that depends on the scenario.
    """

    flag: str
    help: str
    scenarios: tuple[str, ...] = SCENARIOS
    kind: str = "plain"
    key: str | None = None
    section: str = TOP
    gt: float | None = None
    ge: float | None = None
    le: float | None = None
    default_text: str | None = None

    @property
    def param(self) -> str:
        """The Python name of the flag (``--step-duration`` -> ``step_duration``)."""
        return self.flag.lstrip("-").replace("-", "_")


def knob(default: Any = dataclasses.MISSING, flag: str = "", help: str = "", **meta: Any) -> Any:
    """A dataclass field declaring one knob (see :class:`Knob` for ``meta``)."""
    spec = Knob(flag=flag, help=help, **meta)
    if default is dataclasses.MISSING:
        return dataclasses.field(metadata={"knob": spec})
    return dataclasses.field(default=default, metadata={"knob": spec})


def knobs_of(cls: type) -> dict[str, tuple[Knob, dataclasses.Field]]:
    """Field name -> (knob, field) for every knob field of the dataclass ``cls``, in order."""
    return {f.name: (f.metadata["knob"], f) for f in dataclasses.fields(cls) if "knob" in f.metadata}


def bound_problem(spec: Knob, value: Any) -> str | None:
    """Why ``value`` breaks the knob's bounds (``must be positive``), or None when it is fine."""
    if value is None or isinstance(value, (str, tuple, list)) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return "must be a finite number"
    if spec.gt is not None and not value > spec.gt:
        return "must be positive" if spec.gt == 0 else f"must be > {spec.gt:g}"
    if spec.ge is not None and not value >= spec.ge:
        return f"must be at least {spec.ge:g}"
    if spec.le is not None and not value <= spec.le:
        return f"must be at most {spec.le:g}"
    return None


def default_text(spec: Knob, field: dataclasses.Field) -> str:
    """The default as a user writes it (``10s``, ``2``, ``none``)."""
    if spec.default_text is not None:
        return spec.default_text
    value = field.default
    if value is None or value == ():
        return "none"
    if spec.kind == "duration":
        return duration_text(float(value))
    return str(value)


def duration_text(seconds: float) -> str:
    """``300.0`` -> ``"5m"``, ``15.0`` -> ``"15s"``, ``0.5`` -> ``"500ms"`` (parse_duration reads it back)."""
    for unit, size in (("h", 3600.0), ("m", 60.0), ("s", 1.0)):
        if seconds >= size and float(seconds / size).is_integer():
            return f"{int(seconds / size)}{unit}"
    if seconds == 0:
        return "0s"
    return f"{seconds * 1000:g}ms"
