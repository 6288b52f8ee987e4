"""Example locustfile for `capplan loadtest ... --locustfile loadtests/locustfile.py`.

Edit freely: any Locust user classes work. capplan records every request these users
make (exact response times into its latency sketch), so there is nothing capplan-specific
to add here. In the open model (`--rate`), each arrival runs one task of a user and the
first request of that task is timed from its intended start.

Tip: keep secrets (tokens, cookies) in environment variables; capplan never writes
request headers into run directories.
"""

import os

from locust import FastHttpUser, between, task


class Browser(FastHttpUser):
    """A visitor reading items; most requests hit the home page."""

    wait_time = between(0.0, 0.1)  # seconds of think time; use constant(0) for a closed max-load test

    def on_start(self) -> None:
        token = os.environ.get("API_TOKEN")  # example: pass credentials from the environment
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    @task(5)
    def home(self) -> None:
        self.client.get("/", headers=self.headers)

    @task(1)
    def item(self) -> None:
        self.client.get("/items/42", name="/items/[id]", headers=self.headers)
