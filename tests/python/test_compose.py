"""docker-compose 1.29 (the Python one, `docker-compose`) against the daemon at
DOCKER_HOST: a two-service project on the host network through up, ps, logs, exec, stop,
start and down, each checked through the SDK too (state, labels, config).

The services use `network_mode: host` until Berth has the default bridge network."""

import os
import shutil
import subprocess
import time
import uuid

import docker
import pytest

COMPOSE_FILE = """\
version: "3.7"
services:
  sleeper:
    image: busybox
    command: sleep 1000
    network_mode: host
    restart: unless-stopped
    labels:
      berth.test.role: sleeper
    environment:
      GREETING: hello
  talker:
    image: busybox
    command: sh -c 'echo "talker says $$GREETING"; echo "talker complains" >&2'
    network_mode: host
    environment:
      - GREETING=hi there
"""


@pytest.fixture
def compose(tmp_path, client):
    exe = shutil.which("docker-compose")
    if exe is None:
        msg = "docker-compose is not installed (tests/python/setup.sh installs it)"
        if os.environ.get("BERTH_REQUIRE_CLIENTS") == "1":
            pytest.fail(msg)
        pytest.skip(msg)
    (tmp_path / "docker-compose.yml").write_text(COMPOSE_FILE)
    project = "{}{}".format(os.environ.get("BERTH_PY_PREFIX", "berthpy"), uuid.uuid4().hex[:8]).lower()

    def run(*args, env=None, code=0):
        p = subprocess.run(
            [exe, "--ansi", "never", "-p", project, *args],
            cwd=tmp_path,
            env={**os.environ, **(env or {})},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert p.returncode == code, "docker-compose {}: exit {}\nstdout:\n{}\nstderr:\n{}".format(
            " ".join(args), p.returncode, p.stdout, p.stderr
        )
        return p

    run.project = project
    run.dir = tmp_path
    try:
        yield run
    finally:
        down = [exe, "--ansi", "never", "-p", project, "down", "-t", "0"]
        subprocess.run(down, cwd=tmp_path, capture_output=True, timeout=120)
        label = "com.docker.compose.project=" + project
        for c in client.containers.list(all=True, filters={"label": label}):
            c.remove(force=True)


def poll(what, f, secs=30):
    deadline = time.monotonic() + secs
    while not f():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


def test_compose_project_lifecycle(client, compose):
    p = compose.project
    label = "com.docker.compose.project=" + p

    def containers():
        return {
            c.labels["com.docker.compose.service"]: c
            for c in client.containers.list(all=True, filters={"label": label})
        }

    def status(service):
        return client.containers.get("{}_{}_1".format(p, service)).status

    compose("up", "-d")
    poll("talker exits", lambda: status("talker") == "exited")
    cs = containers()
    assert sorted(cs) == ["sleeper", "talker"]
    assert cs["sleeper"].status == "running"
    assert cs["sleeper"].name == p + "_sleeper_1"

    # labels compose sets and finds its containers by
    for service, c in cs.items():
        assert c.labels["com.docker.compose.project"] == p
        assert c.labels["com.docker.compose.service"] == service
        assert c.labels["com.docker.compose.container-number"] == "1"
        assert c.labels["com.docker.compose.oneoff"] == "False"
        assert c.labels["com.docker.compose.version"] == "1.29.2"
        assert c.labels["com.docker.compose.project.working_dir"] == str(compose.dir)
        assert len(c.labels["com.docker.compose.config-hash"]) == 64
        assert c.attrs["HostConfig"]["NetworkMode"] == "host"
    sleeper = cs["sleeper"].attrs
    assert cs["sleeper"].labels["berth.test.role"] == "sleeper"
    assert "GREETING=hello" in sleeper["Config"]["Env"]
    assert sleeper["Config"]["Cmd"] == ["sleep", "1000"]
    assert sleeper["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped"
    assert cs["talker"].attrs["State"]["ExitCode"] == 0

    # ps
    assert sorted(compose("ps", "--services").stdout.split()) == ["sleeper", "talker"]
    assert sorted(compose("ps", "-q").stdout.split()) == sorted(c.id for c in cs.values())
    rows = {line.split()[0]: line for line in compose("ps").stdout.splitlines()}
    assert " Up" in rows[p + "_sleeper_1"], rows
    assert "Exit 0" in rows[p + "_talker_1"], rows

    # logs (stdout and stderr, prefixed by the container's name)
    logs = compose("logs", "--no-color", "talker").stdout
    lines = [line.split("|", 1)[1].strip() for line in logs.splitlines() if "|" in line]
    assert sorted(lines) == ["talker complains", "talker says hi there"], logs

    # exec -T through compose's own API client (COMPOSE_INTERACTIVE_NO_CLI), and through
    # the docker CLI (compose's default) where it is installed
    envs = [{"COMPOSE_INTERACTIVE_NO_CLI": "1"}] + ([{}] if shutil.which("docker") else [])
    for env in envs:
        r = compose("exec", "-T", "sleeper", "sh", "-c", "echo $GREETING; exit 3", env=env, code=3)
        assert r.stdout == "hello\n", env

    # stop: sleep as PID 1 ignores SIGTERM, so it is killed after the timeout
    compose("stop", "-t", "1")
    cs = containers()
    assert {s: c.status for s, c in cs.items()} == {"sleeper": "exited", "talker": "exited"}
    assert cs["sleeper"].attrs["State"]["ExitCode"] == 137
    rows = {line.split()[0]: line for line in compose("ps").stdout.splitlines()}
    assert "Exit 137" in rows[p + "_sleeper_1"], rows

    # start: the same containers run again
    compose("start")
    poll("sleeper runs again", lambda: status("sleeper") == "running")
    poll(
        "talker talks again",
        lambda: client.containers.get(p + "_talker_1").logs(stderr=False)
        == b"talker says hi there\ntalker says hi there\n",
    )
    assert {s: c.id for s, c in containers().items()} == {s: c.id for s, c in cs.items()}

    # down removes them
    compose("down", "-t", "1")
    assert containers() == {}
    assert compose("ps", "-q").stdout.split() == []
