"""The typer root of the ``capplan`` CLI and its one error handler.

Every command module registers itself on :data:`app`; any :class:`CapplanError` that
escapes a command is printed here as one ``Error: ...`` line on stderr and turned into
its exit code. ``--debug`` re-raises so the traceback is shown.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import typer
from typer.core import TyperGroup

from capplan import __version__
from capplan.errors import CapplanError

_state = {"debug": False}

# Command name -> the capplan.cli module whose register() defines it. Modules are imported
# only when their command runs, so `capplan analyze` does not pay for Prophet or Locust.
_COMMAND_MODULES = {
    "demo": "demo",
    "target": "target",
    "loadtest": "loadtest",
    "analyze": "analyze",
    "forecast": "forecast",
    "plan": "plan",
    "rules": "plan",
    "report": "report",
    "review": "report",
    "compare": "compare",
    "export": "export",
}


class _CapplanGroup(TyperGroup):
    """A click group that turns capplan errors into one-line messages and exit codes."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except CapplanError as exc:
            if _state["debug"]:
                raise
            typer.echo(f"Error: {exc}", err=True)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            typer.echo("Error: interrupted by the user", err=True)
            raise typer.Exit(130) from None

    def list_commands(self, ctx: Any) -> list[str]:
        return list(_COMMAND_MODULES)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        module_name = _COMMAND_MODULES.get(cmd_name)
        if module_name is None:
            return None
        return _load_commands(module_name).get(cmd_name)


def _load_commands(module_name: str) -> dict[str, Any]:
    """Build the click commands one capplan.cli module registers."""
    sub = typer.Typer(rich_markup_mode=None)  # help texts name config sections as [section]: no markup

    @sub.callback()
    def _group() -> None:  # a callback makes typer build a group even for one command
        """Commands of one module."""

    importlib.import_module(f"capplan.cli.{module_name}").register(sub)
    group = typer.main.get_command(sub)
    return dict(group.commands)  # type: ignore[attr-defined]  # typer vendors click: no isinstance


app = typer.Typer(
    cls=_CapplanGroup,
    name="capplan",
    help="Capacity planning: load tests -> saturation model -> growth forecast -> plan, triggers, cost, report.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"capplan {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks instead of one-line errors."),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the capplan version and exit."
    ),
) -> None:
    """capplan: how much one instance takes, how much is coming, what to do by when, at what cost."""
    _state["debug"] = debug


def main() -> None:
    """Console-script entry point (``capplan``)."""
    sys.exit(app())  # typer/click exits with the command's code
