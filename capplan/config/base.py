"""Shared building blocks of the config models: the strict base class and unit-carrying field types."""

from __future__ import annotations

import math
import types
import typing
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, PlainValidator, ValidationInfo, field_validator

from capplan.config.units import Duration, Growth, parse_duration, parse_growth

DurationField = Annotated[Duration, PlainValidator(parse_duration), PlainSerializer(str)]
GrowthField = Annotated[Growth, PlainValidator(parse_growth), PlainSerializer(str)]
Fraction = Annotated[float, Field(gt=0.0, le=1.0)]
Count = Annotated[int, Field(ge=0)]


MAX_MAGNITUDE = 1e12
"""Largest absolute number any capplan.toml field takes (req/s, instances, dollars, bytes...)."""
MIN_MAGNITUDE = 1e-9
"""Smallest non-zero absolute number: below it the models divide their way to infinity."""


class _Section(BaseModel):
    """A config section: unknown fields are errors, values are immutable.

    Every number is checked here, once for all sections, before any model sees it: finite
    (no ``inf``/``nan``), with a magnitude between :data:`MIN_MAGNITUDE` and
    :data:`MAX_MAGNITUDE` (or zero), and never a boolean where a number is expected
    (TOML's ``true`` would otherwise read as 1).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    @field_validator("*", mode="before")
    @classmethod
    def _sane_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        field = cls.model_fields.get(info.field_name or "")
        if isinstance(value, bool) and field is not None and not _allows_bool(field.annotation):
            raise ValueError(f"must be a number, not the boolean {str(value).lower()}, write e.g. 6")
        check_numbers(value)
        return value


def check_numbers(value: Any) -> None:
    """Raise ValueError for a non-finite or absurdly large/small number (or list of them)."""
    if isinstance(value, bool):
        return
    if isinstance(value, (int, float)):
        number = float(value) if abs(value) < 1e308 else math.inf
        if not math.isfinite(number):
            raise ValueError(f"must be a finite number, got {value!r}, write a plain number such as 350")
        if abs(number) > MAX_MAGNITUDE or 0 < abs(number) < MIN_MAGNITUDE:
            raise ValueError(f"is out of range, {value!r}, use a magnitude between {MIN_MAGNITUDE:g} and "
                             f"{MAX_MAGNITUDE:g} (or 0)")
    elif isinstance(value, (list, tuple)):  # nested sections (dicts) check their own fields
        for item in value:
            if not isinstance(item, (dict, list, tuple)):
                check_numbers(item)


def _allows_bool(annotation: Any) -> bool:
    if annotation is bool or annotation is Any:
        return True
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType, typing.Literal) or origin is Annotated:
        return any(_allows_bool(a) or a is True or a is False for a in typing.get_args(annotation))
    return False
