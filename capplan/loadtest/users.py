"""The Locust user classes a run drives: the default GET user or those of a locustfile.

The default user is a :class:`~locust.contrib.fasthttp.FastHttpUser` with no think time
that GETs one path: in the closed model, N users keep exactly N requests in flight.

Every request is bounded by the run's request timeout (``request_timeout_s``, default
10 s, ``--request-timeout``): connect and each read of a ``FastHttpUser``, the
``timeout`` of every ``HttpUser`` request unless the locustfile passes its own. A target
that accepts connections and never answers then yields timeout errors, not silence.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from locust import FastHttpUser, HttpUser, User, constant, task
from locust.util.load_locustfile import load_locustfile

from capplan.errors import ConfigError


def default_user(path: str = "/") -> type[User]:
    """A FastHttpUser that GETs ``path`` back to back (closed model, no think time)."""
    if not path.startswith("/"):
        raise ConfigError(f"request path must start with '/', {path!r}, write e.g. --path /api/items")

    class CapplanGetUser(FastHttpUser):
        """GET one path with no think time."""

        wait_time = constant(0)
        # Enough sockets for the users of this process; one per user keeps HTTP/1.1 keep-alive.
        concurrency = 1

        @task
        def get(self) -> None:
            self.client.get(path, name=path)

    CapplanGetUser.__qualname__ = CapplanGetUser.__name__
    return CapplanGetUser


def locustfile_users(locustfile: Path) -> list[type[User]]:
    """The concrete user classes of a locustfile; ConfigError when there are none."""
    path = Path(locustfile)
    if not path.is_file():
        raise ConfigError(f"locustfile not found, {str(path)!r}, pass an existing file to --locustfile "
                          "(see loadtests/locustfile.py)")
    try:
        users, _shapes = load_locustfile(str(path.resolve()))
    except (SystemExit, Exception) as exc:
        raise ConfigError(f"cannot load locustfile, {str(path)!r} ({exc}), fix the file or run it with "
                          "`locust -f` to see the error") from exc
    classes = [cls for cls in users.values() if not getattr(cls, "abstract", False)]
    if not classes:
        raise ConfigError(f"locustfile defines no User class, {str(path)!r}, add a class deriving "
                          "from FastHttpUser or HttpUser")
    return classes


DEFAULT_REQUEST_TIMEOUT_S = 10.0
"""Seconds a request may take (connect, or wait for data) before it counts as an error."""


def user_classes(locustfile: Path | None, path: str = "/",
                 timeout_s: float = DEFAULT_REQUEST_TIMEOUT_S) -> list[type[User]]:
    """The locustfile's users when given, else the default GET user; requests bounded by ``timeout_s``."""
    classes = locustfile_users(locustfile) if locustfile else [default_user(path)]
    return [with_request_timeout(cls, timeout_s) for cls in classes]


def with_request_timeout(base: type[User], timeout_s: float) -> type[User]:
    """A subclass of ``base`` whose HTTP requests time out after ``timeout_s`` (module docstring)."""
    if issubclass(base, FastHttpUser):
        own = {k: v for k, v in (("network_timeout", timeout_s), ("connection_timeout", timeout_s))
               if getattr(base, k) == getattr(FastHttpUser, k)}  # a locustfile's own choice wins
        timed = type(base.__name__, (base,), {"abstract": False, **own})
    elif issubclass(base, HttpUser):
        def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
            base.__init__(self, *args, **kwargs)
            self.client.request = functools.partial(_request_with_timeout, self.client.request, timeout_s)

        timed = type(base.__name__, (base,), {"abstract": False, "__init__": __init__})
    else:
        return base
    timed.__qualname__ = base.__qualname__
    timed.__module__ = base.__module__
    return timed


def _request_with_timeout(request: Any, timeout_s: float, method: str, url: str, **kwargs: Any) -> Any:
    kwargs.setdefault("timeout", timeout_s)
    return request(method, url, **kwargs)
