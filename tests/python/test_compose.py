"""docker-compose 1.29 (the Python one, `docker-compose`) against the daemon at
DOCKER_HOST: a two-service project on the host network through up, ps, logs, exec, stop,
start and down, each checked through the SDK too (state, labels, config); and a project
with its own network and a named volume that two services share (name resolution on the
project network and through `links:`, copy-up, labels, `down -v`)."""

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


NETWORKED_FILE = """\
version: "3.7"
services:
  web:
    image: busybox
    command: sh -c 'echo from-the-volume > /srv/index.html; exec httpd -f -p 80 -h /srv'
    volumes:
      - data:/srv
  client:
    image: busybox
    depends_on: [web]
    links:
      - "web:webalias"
    command: >-
      sh -c 'for i in $$(seq 100); do wget -qO- http://webalias/index.html && break; sleep 0.1; done;
      cat /shared/index.html; touch /shared/x 2>/dev/null || echo read-only'
    volumes:
      - data:/shared:ro
volumes:
  data:
    labels:
      berth.test.volume: shared
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
        down = [exe, "--ansi", "never", "-p", project, "down", "-v", "-t", "0"]
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


def test_compose_project_network_and_volume(client, compose):
    p = compose.project
    (compose.dir / "docker-compose.yml").write_text(NETWORKED_FILE)
    compose("up", "-d")
    client_c = "{}_client_1".format(p)
    poll("client exits", lambda: client.containers.get(client_c).status == "exited", secs=60)
    # Through the link's alias on the project network (compose sends it as the
    # endpoint's Links), then the same file through the shared volume, mounted
    # read-only there.
    out = client.containers.get(client_c).logs().decode()
    assert out == "from-the-volume\nfrom-the-volume\nread-only\n", out

    net = client.networks.get(p + "_default")
    assert net.attrs["Driver"] == "bridge"
    assert net.attrs["Labels"]["com.docker.compose.project"] == p
    vol = client.volumes.get(p + "_data")
    assert vol.attrs["Labels"]["com.docker.compose.project"] == p
    assert vol.attrs["Labels"]["com.docker.compose.volume"] == "data"
    assert vol.attrs["Labels"]["berth.test.volume"] == "shared"
    web = client.containers.get(p + "_web_1").attrs
    assert [(m["Type"], m["Name"], m["Destination"], m["RW"]) for m in web["Mounts"]] == [
        ("volume", p + "_data", "/srv", True)
    ]

    # A one-off container of the service gets the links too: the embedded DNS answers
    # the alias for it (dockerd's link aliases on a user network), not a hosts entry.
    r = compose(
        "run", "--rm", "client", "sh", "-c",
        "grep -c webalias /etc/hosts; nslookup -type=a webalias 127.0.0.11 >/dev/null && echo resolved",
    )
    assert r.stdout.split()[-2:] == ["0", "resolved"], r.stdout

    # A second up keeps the volume and its content.
    compose("up", "-d", "--force-recreate", "web")
    r = client.containers.run("busybox", "cat /v/index.html", volumes={p + "_data": {"bind": "/v"}}, remove=True)
    assert r == b"from-the-volume\n"

    # down -v removes the containers, the network and the volume.
    compose("down", "-v", "-t", "0")
    assert client.containers.list(all=True, filters={"label": "com.docker.compose.project=" + p}) == []
    with pytest.raises(docker.errors.NotFound):
        client.volumes.get(p + "_data")
    with pytest.raises(docker.errors.NotFound):
        client.networks.get(p + "_default")
