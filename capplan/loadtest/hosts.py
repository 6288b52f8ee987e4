"""The host guard: load goes only to loopback unless the user named the host.

A guard is only as good as its agreement with the HTTP client that sends the load. The
clients Locust users run read URLs differently: ``FastHttpUser`` (geventhttpclient, the
default user and ``loadtests/locustfile.py``) splits with :func:`urllib.parse.urlparse`,
``HttpUser`` (requests, urllib3) with :func:`urllib3.util.parse_url`, which treats a
backslash as the end of the authority — ``http://127.0.0.2\\@127.0.0.1`` is 127.0.0.1 to
the first and 127.0.0.2 to the second. So the guard accepts only URLs every one of them
reads the same way and refuses the rest as ambiguous:

- ``http``/``https`` only; no backslash, whitespace, control or non-ASCII characters;
- no userinfo (``user:pw@``) and no ``%`` in the authority;
- the host is ``localhost``, a canonical dotted-quad IPv4 (no ``127.1``, ``2130706433``,
  ``0x7f.1`` or ``0177.0.0.1``: the C resolver reads those as addresses, WHATWG URL
  parsers too), a bracketed IPv6 literal without zone, or an LDH DNS name;
- a decimal port from 1 to 65535;
- :func:`urllib.parse.urlsplit` (geventhttpclient's reader) must then agree on (host, port).

That urllib3 and requests agree too, for every URL the guard accepts, is a property test
(tests/loadtest/test_hosts.py, hypothesis) over :func:`client_endpoints`; the guard itself
does not import them, because urllib3 must not be loaded before Locust's gevent patching.

Loopback means 127.0.0.0/8 or ``::1`` (and ``::ffff:127.x``); ``localhost`` must also
*resolve* only to loopback addresses. Every other name or address needs ``--allow-host``
(names are never judged by their DNS answer, which can change between check and connect).
Workers check again the host the master hands them (Locust replaces the worker's own).
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from capplan.errors import ConfigError, LoadTestError

_URL = re.compile(
    r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<authority>[^/?#]*)(?P<rest>[/?#].*)?", re.DOTALL)
_HOST_PORT = re.compile(r"(?P<host>\[[^\]]*\]|[^:\[\]]*)(?::(?P<port>[^:]*))?")
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_CANONICAL_IPV4 = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}")
_NUMERIC_LABEL = re.compile(r"(?:0[xX][0-9A-Fa-f]*|[0-9]+)")
_EXAMPLE = "write e.g. http://127.0.0.1:8089"


@dataclass(frozen=True)
class HostUrl:
    """A --host URL every HTTP client reads the same way.

    ``url`` is what the load generator is given, ``hostname`` (lower case, IPv6 without
    brackets) and ``port`` where it connects, ``recorded`` the form written to run.json
    (no query or fragment, where tokens hide).
    """

    url: str
    scheme: str
    hostname: str
    port: int
    recorded: str

    @property
    def is_ip_literal(self) -> bool:
        """True when the host is an IP address rather than a name."""
        return _ip(self.hostname) is not None


def _refuse(what: str, url: str, fix: str = _EXAMPLE) -> ConfigError:
    return ConfigError(f"--host {what}, {url!r}, {fix}")


def parse_host_url(url: str) -> HostUrl:
    """Read ``url`` strictly (module docstring); ConfigError when it is ambiguous or invalid."""
    if not isinstance(url, str) or not url.isascii() or any(c in url for c in "\\ ") or not url.isprintable():
        raise _refuse("must be a plain ASCII URL without backslashes, spaces or control characters", str(url))
    match = _URL.fullmatch(url)
    if match is None or match["scheme"].lower() not in ("http", "https"):
        raise _refuse("must be an http(s) URL", url)
    scheme, authority = match["scheme"].lower(), match["authority"]
    if "@" in authority:
        raise _refuse("must not carry credentials (user:password@)", url,
                      "drop them and authenticate in a --locustfile instead")
    if "%" in authority:
        raise _refuse("must not percent-encode the host", url)
    parts = _HOST_PORT.fullmatch(authority)
    if parts is None or not parts["host"]:
        raise _refuse("has no valid host", url)
    hostname = _hostname(parts["host"], url)
    port = _port(parts["port"], scheme, url)
    rest = match["rest"] or ""
    path = rest.split("?", 1)[0].split("#", 1)[0]
    netloc = f"[{hostname}]" if ":" in hostname else hostname
    netloc += f":{port}" if parts["port"] is not None else ""
    checked = HostUrl(url=f"{scheme}://{netloc}{rest}", scheme=scheme, hostname=hostname, port=port,
                      recorded=f"{scheme}://{netloc}{path}")
    _agree_with_clients(checked, url)
    return checked


def _hostname(host: str, url: str) -> str:
    if host.startswith("["):
        try:
            address = ipaddress.IPv6Address(host[1:-1])
        except ValueError as exc:
            raise _refuse("has an invalid IPv6 literal", url) from exc
        return address.compressed
    host = host.lower()
    labels = host.split(".")
    if _NUMERIC_LABEL.fullmatch(labels[-1]) or _NUMERIC_LABEL.fullmatch(labels[0]):
        if not _CANONICAL_IPV4.fullmatch(host):
            raise _refuse("names an IPv4 address in a non-canonical form (short, hex, octal or integer)", url,
                          "write the four decimal parts, e.g. http://127.0.0.1:8089")
        return host
    if not all(_LABEL.fullmatch(label) for label in labels) or len(host) > 253:
        raise _refuse("has an invalid host name", url, "use letters, digits, hyphens and dots, e.g. localhost")
    return host


def _port(text: str | None, scheme: str, url: str) -> int:
    if text is None:
        return 443 if scheme == "https" else 80
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise _refuse("has an invalid port", url, "use a decimal port from 1 to 65535")
    return int(text)


def _agree_with_clients(checked: HostUrl, url: str) -> None:
    """Refuse the URL unless urllib.parse (geventhttpclient's reader) connects where the guard read."""
    host, port = _urllib_endpoint(checked.url)
    if (host, port) != (checked.hostname, checked.port):
        raise _refuse(f"is read differently by urllib.parse ({host}:{port})", url)


def _urllib_endpoint(url: str) -> tuple[str | None, int | None]:
    try:
        parts = urlsplit(url)  # geventhttpclient (FastHttpUser) splits with urllib.parse
        return _plain(parts.hostname), parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    except ValueError:
        return None, None


def client_endpoints(url: str) -> dict[str, tuple[str | None, int | None]]:
    """Where each HTTP client Locust users run would connect for ``url``: name -> (host, port).

    The clients' own parsers are called (nothing is sent); ``None`` stands for a part a
    client could not read. Imports urllib3 and requests: call it only once Locust (gevent's
    monkey-patching) is imported.
    """
    import urllib3
    from requests.models import PreparedRequest

    out: dict[str, tuple[str | None, int | None]] = {"urllib.parse": _urllib_endpoint(url)}
    default = {"http": 80, "https": 443}
    for name, target in (("urllib3", url), ("requests", None)):
        try:
            if target is None:
                prepared = PreparedRequest()
                prepared.prepare_url(url, None)
                target = prepared.url or ""
            parsed = urllib3.util.parse_url(target)
            out[name] = (_plain(parsed.host), parsed.port or default.get(parsed.scheme or ""))
        except Exception:  # noqa: BLE001 - any parse failure means the clients disagree
            out[name] = (None, None)
    return out


def _plain(host: str | None) -> str | None:
    if host is None:
        return None
    host = host.strip("[]").lower()
    address = _ip(host)
    return address.compressed if address is not None else host


def _ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def is_loopback(hostname: str) -> bool:
    """True for ``localhost`` and loopback IP literals (127.0.0.0/8, ::1, ::ffff:127.x)."""
    if hostname.lower() == "localhost":
        return True
    address = _ip(hostname.strip("[]"))
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address is not None and address.is_loopback


def resolved_addresses(hostname: str, port: int,
                       resolve: Callable[..., Iterable[tuple]] = socket.getaddrinfo) -> tuple[str, ...]:
    """The addresses ``hostname`` resolves to (ConfigError when it does not resolve)."""
    try:
        infos = resolve(hostname, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise ConfigError(f"--host does not resolve, {hostname!r} ({exc}), fix the name or use 127.0.0.1") from exc
    return tuple(sorted({str(info[4][0]) for info in infos}))


def check_host(url: str, allow_hosts: Iterable[str] = (),
               resolve: Callable[..., Iterable[tuple]] = socket.getaddrinfo) -> HostUrl:
    """The checked host URL: loopback, or named in ``allow_hosts``; ConfigError otherwise."""
    checked = parse_host_url(url)
    allowed = {h.strip("[]").lower() for h in allow_hosts}
    if checked.hostname in allowed:
        return checked
    if not is_loopback(checked.hostname):
        raise ConfigError(f"refusing to send load to a non-loopback host, {checked.hostname!r}, "
                          f"pass --allow-host {checked.hostname} if you own it and mean it")
    if not checked.is_ip_literal:
        outside = [a for a in resolved_addresses(checked.hostname, checked.port, resolve) if not is_loopback(a)]
        if outside:
            raise ConfigError(f"refusing to send load to {checked.hostname!r}, it resolves to non-loopback "
                              f"{', '.join(outside)}, use 127.0.0.1 or pass --allow-host {checked.hostname}")
    return checked


def host_port(url: str) -> tuple[str, int]:
    """(hostname, port) of a --host URL read strictly; ConfigError when it is not one."""
    checked = parse_host_url(url)
    return checked.hostname, checked.port


def recorded_host(url: str) -> str:
    """The form of a host URL written to run stores: no credentials, query or fragment."""
    try:
        return parse_host_url(url).recorded
    except ConfigError:
        try:
            parts = urlsplit(url)
        except ValueError:
            return "unknown"
        netloc = parts.netloc.rsplit("@", 1)[-1]
        return urlunsplit((parts.scheme, netloc, parts.path, "", "")) if netloc else "unknown"


def check_reachable(url: str, timeout_s: float = 3.0) -> None:
    """Open and close one TCP connection to the target; LoadTestError when that fails."""
    hostname, port = host_port(url)
    try:
        with socket.create_connection((hostname, port), timeout=timeout_s):
            pass
    except OSError as exc:
        raise LoadTestError(f"target unreachable before the test started, {recorded_host(url)} "
                            f"({exc.strerror or exc}), start the service (e.g. `capplan target`) or fix --host") from exc
