"""Shared building blocks of the config models: the strict base class and unit-carrying field types."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, PlainValidator

from capplan.config.units import Duration, Growth, parse_duration, parse_growth

DurationField = Annotated[Duration, PlainValidator(parse_duration), PlainSerializer(str)]
GrowthField = Annotated[Growth, PlainValidator(parse_growth), PlainSerializer(str)]
Fraction = Annotated[float, Field(gt=0.0, le=1.0)]
Count = Annotated[int, Field(ge=0)]


class _Section(BaseModel):
    """A config section: unknown fields are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)
