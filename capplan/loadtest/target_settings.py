"""Settings of the demo target (``capplan target``): validated, with its nominal capacity.

Re-exported by :mod:`capplan.loadtest.target`, the public import path.
"""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass

from capplan.errors import ConfigError

_DISTRIBUTIONS = ("exponential", "constant")


def is_loopback_host(host: str) -> bool:
    """True when ``host`` is a loopback address or ``localhost``."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class TargetSettings:
    """Validated settings of the demo target.

    ``service_ms`` is the mean service time (ms); nominal capacity is
    ``slots * 1000 / service_ms`` requests/s (without contention).
    """

    slots: int = 4
    service_ms: float = 10.0
    sigma: float = 0.0
    kappa: float = 0.0
    error_rate: float = 0.0
    leak_mb_per_min: float = 0.0
    port: int = 8089
    host: str = "127.0.0.1"
    allow_non_loopback: bool = False
    distribution: str = "exponential"
    seed: int | None = None

    def __post_init__(self) -> None:
        _check(isinstance(self.slots, int) and 1 <= self.slots <= 10_000, "slots", self.slots,
               "use an integer between 1 and 10000")
        _check(_finite(self.service_ms) and 0 < self.service_ms <= 600_000, "service-ms", self.service_ms,
               "use a mean service time in ms greater than 0")
        _check(_finite(self.sigma) and 0 <= self.sigma <= 10, "sigma", self.sigma, "use 0 <= sigma <= 10")
        _check(_finite(self.kappa) and 0 <= self.kappa <= 10, "kappa", self.kappa, "use 0 <= kappa <= 10")
        _check(_finite(self.error_rate) and 0 <= self.error_rate <= 1, "error-rate", self.error_rate,
               "use a fraction between 0 and 1, e.g. 0.01")
        _check(_finite(self.leak_mb_per_min) and 0 <= self.leak_mb_per_min <= 1024, "leak-mb-per-min",
               self.leak_mb_per_min, "use 0 to 1024 MB per minute")
        _check(isinstance(self.port, int) and 0 <= self.port <= 65535, "port", self.port,
               "use 0 (any free port) to 65535")
        _check(self.distribution in _DISTRIBUTIONS, "distribution", self.distribution,
               f"use one of {', '.join(_DISTRIBUTIONS)}")
        if not self.allow_non_loopback and not is_loopback_host(self.host):
            raise ConfigError(
                f"demo target bind address is not loopback, {self.host!r}: "
                "bind to 127.0.0.1, or allow it explicitly (--allow-host, allow_non_loopback=True)"
            )

    @property
    def capacity_rps(self) -> float:
        """Nominal capacity C/S in requests/s (the peak without contention)."""
        return self.slots * 1000.0 / self.service_ms

    def contention_factor(self, busy: int) -> float:
        """Service-time multiplier 1 + sigma(n-1) + kappa n(n-1) for n busy slots."""
        return 1.0 + self.sigma * (busy - 1) + self.kappa * busy * (busy - 1)


def _finite(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _check(ok: bool, name: str, value: object, fix: str) -> None:
    if not ok:
        raise ConfigError(f"demo target setting {name} is invalid, {value!r}: {fix}")
