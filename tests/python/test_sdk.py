"""The docker SDK (docker-py 7) against the daemon at DOCKER_HOST: its documented examples,
each checked for what Docker really does (output, exit codes, archives, image configs,
events), with the SDK's own error types."""

import io
import os
import tarfile
import time

import docker
import pytest


def wait_status(container, status, secs=30):
    deadline = time.monotonic() + secs
    while True:
        container.reload()
        if container.status == status:
            return
        if time.monotonic() > deadline:
            raise AssertionError(
                "container {} is {}, not {}".format(container.name, container.status, status)
            )
        time.sleep(0.1)


@pytest.fixture
def sleeper(client, owned):
    """A running busybox container for exec and archive tests."""
    c = client.containers.run("busybox", ["sleep", "1000"], name=owned.name(), detach=True)
    wait_status(c, "running")
    return c


# containers.run


def test_run_attached_returns_output(client, owned):
    assert client.containers.run("busybox", "echo hi", name=owned.name()) == b"hi\n"


def test_run_attached_remove(client, owned):
    name = owned.name()
    out = client.containers.run("busybox", ["sh", "-c", "echo out; echo err >&2"], name=name, remove=True)
    assert out == b"out\n"  # stdout only, as documented (stderr=False)
    with pytest.raises(docker.errors.NotFound):
        client.containers.get(name)


def test_run_attached_stderr(client, owned):
    out = client.containers.run(
        "busybox", ["sh", "-c", "echo err >&2"], stdout=False, stderr=True, name=owned.name()
    )
    assert out == b"err\n"


def test_run_nonzero_exit_raises_container_error(client, owned):
    with pytest.raises(docker.errors.ContainerError) as e:
        client.containers.run("busybox", ["sh", "-c", "echo oops >&2; exit 3"], name=owned.name())
    assert e.value.exit_status == 3
    assert e.value.stderr == b"oops\n"


def test_create_missing_image_raises_image_not_found(client, owned):
    with pytest.raises(docker.errors.ImageNotFound):
        client.containers.create("berthpy-no-such-image:v0", name=owned.name())


def test_run_detached_then_logs_stream(client, owned):
    c = client.containers.run(
        "busybox",
        ["sh", "-c", "for i in 1 2 3; do echo line$i; sleep 0.1; done"],
        name=owned.name(),
        detach=True,
    )
    assert isinstance(c, docker.models.containers.Container)
    # stream=True follows the log until the container exits.
    chunks = list(c.logs(stream=True))
    assert b"".join(chunks) == b"line1\nline2\nline3\n"
    assert c.wait() == {"StatusCode": 0, "Error": None}
    c.reload()
    assert c.status == "exited"
    assert c.attrs["State"]["ExitCode"] == 0
    assert c.logs() == b"line1\nline2\nline3\n"
    assert c.logs(tail=1) == b"line3\n"
    lines = c.logs(timestamps=True).splitlines()
    assert [line.split(b" ", 1)[1] for line in lines] == [b"line1", b"line2", b"line3"]


def test_run_detached_attrs(client, owned):
    name = owned.name()
    c = client.containers.run(
        "busybox",
        ["sleep", "1000"],
        name=name,
        detach=True,
        environment={"GREETING": "hello"},
        labels={"berth.test": "sdk"},
        working_dir="/tmp",
    )
    wait_status(c, "running")
    assert c.name == name
    assert "busybox:latest" in c.image.tags
    assert c.labels == {"berth.test": "sdk"}
    assert "GREETING=hello" in c.attrs["Config"]["Env"]
    assert c.attrs["Config"]["WorkingDir"] == "/tmp"
    assert c.attrs["HostConfig"]["LogConfig"]["Type"] == "json-file"
    assert [x.name for x in client.containers.list(filters={"name": name})] == [name]
    assert c.top()["Processes"][0][-1] == "sleep 1000"
    c.kill()
    assert c.wait()["StatusCode"] == 137


# exec_run


def test_exec_run_output_and_exit_code(sleeper):
    assert sleeper.exec_run("echo hello") == (0, b"hello\n")
    assert sleeper.exec_run(["sh", "-c", "exit 7"]).exit_code == 7
    # stdout and stderr together without demux (read from two pipes: in either order)
    r = sleeper.exec_run(["sh", "-c", "echo out; echo err >&2"])
    assert r.exit_code == 0
    assert sorted(r.output.splitlines()) == [b"err", b"out"]
    r = sleeper.exec_run("env", environment={"EXECVAR": "x1"}, workdir="/etc", user="nobody")
    assert b"EXECVAR=x1\n" in r.output
    assert sleeper.exec_run("pwd", workdir="/etc").output == b"/etc\n"
    assert sleeper.exec_run("id -un", user="nobody").output == b"nobody\n"


