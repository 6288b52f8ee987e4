"""The bare-Locust side of bench_loadtest.py (a): the same user capplan runs by default."""

from locust import FastHttpUser, constant, task


class BareGetUser(FastHttpUser):
    """GET / back to back, like capplan's default user."""

    wait_time = constant(0)
    concurrency = 1

    @task
    def get(self) -> None:
        self.client.get("/", name="/")
