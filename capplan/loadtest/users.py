"""The Locust user classes a run drives: the default GET user or those of a locustfile.

The default user is a :class:`~locust.contrib.fasthttp.FastHttpUser` with no think time
that GETs one path: in the closed model, N users keep exactly N requests in flight.
"""

from __future__ import annotations

from pathlib import Path

from locust import FastHttpUser, User, constant, task
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


def user_classes(locustfile: Path | None, path: str = "/") -> list[type[User]]:
    """The locustfile's users when given, else the default GET user."""
    return locustfile_users(locustfile) if locustfile else [default_user(path)]
