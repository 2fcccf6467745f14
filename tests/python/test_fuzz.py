"""The Engine API fuzzed from its own description (shared/api/engine-api-v1.50.yaml) with
Schemathesis: requests generated from the schema, valid and invalid, for every operation
that is safe on a shared machine, against a berthd of the test's own (tests/tests/fuzz.rs
starts it, with a TCP listener on 127.0.0.1 for this client, and checks the daemon for
leaks afterwards).

Each answer must be no server error (no 5xx but Berth's 501 "not supported" and the 503
of swarm mode, which Berth does not have), have a status code the description documents
for the operation (or 400, 409 and 404 "No such ...", as dockerd answers them from any), a
documented content type and a body that matches the schema, and be Docker's
`{"message": ...}` when it is an error. Where Berth knowingly differs from the
description, as dockerd does, the differences are listed below with their reasons
(KNOWN, `nullable`).

The examples are bounded and derandomized, the same on every run: BERTH_FUZZ_EXAMPLES per
operation (default 10: a minute or two in all). Set it higher for a longer local run (which
adds Schemathesis's coverage phase: boundary values of every parameter, and methods a path
does not have), and BERTH_FUZZ_SEED to explore other examples.
"""

import json
import os
import pathlib

import pytest
import schemathesis
import yaml
from hypothesis import HealthCheck, Phase, seed, settings
from schemathesis import checks
from schemathesis.generation import GenerationMode

SPEC = pathlib.Path(__file__).resolve().parents[3] / "shared" / "api" / "engine-api-v1.50.yaml"
URL = os.environ.get("BERTH_FUZZ_URL", "")
EXAMPLES = int(os.environ.get("BERTH_FUZZ_EXAMPLES", "10"))
SEED = os.environ.get("BERTH_FUZZ_SEED")
# Containers made for the fuzz (a running one, a stopped one): some of the generated ids
# are replaced by their names, so operations also meet containers that exist.
CONTAINERS = [c for c in os.environ.get("BERTH_FUZZ_CONTAINERS", "").split(",") if c]
# The image the daemon has (tests/tests/fuzz.rs loads it).
IMAGE = "busybox:latest"

# Left out, with why: streams that do not end (a client reads them until it hangs up)
# and upgrades to raw streams, which an HTTP client cannot take.
EXCLUDED = {
    ("GET", "/events"): "a stream that does not end",
    ("GET", "/containers/{id}/stats"): "a stream that does not end (stream=true)",
    ("GET", "/containers/{id}/logs"): "a stream that does not end (follow=true)",
    ("POST", "/containers/{id}/wait"): "waits for the container to stop",
    ("POST", "/containers/{id}/attach"): "an upgraded stream",
    ("GET", "/containers/{id}/attach/ws"): "a websocket",
    ("POST", "/exec/{id}/start"): "an upgraded stream",
    ("GET", "/services/{id}/logs"): "a stream (swarm mode: 503)",
    ("GET", "/tasks/{id}/logs"): "a stream (swarm mode: 503)",
}
# What Berth does not have yet: every answer is 404 "page not found" (or 501), which the
# description cannot document.
NOT_YET = ("/networks", "/volumes", "/build", "/session", "/distribution", "/auth", "/images/search")

# Where Berth's answers knowingly differ from the description, as dockerd's do.
KNOWN = {
    # The description's `produces` is the success body's type (a tar, a log stream);
    # errors are JSON, from dockerd too.
    "error content types": "content types are checked on 2xx answers only",
    # dockerd serializes Go's nil slices and maps as null where the description says
    # array or object (ContainersDeleted, ImagesDeleted, Labels, PluginsInfo...), and its
    # unset pointers (MemorySwappiness, PidsLimit, Init) as null where it says integer or
    # boolean.
    "nullable": "every array and object, and GO_POINTERS, in the description may be null",
    # A conflict with the container's state ("is not running", "is paused", "removal ...
    # already in progress") is 409 with a message, from dockerd too, documented for some
    # operations only.
    "409": "409 with a message is accepted from every operation",
    # An answer without a body (204, a 200 of resize) has no content type, from dockerd too.
    "empty answers": "content types are checked on answers with a body only",
    # Any parameter can be malformed (a `t` that is no number, a bad filter): dockerd and
    # Berth answer 400, documented for some operations only.
    "400": "400 is accepted from every operation",
    # Settings and features Berth refuses by name instead of ignoring them.
    "501": "501 with a message is Berth's 'not supported'",
    # An object a request names that does not exist is 404 "No such ...", from dockerd
    # too, also where the description documents no 404 (save of a missing image).
    "404 no such": "404 'No such ...' is accepted from every operation",
    # A method the path does not have is an unknown path, as in dockerd: 404 "page not
    # found", not 405.
    "other methods": "404 'page not found' for a method the description does not list",
}


# Fields that are pointers in dockerd's Go types: null when unset.
GO_POINTERS = ("MemorySwappiness", "PidsLimit", "Init")


def nullable(node):
    """Mark every array and object schema, and GO_POINTERS, as `x-nullable` (see
    KNOWN["nullable"])."""
    if isinstance(node, dict):
        if node.get("type") in ("array", "object"):
            node["x-nullable"] = True
        for name, prop in (node.get("properties") or {}).items():
            if name in GO_POINTERS and isinstance(prop, dict):
                prop["x-nullable"] = True
        for v in node.values():
            nullable(v)
    elif isinstance(node, list):
        for v in node:
            nullable(v)


