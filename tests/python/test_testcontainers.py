"""testcontainers-python against the daemon at DOCKER_HOST: a busybox container with a
command, started with a wait for its log line, exec'd into, and removed at the end.

Its Ryuk reaper is an image from Docker Hub, out of reach here: conftest.py disables it
(TESTCONTAINERS_RYUK_DISABLED=true), and testcontainers only pulls what is not local."""

import os
import time
import uuid

import docker
import pytest
from testcontainers.core.container import DockerContainer
from testcontainers.core.labels import SESSION_ID
from testcontainers.core.wait_strategies import LogMessageWaitStrategy
from testcontainers.core.waiting_utils import wait_for_logs


def test_ryuk_is_disabled():
    from testcontainers.core.config import testcontainers_config

    assert testcontainers_config.ryuk_disabled


def test_container_exec_and_logs(client):
    since = time.time()
    name = "{}-tc-{}".format(os.environ.get("BERTH_PY_PREFIX", "berthpy"), uuid.uuid4().hex[:8])
    container = (
        DockerContainer("busybox:latest")
        .with_name(name)
        .with_env("GREETING", "hello")
        .with_command(["sh", "-c", 'echo "ready: $GREETING"; echo warming >&2; exec sleep 1000'])
        .waiting_for(LogMessageWaitStrategy("ready: hello").with_startup_timeout(30))
    )
    try:
        with container:
            wrapped = container.get_wrapped_container()
            assert wrapped.name == name
            container.reload()
            assert container.status == "running"
            # testcontainers labels what it starts
            assert wrapped.labels["org.testcontainers.lang"] == "python"
            assert wrapped.labels["org.testcontainers.session-id"] == SESSION_ID

            result = container.exec(["sh", "-c", "echo $GREETING from exec; exit 3"])
            assert result.exit_code == 3
            assert result.output == b"hello from exec\n"
            assert container.exec("cat /proc/1/cmdline").output == b"sleep\x001000\x00"

            stdout, stderr = container.get_logs()
            assert stdout == b"ready: hello\n"
            assert stderr == b"warming\n"
            # the helper form of the same wait
            assert wait_for_logs(container, LogMessageWaitStrategy("warming"), timeout=30) >= 0
        # leaving the block removes the container
        with pytest.raises(docker.errors.NotFound):
            client.containers.get(name)
        # busybox was local: nothing was pulled (no Ryuk either)
        pulls = client.events(decode=True, since=since, until=time.time(), filters={"event": "pull"})
        assert list(pulls) == []
        session = "org.testcontainers.session-id=" + SESSION_ID
        assert client.containers.list(all=True, filters={"label": session}) == []
    finally:
        try:
            client.api.remove_container(name, force=True)
        except docker.errors.NotFound:
            pass


def test_container_that_exits_before_its_log_line_fails_fast(client):
    name = "{}-tc-{}".format(os.environ.get("BERTH_PY_PREFIX", "berthpy"), uuid.uuid4().hex[:8])
    container = (
        DockerContainer("busybox:latest")
        .with_name(name)
        .with_command(["sh", "-c", "echo bye; exit 2"])
        .waiting_for(LogMessageWaitStrategy("never printed").with_startup_timeout(30))
    )
    try:
        with pytest.raises(RuntimeError, match=r"exit code: 2"):
            container.start()
    finally:
        try:
            client.api.remove_container(name, force=True)
        except docker.errors.NotFound:
            pass
