"""The billing calendar every capplan figure uses: a month is 730 hours, a year 365 days.

AWS, GCP and Azure all price a month as 730 hours (365 days × 24 h / 12). This is the one
definition: ``[pricing] hours_per_month`` defaults to it, durations written ``"6mo"`` and
growth rates written ``"15%/month"`` use it, and the cost model prices with whatever
``hours_per_month`` the config gives.
"""

from __future__ import annotations

HOURS_PER_MONTH = 730.0
"""Hours in a billing month (the cloud providers' convention)."""

DAYS_PER_YEAR = 365.0
"""Days in a year (no leap days: the billing convention)."""

DAYS_PER_MONTH = HOURS_PER_MONTH / 24.0
"""Days in a billing month (30.4167)."""
