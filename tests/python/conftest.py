"""Fixtures for the client tests: a docker SDK client for the daemon at DOCKER_HOST, and
names each test owns and removes afterwards, also when it fails.

The tests run against any Docker-API daemon: the Rust wrapper (tests/tests/clients.rs)
points DOCKER_HOST at a berthd of its own; run them by hand against another daemon with
e.g. DOCKER_HOST=unix:///tmp/ref/docker.sock. The daemon needs busybox:latest loaded.
"""

import os
import uuid

import docker
import docker.utils.socket
import pytest
from docker.api.client import APIClient
from docker.utils.socket import consume_socket_output, demux_adaptor, frames_iter


def pytest_configure(config):
    if not os.environ.get("DOCKER_HOST"):
        raise pytest.UsageError("set DOCKER_HOST to the daemon under test (unix:///PATH)")
    # testcontainers would start its Ryuk reaper from Docker Hub, which is out of reach.
    os.environ["TESTCONTAINERS_RYUK_DISABLED"] = "true"


class _BufferedFirst:
    """An upgraded connection's raw socket that first serves the bytes the HTTP parser
    already read with the response headers."""

    def __init__(self, sock, early):
        self._sock_io = sock
        self.early = early

    def recv(self, n):
        if self.early:
            out, self.early = self.early[:n], self.early[n:]
            return out
        return self._sock_io.read(n)

    def __getattr__(self, name):
        return getattr(self._sock_io, name)


def _read_from_socket(self, response, stream, tty=True, demux=False):
    # The SDK's APIClient._read_from_socket (attach, exec start), reading what came with the
    # 101 headers first: the SDK reads the socket under the response's buffered reader, so
    # output that arrived with the headers is lost (docker/docker-py#2042, #3332: exec_run
    # and attach return b"" when the process writes before the SDK has parsed the headers,
    # more often the faster the daemon starts it).
    sock = self._get_raw_response_socket(response)
    if not hasattr(sock, "_sock"):  # not a plain socket (TLS, ssh): the SDK's own way
        return _sdk_read_from_socket(self, response, stream, tty, demux)
    fp = response.raw._fp.fp
    raw = sock._sock
    timeout = raw.gettimeout()
    raw.setblocking(False)
    early = b""
    try:
        while True:  # what the reader buffered, then what is already in the socket
            try:
                b = fp.read1(65536)
            except BlockingIOError:
                break
            if not b:
                break
            early += b
    finally:
        raw.settimeout(timeout)
    gen = frames_iter(_BufferedFirst(sock, early) if early else sock, tty)
    gen = (demux_adaptor(*frame) for frame in gen) if demux else (data for (_, data) in gen)
    if stream:
        return gen
    try:
        return consume_socket_output(gen, demux=demux)
    finally:
        response.close()


_sdk_read = docker.utils.socket.read
_sdk_read_from_socket = APIClient._read_from_socket


def _read(socket, n=4096):
    # the SDK polls the fd before each read, which would wait while our bytes are ready
    if isinstance(socket, _BufferedFirst) and socket.early:
        return socket.recv(n)
    return _sdk_read(socket, n)


if os.environ.get("BERTH_PY_SDK_UNPATCHED") != "1":
    APIClient._read_from_socket = _read_from_socket
    docker.utils.socket.read = _read


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
