"""Fixtures for the client tests: a docker SDK client for the daemon at DOCKER_HOST, and
names each test owns and removes afterwards, also when it fails.

The tests run against any Docker-API daemon: the Rust wrapper (tests/tests/clients.rs)
points DOCKER_HOST at a berthd of its own; run them by hand against another daemon with
e.g. DOCKER_HOST=unix:///tmp/ref/docker.sock. The daemon needs busybox:latest loaded.
"""

import os
import uuid

import docker
import pytest


def pytest_configure(config):
    if not os.environ.get("DOCKER_HOST"):
        raise pytest.UsageError("set DOCKER_HOST to the daemon under test (unix:///PATH)")
    # testcontainers would start its Ryuk reaper from Docker Hub, which is out of reach.
    os.environ["TESTCONTAINERS_RYUK_DISABLED"] = "true"


@pytest.fixture(scope="session")
def client():
    c = docker.DockerClient(base_url=os.environ["DOCKER_HOST"], timeout=60)
    c.images.get("busybox:latest")  # fail early and clearly without the test image
    yield c
    c.close()


class Owned:
    """Names of containers and images a test creates; removed (forced) at teardown."""

    def __init__(self, client, test_name):
        self.client = client
        self.prefix = "{}-{}".format(
            os.environ.get("BERTH_PY_PREFIX", "berthpy"), test_name.replace("_", "-")[:30]
        )
        self.containers = []
        self.images = []

    def name(self, what="c"):
        n = "{}-{}-{}".format(self.prefix, what, uuid.uuid4().hex[:8])
        self.containers.append(n)
        return n

    def repo(self, what="img"):
        """A repository name (lower case, no tag) whose tags are removed at teardown."""
        r = "{}-{}-{}".format(self.prefix, what, uuid.uuid4().hex[:8]).lower()
        self.images.append(r)
        return r

    def cleanup(self):
        for n in self.containers:
            try:
                self.client.api.remove_container(n, force=True)
            except docker.errors.NotFound:
                pass
        for r in self.images:
            for img in self.client.images.list(name=r):
                for tag in img.tags:
                    if tag.split(":")[0] == r:
                        try:
                            self.client.images.remove(tag, force=True)
                        except docker.errors.NotFound:
                            pass


@pytest.fixture
def owned(client, request):
    o = Owned(client, request.node.name)
    yield o
    o.cleanup()
