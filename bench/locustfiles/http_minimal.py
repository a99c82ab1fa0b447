"""(c) The same minimal user on HttpUser (requests): the client most Locust files use."""

from locust import HttpUser, task


class MinimalHttp(HttpUser):
    @task
    def products(self):
        self.client.get("/api/products")
