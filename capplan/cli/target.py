"""`capplan target`: run the bundled demo service in the foreground."""

from __future__ import annotations

import typer

from capplan.loadtest.target import TargetSettings, run_target


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""

    @app.command("target")
    def target(
        port: int = typer.Option(8089, "--port", help="TCP port (0 picks a free one)."),
        slots: int = typer.Option(4, "--slots", help="Concurrent service slots C; more requests queue."),
        service_ms: float = typer.Option(10.0, "--service-ms", help="Mean service time S in ms (exponential)."),
        sigma: float = typer.Option(0.0, "--sigma", help="USL contention: service time x (1 + sigma(n-1) + ...)."),
        kappa: float = typer.Option(0.0, "--kappa", help="USL coherency: ... + kappa n(n-1), n = busy slots."),
        error_rate: float = typer.Option(0.0, "--error-rate", help="Fraction of requests answered with HTTP 500."),
        leak_mb_per_min: float = typer.Option(0.0, "--leak-mb-per-min", help="Grow resident memory by M MB/min."),
        host: str = typer.Option("127.0.0.1", "--host", help="Bind address (loopback only unless --allow-host)."),
        allow_host: bool = typer.Option(False, "--allow-host", help="Allow binding a non-loopback address."),
    ) -> None:
        """Run the demo service (capacity about C/S requests/s) until Ctrl-C."""
        settings = TargetSettings(
            slots=slots, service_ms=service_ms, sigma=sigma, kappa=kappa, error_rate=error_rate,
            leak_mb_per_min=leak_mb_per_min, port=port, host=host, allow_non_loopback=allow_host,
        )

        def ready(url: str) -> None:
            typer.echo(f"demo target listening on {url}  (slots={slots}, service={service_ms:g} ms, "
                       f"nominal capacity C/S = {settings.capacity_rps:.0f} rps)")
            typer.echo(f"metrics: {url}/metrics  health: {url}/health  — Ctrl-C to stop")

        run_target(settings, on_ready=ready)
        typer.echo("demo target stopped")
