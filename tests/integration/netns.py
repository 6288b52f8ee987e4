"""Private test hosts on this machine: Linux network namespaces joined by veth pairs on a bridge.

:func:`private_network` creates one namespace per host plus a hub namespace holding the
bridge, gives host ``i`` the address ``10.231.0.<i+1>/24`` on its ``eth0`` and brings ``lo``
up. Nothing is added to the machine's own namespace: the hub's bridge has no uplink, so the
hosts reach each other and nothing else. Leaving the context (also on failure) kills any
process still running in the namespaces (all started by the test) and deletes them, which
removes every veth with them.

Needs root and iproute2; :func:`namespaces_unavailable` says why they cannot be used here.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

SUBNET_PREFIX = "10.231.0."
"""Private /24 the test hosts live on (RFC 1918; never routed anywhere from the hub)."""


@dataclass(frozen=True)
class Host:
    """One namespace: its name, address on the private link, and how to run a command in it."""

    name: str
    namespace: str
    address: str

    def argv(self, *command: str) -> list[str]:
        """``ip netns exec NS command…``."""
        return ["ip", "netns", "exec", self.namespace, *command]

    def capplan(self, *args: str) -> list[str]:
        """The ``capplan`` console script of the running interpreter's environment, in this namespace."""
        return self.argv(str(Path(sys.executable).with_name("capplan")), *args)


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True, timeout=10)


def namespaces_unavailable() -> str | None:
    """Why network namespaces cannot be created here (None when they can)."""
    if not sys.platform.startswith("linux"):
        return f"network namespaces are Linux-only, this is {sys.platform}"
    if shutil.which("ip") is None:
        return "iproute2's `ip` is not installed (apt-get install iproute2)"
    if os.geteuid() != 0:
        return "creating network namespaces needs root (CI runs as root)"
    probe = f"capplan-probe-{os.getpid()}"
    try:
        _ip("netns", "add", probe)
    except subprocess.CalledProcessError as exc:
        return f"`ip netns add` failed here: {exc.stderr.strip()}"
    _ip("netns", "del", probe)
    return None


def _kill_all_in(namespace: str) -> None:
    """SIGKILL the processes still in one of our namespaces (all of them started by the test)."""
    listing = subprocess.run(["ip", "netns", "pids", namespace], capture_output=True, text=True, timeout=10)
    for pid in listing.stdout.split():
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(pid), signal.SIGKILL)


def _add_host(hub: str, host: Host, index: int) -> None:
    _ip("netns", "add", host.namespace)
    outer = f"cpv{index}"
    _ip("link", "add", "eth0", "netns", host.namespace, "type", "veth", "peer", "name", outer, "netns", hub)
    _ip("-n", hub, "link", "set", outer, "master", "br0", "up")
    _ip("-n", host.namespace, "addr", "add", f"{host.address}/24", "dev", "eth0")
    _ip("-n", host.namespace, "link", "set", "eth0", "up")
    _ip("-n", host.namespace, "link", "set", "lo", "up")


@contextlib.contextmanager
def private_network(prefix: str, names: Sequence[str]) -> Iterator[dict[str, Host]]:
    """Namespaces ``{prefix}-{name}`` on one private bridge; deleted on exit whatever happened."""
    hub = f"{prefix}-hub"
    hosts = {n: Host(n, f"{prefix}-{n}", f"{SUBNET_PREFIX}{i + 1}") for i, n in enumerate(names)}
    created: list[str] = []
    try:
        _ip("netns", "add", hub)
        created.append(hub)
        _ip("-n", hub, "link", "add", "br0", "type", "bridge")
        _ip("-n", hub, "link", "set", "br0", "up")
        for index, host in enumerate(hosts.values()):
            created.append(host.namespace)
            _add_host(hub, host, index)
        yield hosts
    finally:
        for namespace in reversed(created):
            _kill_all_in(namespace)
            subprocess.run(["ip", "netns", "del", namespace], capture_output=True, timeout=10)
