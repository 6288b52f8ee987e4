"""The typer root of the ``capplan`` CLI and its one error handler.

Every command module registers itself on :data:`app`; any :class:`CapplanError` that
escapes a command is printed here as one ``Error: ...`` line on stderr and turned into
its exit code. ``--debug`` re-raises so the traceback is shown.
"""

from __future__ import annotations

import sys
from typing import Any

import click
import typer
from typer.core import TyperGroup

from capplan import __version__
from capplan.errors import CapplanError

_state = {"debug": False}


class _CapplanGroup(TyperGroup):
    """A click group that turns capplan errors into one-line messages and exit codes."""

    def invoke(self, ctx: click.Context) -> Any:
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

    def list_commands(self, ctx: click.Context) -> list[str]:
        order = ["demo", "target", "loadtest", "analyze", "forecast", "plan", "rules", "report", "review"]
        names = super().list_commands(ctx)
        return sorted(names, key=lambda n: (order.index(n) if n in order else len(order), n))


app = typer.Typer(
    cls=_CapplanGroup,
    name="capplan",
    help="Capacity planning: load tests -> saturation model -> growth forecast -> plan, triggers, cost, report.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
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


def _register_commands() -> None:
    # Imported here so each command module stays independent and `--version` stays fast.
    from capplan.cli import analyze, forecast, loadtest, plan, report, target

    for module in (target, loadtest, analyze, forecast, plan, report):
        module.register(app)


_register_commands()


def main() -> None:
    """Console-script entry point (``capplan``)."""
    sys.exit(app())  # typer/click exits with the command's code