def test_exec_run_demux(sleeper):
    r = sleeper.exec_run(["sh", "-c", "echo out; echo err >&2; exit 2"], demux=True)
    assert r.exit_code == 2
    assert r.output == (b"out\n", b"err\n")
    r = sleeper.exec_run(["sh", "-c", "echo only-out"], demux=True)
    assert r.output == (b"only-out\n", None)


def test_exec_run_tty(sleeper):
    # With a TTY the output is one raw stream, with the terminal's \r\n line endings.
    r = sleeper.exec_run(["sh", "-c", "echo out; echo err >&2"], tty=True)
    assert r == (0, b"out\r\nerr\r\n")
    r = sleeper.exec_run(["sh", "-c", "tty; exit 4"], tty=True)
    assert r.exit_code == 4
    assert r.output.startswith(b"/dev/pts/")
    # and without one, stdin is not a terminal
    r = sleeper.exec_run("tty")
    assert r == (1, b"not a tty\n")


def test_exec_run_stream(sleeper):
    r = sleeper.exec_run(["sh", "-c", "for i in 1 2 3; do echo s$i; sleep 0.1; done"], stream=True)
    assert r.exit_code is None
    assert b"".join(r.output) == b"s1\ns2\ns3\n"
    r = sleeper.exec_run(["sh", "-c", "echo o; sleep 0.1; echo e >&2"], stream=True, demux=True)
    parts = list(r.output)
    assert b"".join(o for o, _ in parts if o) == b"o\n"
    assert b"".join(e for _, e in parts if e) == b"e\n"


def test_exec_run_missing_binary_is_126(sleeper):
    r = sleeper.exec_run("/no/such/binary")
    assert r.exit_code == 126
    assert b"no such file or directory" in r.output


def test_exec_run_detach(client, sleeper):
    r = sleeper.exec_run(["sh", "-c", "echo detached > /tmp/d"], detach=True)
    assert r.output == ""  # the SDK returns the (empty) body of a detached start as text
    deadline = time.monotonic() + 30
    while sleeper.exec_run("cat /tmp/d").output != b"detached\n":
        assert time.monotonic() < deadline, "the detached exec did not write its file"
        time.sleep(0.1)


# attach


def test_attach_logs_not_stream(client, owned):
    c = client.containers.run(
        "busybox",
        ["sh", "-c", "echo one; echo two; echo three >&2; exec sleep 1000"],
        name=owned.name(),
        detach=True,
    )
    deadline = time.monotonic() + 30
    while (c.logs(stderr=False), c.logs(stdout=False)) != (b"one\ntwo\n", b"three\n"):
        assert time.monotonic() < deadline, c.logs()
        time.sleep(0.1)
    # logs=True, stream=False: what the container wrote so far, then the call returns
    # although the container still runs.
    assert c.attach(stderr=False, logs=True, stream=False) == b"one\ntwo\n"
    assert c.attach(stdout=False, logs=True, stream=False) == b"three\n"
    assert c.attach(logs=True, stream=False, demux=True) == (b"one\ntwo\n", b"three\n")
    c.reload()
    assert c.status == "running"


def test_attach_stream_follows_output(client, owned):
    c = client.containers.create(
        "busybox", ["sh", "-c", "echo a; sleep 0.2; echo b"], name=owned.name()
    )
    stream = c.attach(stream=True, logs=True)
    c.start()
    assert b"".join(stream) == b"a\nb\n"
    assert c.wait()["StatusCode"] == 0


# put_archive / get_archive


def make_tar(files):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o640
            info.mtime = 1_600_000_000
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def read_tar(chunks):
    buf = io.BytesIO(b"".join(chunks))
    with tarfile.open(fileobj=buf) as tar:
        return {
            m.name: (m, tar.extractfile(m).read() if m.isfile() else None) for m in tar.getmembers()
        }


