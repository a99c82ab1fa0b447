"""(b) The least a FastHttpUser can do: one GET of the static JSON, no checks, no think time."""

from locust import FastHttpUser, task


class Minimal(FastHttpUser):
    @task
    def products(self):
        self.client.get("/api/products")