raw = yaml.safe_load(SPEC.read_text())
nullable(raw.get("definitions"))
for item in raw.get("paths", {}).values():
    for op in item.values():
        if isinstance(op, dict):
            nullable(op.get("responses"))

schema = schemathesis.openapi.from_dict(raw)
schema.config.update(base_url=URL or None)
schema.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
# Schemathesis's coverage phase (boundary values of every parameter, methods the paths do
# not have) is most of the requests: in the longer runs only.
LONG = EXAMPLES > 10
schema.config.phases.update(
    phases=["examples", "fuzzing", "coverage"] if LONG else ["examples", "fuzzing"]
)
schema = schema.exclude(
    func=lambda ctx: (ctx.operation.method.upper(), ctx.operation.path) in EXCLUDED
    or ctx.operation.path.startswith(NOT_YET)
)


@schemathesis.serializer("application/x-tar")
def tar_body(ctx, value):
    """Tar uploads (load, import, cp) are generated as strings or bytes: sent as they are."""
    if value is None:
        return None
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode()
    return json.dumps(value).encode()


# Settings that would reach the host if the container were started (the fuzz never starts
# what it creates, but a container name it makes up could match one): dropped from every
# create body, as are limits that could make such a container heavy.
UNSAFE_HOST_CONFIG = (
    "Binds", "Mounts", "Devices", "DeviceRequests", "DeviceCgroupRules", "Privileged",
    "CapAdd", "SecurityOpt", "NetworkMode", "PidMode", "IpcMode", "UTSMode", "UsernsMode",
    "CgroupParent", "Cgroup", "CgroupnsMode", "Sysctls", "Runtime", "VolumesFrom", "Tmpfs",
    "Ulimits", "ShmSize", "Init",
)


def sanitize(case):
    """Keep a generated request safe on a shared machine, and short; and let some of them
    name what exists (the image, the containers made for the fuzz), so that they get past
    the lookup."""
    path, method = case.operation.path, case.operation.method.upper()
    if path == "/containers/create" and isinstance(case.body, dict):
        hc = case.body.get("HostConfig")
        if isinstance(hc, dict):
            for key in UNSAFE_HOST_CONFIG:
                hc.pop(key, None)
        if isinstance(case.body.get("Image"), str) and len(case.body["Image"]) % 2 == 0:
            case.body["Image"] = IMAGE
    params = case.path_parameters
    if CONTAINERS and path.startswith("/containers/{id}") and params:
        pick = len(repr(params.get("id"))) % (len(CONTAINERS) + 1)
        if pick < len(CONTAINERS):
            params["id"] = CONTAINERS[pick]
    # The image is looked at and tagged, never removed (the fuzz would have none left).
    if path.startswith("/images/{name}") and params and (method == "GET" or path.endswith("/tag")):
        if len(repr(params.get("name"))) % 2 == 0:
            params["name"] = IMAGE
    # Stops and restarts wait at most a second (the running container ignores SIGTERM).
    if path.endswith(("/stop", "/restart")):
        if case.query is None:
            case.query = {}
        if isinstance(case.query, dict):
            case.query.setdefault("t", 1)
    if isinstance(case.query, dict):
        for key in ("t", "timeout"):
            if isinstance(case.query.get(key), int):
                case.query[key] = 1


def status(response):
    return response.status_code


def content_type(response):
    v = response.headers.get("content-type", [""])
    return v[0] if isinstance(v, list) else v


def no_server_error(ctx, response, case):
    """No 5xx but Berth's 501 "not supported" and swarm mode's 503 (KNOWN)."""
    s = status(response)
    if s < 500 or s == 501:
        return None
    if s == 503 and "swarm" in response.text:
        return None
    raise AssertionError(f"server error {s}: {response.text[:300]}")


def documented_status(ctx, response, case):
    """A status the description documents for the operation, or 400, 409 or 501 (KNOWN)."""
    s = status(response)
    documented = set(case.operation.definition.raw.get("responses", {}))
    if str(s) in documented or "default" in documented or s in (400, 409, 501):
        return None
    message = response.json().get("message", "") if s == 404 else ""
    if message.startswith("No such "):
        return None
    if case.method.upper() != case.operation.method.upper() and message == "page not found":
        return None
    raise AssertionError(f"status {s} is not documented ({sorted(documented)}): {response.text[:300]}")


def documented_content_type(ctx, response, case):
    """On success, a content type the description documents (KNOWN: not on errors nor
    on empty answers)."""
    if status(response) >= 300 or not response.content:
        return None
    return checks.content_type_conformance(ctx, response, case)


def docker_error_body(ctx, response, case):
    """Every error answer is Docker's JSON: `{"message": "..."}`."""
    s = status(response)
    if s < 400 or case.method.upper() == "HEAD":
        return None
    assert content_type(response).startswith("application/json"), (
        f"{s} answered as {content_type(response)!r}: {response.text[:300]}"
    )
    body = response.json()
    assert isinstance(body, dict) and isinstance(body.get("message"), str) and body["message"], (
        f"{s} without a message: {body!r}"
    )
    return None


CHECKS = [
    no_server_error,
    documented_status,
    documented_content_type,
    checks.response_schema_conformance,
    docker_error_body,
]


def fuzz_settings(f):
    f = settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=SEED is None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )(f)
    return f if SEED is None else seed(int(SEED))(f)


@pytest.mark.skipif(not URL, reason="BERTH_FUZZ_URL is not set (tests/tests/fuzz.rs sets it)")
@schema.parametrize()
@fuzz_settings
def test_api(case):
    sanitize(case)
    case.call_and_validate(checks=CHECKS, timeout=30)