def test_put_and_get_archive_round_trip(sleeper):
    tar = make_tar({"hello.txt": b"hello archive\n", "sub/deep.txt": b"deep\n"})
    assert sleeper.put_archive("/tmp", tar) is True
    assert sleeper.exec_run("cat /tmp/hello.txt /tmp/sub/deep.txt").output == b"hello archive\ndeep\n"
    assert sleeper.exec_run("stat -c %a /tmp/hello.txt").output == b"640\n"

    bits, stat = sleeper.get_archive("/tmp/hello.txt")
    assert stat["name"] == "hello.txt"
    assert stat["size"] == len(b"hello archive\n")
    assert stat["mode"] & 0o777 == 0o640
    files = read_tar(bits)
    assert list(files) == ["hello.txt"]
    assert files["hello.txt"][1] == b"hello archive\n"
    assert files["hello.txt"][0].mtime == 1_600_000_000

    bits, stat = sleeper.get_archive("/tmp/sub")
    assert stat["name"] == "sub"
    assert stat["mode"] & 0o20000000000  # os.ModeDir in Go's FileMode bits
    files = read_tar(bits)
    assert files["sub"][0].isdir()
    assert files["sub/deep.txt"][1] == b"deep\n"


def test_get_archive_missing_path_is_not_found(sleeper):
    with pytest.raises(docker.errors.NotFound):
        sleeper.get_archive("/no/such/path")


def test_put_archive_to_stopped_container(client, owned):
    c = client.containers.create("busybox", ["cat", "/etc/motd.txt"], name=owned.name())
    assert c.put_archive("/etc", make_tar({"motd.txt": b"from put_archive\n"})) is True
    c.start()
    assert c.wait()["StatusCode"] == 0
    assert c.logs() == b"from put_archive\n"


# commit


def test_commit_then_run_new_image(client, owned):
    c = client.containers.run(
        "busybox", ["sh", "-c", "echo committed > /marker"], name=owned.name(), detach=True
    )
    assert c.wait()["StatusCode"] == 0
    repo = owned.repo()
    img = c.commit(
        repository=repo,
        tag="v1",
        message="a test commit",
        author="berth tests",
        changes=["ENV FOO=bar", 'CMD ["cat", "/marker"]', "LABEL stage=committed"],
    )
    assert isinstance(img, docker.models.images.Image)
    assert img.tags == [repo + ":v1"]
    assert "FOO=bar" in img.attrs["Config"]["Env"]
    assert img.attrs["Config"]["Cmd"] == ["cat", "/marker"]
    assert img.labels == {"stage": "committed"}
    assert img.attrs["Author"] == "berth tests"
    assert img.attrs["Comment"] == "a test commit"
    # The committed container: shown below API 1.45 only (as dockerd since 25).
    if docker.utils.version_lt(client.api.api_version, "1.45"):
        assert img.attrs["Container"] == c.id
    else:
        assert "Container" not in img.attrs
        old = docker.APIClient(base_url=os.environ["DOCKER_HOST"], version="1.44")
        try:
            assert old.inspect_image(img.id)["Container"] == c.id
        finally:
            old.close()
    busybox = client.images.get("busybox")
    assert img.attrs["Parent"] == busybox.id
    assert len(img.attrs["RootFS"]["Layers"]) == len(busybox.attrs["RootFS"]["Layers"]) + 1
    assert img.history()[0]["Comment"] == "a test commit"

    out = client.containers.run(repo + ":v1", name=owned.name(), remove=True)
    assert out == b"committed\n"
    out = client.containers.run(img.id, ["sh", "-c", "echo $FOO"], name=owned.name(), remove=True)
    assert out == b"bar\n"


# images


def test_images_list_get_tag_remove(client, owned):
    busybox = client.images.get("busybox")
    assert "busybox:latest" in busybox.tags
    assert busybox.id.startswith("sha256:")
    assert busybox.short_id == busybox.id[:19]
    assert busybox.id in [i.id for i in client.images.list()]
    assert busybox.id in [i.id for i in client.images.list(name="busybox")]
    assert client.images.get(busybox.id).id == busybox.id
    assert client.images.get(busybox.short_id).id == busybox.id

    repo = owned.repo()
    assert busybox.tag(repo, tag="t1") is True
    assert busybox.tag(repo, tag="t2") is True
    tagged = client.images.get(repo + ":t1")
    assert tagged.id == busybox.id
    assert sorted(t for t in tagged.tags if t.startswith(repo)) == [repo + ":t1", repo + ":t2"]
    listed = client.images.list(name=repo)
    assert [i.id for i in listed] == [busybox.id]
    assert {repo + ":t1", repo + ":t2", "busybox:latest"} <= set(listed[0].tags)
    assert [i.id for i in client.images.list(filters={"reference": repo + ":t2"})] == [busybox.id]

    client.images.remove(repo + ":t1")
    with pytest.raises(docker.errors.ImageNotFound):
        client.images.get(repo + ":t1")
    assert client.images.get(repo + ":t2").id == busybox.id
    client.images.remove(repo + ":t2")
    assert client.images.list(name=repo) == []
    assert client.images.get("busybox").id == busybox.id

    with pytest.raises(docker.errors.ImageNotFound):
        client.images.get("berthpy-no-such-image:v0")
    with pytest.raises(docker.errors.ImageNotFound):
        client.images.remove("berthpy-no-such-image:v0")


def test_image_remove_in_use_conflicts(client, owned):
    repo = owned.repo()
    busybox = client.images.get("busybox")
    busybox.tag(repo, tag="inuse")
    c = client.containers.run(repo + ":inuse", ["sleep", "1000"], name=owned.name(), detach=True)
    wait_status(c, "running")
    # the tag can go (busybox:latest still names the image) ...
    client.images.remove(repo + ":inuse")
    # ... but not the image itself while a running container uses it
    with pytest.raises(docker.errors.APIError) as e:
        client.images.remove(busybox.id, force=True)
    assert e.value.status_code == 409


def test_images_load_broken_raises_image_load_error(client):
    with pytest.raises(docker.errors.ImageLoadError):
        client.images.load(b"this is not an image archive" * 100)


# events


def test_events_since_until_for_a_run(client, owned):
    name = owned.name()
    since = time.time()
    client.containers.run("busybox", ["sh", "-c", "exit 5"], name=name, detach=True).wait()
    client.containers.get(name).remove()
    until = time.time()
    events = list(client.events(decode=True, since=since, until=until, filters={"container": name}))
    assert [e["Action"] for e in events] == ["create", "start", "die", "destroy"]
    for e in events:
        assert e["Type"] == "container"
        assert e["Actor"]["Attributes"]["name"] == name
        assert e["Actor"]["Attributes"]["image"] == "busybox"
        assert e["timeNano"] // 1_000_000_000 == e["time"]
        assert since <= e["timeNano"] / 1e9 <= until
    assert events[2]["Actor"]["Attributes"]["exitCode"] == "5"
    assert len({e["Actor"]["ID"] for e in events}) == 1


def test_events_followed_live(client, owned):
    name = owned.name()
    stream = client.events(decode=True, filters={"container": name, "event": ["start", "die"]})
    try:
        client.containers.run("busybox", "true", name=name, detach=True)
        seen = []
        for e in stream:
            seen.append((e["Action"], e["Actor"]["Attributes"]["name"]))
            if len(seen) == 2:
                break
        assert seen == [("start", name), ("die", name)]
    finally:
        stream.close()


def test_image_events(client, owned):
    repo = owned.repo()
    busybox = client.images.get("busybox")
    since = time.time()
    busybox.tag(repo, tag="ev")
    client.images.remove(repo + ":ev")
    until = time.time()
    events = list(client.events(decode=True, since=since, until=until, filters={"type": "image"}))
    ours = [
        (e["Action"], e["Actor"]["Attributes"]["name"])
        for e in events
        if e["Actor"]["ID"] == busybox.id and e["Action"] in ("tag", "untag")
    ]
    tag = ours.index(("tag", repo + ":ev"))
    # An untag event names the image id (Docker's graphdriver store, dockerd 20.10) or the
    # reference removed (Docker 25+ with the containerd store).
    untags = [n for a, n in ours[tag + 1 :] if a == "untag"]
    assert busybox.id in untags or repo + ":ev" in untags, ours


# system


def test_ping_version_info(client):
    assert client.ping() is True
    v = client.version()
    assert v["ApiVersion"] and v["Os"] == "linux"
    info = client.info()
    assert info["OSType"] == "linux"
    assert info["Images"] >= 1


def test_swarm_leave_outside_a_swarm(client):
    # What the SDK's own test suite does before its swarm tests: a forced leave outside a
    # swarm succeeds (the SDK turns Docker's 503 into True) ...
    assert client.swarm.leave(force=True) is True
    # ... and a plain leave is Docker's 503 error
    with pytest.raises(docker.errors.APIError) as e:
        client.swarm.leave()
    assert e.value.status_code == 503
    assert "This node is not part of a swarm" in e.value.explanation
