#!/usr/bin/env python3
"""Berth vs dockerd 20.10, side by side. Run through bench/run.sh (which installs and
builds first). Writes BENCHMARKS.md and bench/scaling.png.

Each engine runs on its own private socket and data root under a temporary work dir.
Single-command scenarios are timed with hyperfine, in rounds that alternate the engines
(so drift on the machine hits both alike); compound scenarios are timed here."""

import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
IMAGES = os.path.normpath(os.path.join(REPO, "..", "shared", "images"))
REL = os.path.join(REPO, "target", "release")
DOCKER = "/usr/local/bin/docker"
QUICK = "--quick" in sys.argv
ROUNDS = 3
RUNS = 5 if QUICK else 10  # per round
SCALE = [0, 50, 100] if QUICK else [0, 100, 500]

W = tempfile.mkdtemp(prefix="berth-bench.")
REF_SOCK = f"unix://{W}/ref/docker.sock"
BERTH_SOCK = f"unix://{W}/berth/berthd.sock"
procs = {}
# (controller, name) cgroup dirs present before we start, left alone by the cleanup.
CGROUPS_BEFORE = {(c, n) for c in os.listdir("/sys/fs/cgroup")
                  if os.path.isdir(os.path.join("/sys/fs/cgroup", c))
                  for n in os.listdir(os.path.join("/sys/fs/cgroup", c))}


def sh(cmd, env=None, check=True, quiet=True):
    e = dict(os.environ)
    e.update(env or {})
    r = subprocess.run(cmd, shell=isinstance(cmd, str), env=e, text=True,
                       stdout=subprocess.PIPE if quiet else None,
                       stderr=subprocess.PIPE if quiet else None)
    if check and r.returncode != 0:
        raise RuntimeError(f"{cmd} failed ({r.returncode}): {r.stderr}")
    return r


def wait_socket(path, proc, name, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if os.path.exists(path):
            return
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with {proc.returncode}")
        time.sleep(0.1)
    raise RuntimeError(f"{name} did not start")


def iptables_snapshot():
    snap = {}
    for tool in ("iptables", "ip6tables"):
        if shutil.which(tool + "-save"):
            r = subprocess.run([tool + "-save"], stdout=subprocess.PIPE, text=True)
            snap[tool] = r.stdout
    return snap


def start_ref():
    os.makedirs(f"{W}/ref", exist_ok=True)
    log = open(f"{W}/ref/dockerd.log", "w")
    p = subprocess.Popen(["dockerd", "--data-root", f"{W}/ref/root", "--exec-root",
                          f"{W}/ref/exec", "-H", REF_SOCK, "--pidfile", f"{W}/ref/docker.pid",
                          "--containerd-namespace", "berth-bench",
                          "--containerd-plugins-namespace", "berth-bench-plugins"],
                         stdout=log, stderr=log)
    procs["dockerd"] = p
    wait_socket(f"{W}/ref/docker.sock", p, "dockerd")
    for _ in range(100):
        if sh([DOCKER, "version"], env={"DOCKER_HOST": REF_SOCK}, check=False).returncode == 0:
            return
        time.sleep(0.2)
    raise RuntimeError("dockerd does not answer")


def restart_ref():
    """Stop the reference dockerd and start it again on the same data root."""
    p = procs["dockerd"]
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(60)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    sh(f"pkill -9 -f '{W}/ref/exec' || true", check=False)
    start_ref()


def start_berth(root=None, sock=None):
    root = root or f"{W}/berth"
    sock = sock or BERTH_SOCK
    os.makedirs(root, exist_ok=True)
    log = open(f"{root}/berthd.log", "w")
    p = subprocess.Popen([f"{REL}/berthd", "--data-root", f"{root}/root", "--exec-root",
                          f"{root}/run", "-H", sock, "--cgroup-parent",
                          "berth-bench-" + os.path.basename(W).split(".")[-1]],
                         stdout=log, stderr=log)
    wait_socket(sock[len("unix://"):], p, "berthd")
    return p


def fresh_fs():
    """A new ext4 without a journal (like this machine's root) on a loop device over a file
    on the same disk. A load into it starts from an empty filesystem: ext4 without a
    journal skips inodes freed in the last minutes, which makes any engine's load right
    after a large delete (an `rmi`, a test run) several times slower and noisy."""
    img, mnt = f"{W}/fs.img", f"{W}/fs"
    os.makedirs(mnt, exist_ok=True)
    sh(["truncate", "-s", "4G", img])
    sh(["mkfs.ext4", "-q", "-F", "-O", "^has_journal", img])
    dev = sh(["losetup", "-f", "--show", "--direct-io=on", img]).stdout.strip()
    sh(["mount", dev, mnt])
    return mnt, dev


def drop_fs(mnt, dev):
    for _ in range(20):
        if sh(["umount", mnt], check=False).returncode == 0:
            break
        time.sleep(0.5)
    else:
        sh(["umount", "-l", mnt], check=False)
    sh(["losetup", "-d", dev], check=False)
    os.unlink(f"{W}/fs.img")


def load_on_fresh_fs(engine, archive):
    """Seconds for one `load` of `archive` by `engine` (dockerd, berth-docker or berth),
    its data root on a new filesystem; the daemon starts before and stops after."""
    mnt, dev = fresh_fs()
    try:
        if engine == "dockerd":
            d = f"{W}/lref"
            os.makedirs(d, exist_ok=True)
            sock = f"unix://{d}/d.sock"
            log = open(f"{d}/dockerd.log", "a")
            p = subprocess.Popen(["dockerd", "--data-root", f"{mnt}/root", "--exec-root",
                                  f"{d}/exec", "-H", sock, "--pidfile", f"{d}/d.pid",
                                  "--bridge", "none", "--iptables=false", "--ip6tables=false",
                                  "--containerd-namespace", "berth-bench-load",
                                  "--containerd-plugins-namespace", "berth-bench-load-plugins"],
                                 stdout=log, stderr=log)
            procs["load-dockerd"] = p
            env = {"DOCKER_HOST": sock}
            wait_socket(f"{d}/d.sock", p, "dockerd")
            for _ in range(100):
                if sh([DOCKER, "version"], env=env, check=False).returncode == 0:
                    break
                time.sleep(0.2)
            t = timed(lambda: sh([DOCKER, "load", "-i", archive], env=env), 1)
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
            return t
        sock = f"unix://{W}/lb.sock"
        p = start_berth(mnt, sock)
        cli, env = ((DOCKER, {"DOCKER_HOST": sock}) if engine == "berth-docker"
                    else (f"{REL}/berth", {"BERTH_HOST": sock}))
        t = timed(lambda: sh([cli, "load", "-i", archive], env=env), 1)
        stop_berth(p, sock)
        return t
    finally:
        drop_fs(mnt, dev)


def stop_berth(p, sock):
    env = {"BERTH_HOST": sock}
    ids = sh([f"{REL}/berth", "ps", "-aq"], env=env, check=False).stdout.split()
    if ids:
        sh([f"{REL}/berth", "rm", "-f", *ids], env=env, check=False)
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(10)
    except subprocess.TimeoutExpired:
        p.kill()


def cleanup(snap, had_bridges):
    if "berthd" in procs:
        stop_berth(procs["berthd"], BERTH_SOCK)
    p = procs.get("dockerd")
    if p and p.poll() is None:
        ids = sh([DOCKER, "ps", "-aq"], env={"DOCKER_HOST": REF_SOCK}, check=False).stdout.split()
        if ids:
            sh([DOCKER, "rm", "-f", *ids], env={"DOCKER_HOST": REF_SOCK}, check=False)
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(30)
        except subprocess.TimeoutExpired:
            p.kill()
    # Containers the reference engine could not remove (it has hung on mass removals):
    # their processes outlive their killed shims, so kill them by their cgroups.
    ref_ids = set()
    for d in (f"{W}/ref/root/containers", f"{W}/lref"):
        if os.path.isdir(d):
            ref_ids.update(os.listdir(d))
    for ctl in os.listdir("/sys/fs/cgroup"):
        for cid in ref_ids:
            procs_file = os.path.join("/sys/fs/cgroup", ctl, "docker", cid, "cgroup.procs")
            try:
                for pid in open(procs_file).read().split():
                    os.kill(int(pid), signal.SIGKILL)
            except (OSError, ValueError):
                pass
    # Shims, containerd and their mounts left under the work dir.
    sh(f"pkill -9 -f '{W}' || true", check=False)
    time.sleep(0.5)
    lp = procs.get("load-dockerd")
    if lp and lp.poll() is None:
        lp.kill()
    mounts = [l.split()[1] for l in open("/proc/mounts") if W in l]
    for m in sorted(mounts, key=len, reverse=True):
        sh(["umount", "-l", m], check=False)
    sh(f"losetup -j {W}/fs.img | cut -d: -f1 | xargs -r -n1 losetup -d", check=False)
    for tool, rules in snap.items():
        subprocess.run([tool + "-restore"], input=rules, text=True)
        # Tables the snapshot did not have (dockerd made them): restoring leaves them, so
        # empty and remove them (with iptables-nft they are nftables tables of their own).
        family = "ip" if tool == "iptables" else "ip6"
        for table in ("filter", "nat", "mangle", "raw"):
            if f"*{table}\n" not in rules:
                sh([tool, "-t", table, "-F"], check=False)
                sh([tool, "-t", table, "-X"], check=False)
                sh(["nft", "delete", "table", family, table], check=False)
    # Both engines leave their default bridge when they stop: remove the ones we made.
    for bridge, had in had_bridges.items():
        if not had:
            sh(["ip", "link", "del", bridge], check=False)
    suffix = os.path.basename(W).split(".")[-1]
    tags = [f"berth-bench-{suffix}", f"berth-bench-bundle-{suffix}"]
    for ctl in os.listdir("/sys/fs/cgroup"):
        docker = [os.path.join("docker", cid) for cid in ref_ids]
        for name in tags + docker + [n for n in ("docker",) if (ctl, n) not in CGROUPS_BEFORE]:
            d = os.path.join("/sys/fs/cgroup", ctl, name)
            if not os.path.isdir(d):
                continue
            for sub, dirs, _ in os.walk(d, topdown=False):
                try:
                    os.rmdir(sub)
                except OSError:
                    pass
    shutil.rmtree(W, ignore_errors=True)


def hyperfine(cmds, runs=RUNS, prepare=None):
    """{name: [seconds...]} over ROUNDS rounds alternating the commands. A command is
    (cmd, env) or (cmd, env, prepare): its own untimed step before each run."""
    out = {n: [] for n in cmds}
    for rnd in range(ROUNDS):
        order = list(cmds.items())
        if rnd % 2:
            order.reverse()
        for name, (cmd, env, *own) in order:
            j = f"{W}/hf.json"
            args = ["hyperfine", "-N", "--warmup", "3" if rnd == 0 else "1", "--runs", str(runs),
                    "--export-json", j, "--style", "none"]
            if own or prepare:
                args += ["--prepare", own[0] if own else prepare]
            r = sh(["env", *[f"{k}={v}" for k, v in env.items()], *args, cmd], check=False)
            if r.returncode != 0:
                again = sh(cmd, env=env, check=False)
                raise RuntimeError(f"{name}: {cmd} failed: {again.returncode} {again.stdout} {again.stderr}")
            res = json.load(open(j))["results"][0]
            out[name].extend(res["times"])
    return out


def timed(fn, reps):
    ts = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return ts


def stats(ts):
    ts = sorted(ts)
    med = statistics.median(ts)
    q = statistics.quantiles(ts, n=4) if len(ts) >= 4 else [ts[0], med, ts[-1]]
    return med, q[0], q[2]


def fmt_t(s):
    return f"{s*1000:.1f} ms" if s < 1 else f"{s:.2f} s"


def pss_kb(pids):
    total = 0
    for pid in pids:
        try:
            for line in open(f"/proc/{pid}/smaps_rollup"):
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


def pids_matching(pattern):
    r = sh(["pgrep", "-f", pattern], check=False)
    return [int(p) for p in r.stdout.split()]


def make_many_images(path, n):
    """A docker-save archive of `n` distinct images (busybox's config with a label and
    creation time of its own, tagged bench/many:I), all sharing busybox's one layer."""
    import hashlib
    import io
    import tarfile
    with tarfile.open(f"{IMAGES}/busybox.tar") as src:
        manifest = json.load(src.extractfile("manifest.json"))[0]
        config = json.load(src.extractfile(manifest["Config"]))
        layer_name = manifest["Layers"][0]
        layer = src.extractfile(layer_name).read()

    def add(tar, name, data):
        info = tarfile.TarInfo(name)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))

    entries = []
    with tarfile.open(path, "w") as out:
        add(out, "layer/layer.tar", layer)
        for i in range(n):
            c = json.loads(json.dumps(config))
            c.setdefault("config", {})
            c["config"]["Labels"] = {"bench.index": str(i)}
            c["created"] = f"2024-01-01T00:{i // 60:02d}:{i % 60:02d}Z"
            data = json.dumps(c, separators=(",", ":")).encode()
            name = hashlib.sha256(data).hexdigest() + ".json"
            add(out, name, data)
            entries.append({"Config": name, "RepoTags": [f"bench/many:{i}"],
                            "Layers": ["layer/layer.tar"]})
        add(out, "manifest.json", json.dumps(entries).encode())
    return path

def shim_call(bundle, req):
    """One request on a Berth shim's socket; the answer line as a dict."""
    import socket
    c = socket.socket(socket.AF_UNIX)
    c.connect(os.path.join(bundle, "shim.sock"))
    c.sendall((json.dumps(req) + "\n").encode())
    buf = b""
    while not buf.endswith(b"\n"):
        chunk = c.recv(4096)
        if not chunk:
            break
        buf += chunk
    c.close()
    return json.loads(buf)


def bundle_bench(bb, reps):
    """Create-to-exit of a busybox bundle running `true`: Berth's runtime (berth-shim
    BUNDLE, then start and wait on its socket; the shim cleans up before it answers) vs
    `runc run` (create, start, wait, delete) on the same config.json. Bundles are
    prepared outside the timed part. Berth's root is its overlay (mounted per run); runc
    gets a plain copy of the layer as rootfs."""
    berth = f"{REL}/berth"
    cid = sh([berth, "create", "busybox", "true"], env=bb).stdout.strip()
    sh([berth, "start", "-a", cid], env=bb)
    src = f"{W}/berth/run/{cid}"
    config = json.load(open(f"{src}/config.json"))
    spec = json.load(open(f"{src}/berth.json"))
    tag = "berth-bench-bundle-" + os.path.basename(W).split(".")[-1]
    rootfs = f"{W}/bundles/rootfs"
    os.makedirs(f"{W}/bundles", exist_ok=True)
    sh(["cp", "-a", spec["layers"][-1], rootfs])
    times = {"runc": [], "berth-runtime": []}

    def prepare(i, kind):
        d = f"{W}/bundles/{kind}{i}"
        os.makedirs(d)
        c = json.loads(json.dumps(config))
        c["linux"]["cgroupsPath"] = f"/{tag}/{kind}{i}"
        c["process"]["terminal"] = False
        if kind == "runc":
            c["root"]["path"] = rootfs
        else:
            b = dict(spec)
            b["id"] = f"{i:064x}"
            b["cgroup_path"] = c["linux"]["cgroupsPath"]
            for k in ("upper_dir", "work_dir"):
                b[k] = f"{d}/{k}"
                os.makedirs(b[k])
            b["log_path"] = f"{d}/log.json"
            json.dump(b, open(f"{d}/berth.json", "w"))
        json.dump(c, open(f"{d}/config.json", "w"))
        return d

    runc_root = f"{W}/bundles/runc-state"
    for i in range(reps):
        for kind in (["runc", "berth-runtime"] if i % 2 == 0 else ["berth-runtime", "runc"]):
            d = prepare(i, kind)
            t = time.perf_counter()
            if kind == "runc":
                sh(["runc", "--root", runc_root, "run", "--bundle", d, f"bench{i}"])
            else:
                sh([f"{REL}/berth-shim", d])
                r = shim_call(d, {"op": "start"})
                assert r.get("kind") == "started", r
                r = shim_call(d, {"op": "wait"})
                assert r.get("kind") == "exited", r
            times[kind].append(time.perf_counter() - t)
    # Its hostname, hosts and resolv.conf were the bundles' bind sources.
    sh([berth, "rm", cid], env=bb)
    return times


def main():
    snap = iptables_snapshot()
    had_bridges = {b: os.path.exists(f"/sys/class/net/{b}") for b in ("docker0", "berth0")}
    results = []  # rows
    scaling = {}
    try:
        start_ref()
        procs["berthd"] = start_berth()
        ref = {"DOCKER_HOST": REF_SOCK}
        bdk = {"DOCKER_HOST": BERTH_SOCK}
        bb = {"BERTH_HOST": BERTH_SOCK}
        berth = f"{REL}/berth"
        for env in (ref, bdk):
            sh([DOCKER, "load", "-i", f"{IMAGES}/busybox.tar"], env=env)

        def row(name, res, target):
            r = {"scenario": name, "target": target}
            for k, v in res.items():
                r[k] = stats(v)
            results.append(r)
            print(name, {k: fmt_t(v[0]) for k, v in r.items() if isinstance(v, tuple)}, flush=True)

        # The docker CLI's own cost: start, parse, exit, no daemon contact.
        cli_floor = statistics.median(hyperfine({"cli": (f"{DOCKER} --version", {})})["cli"])
        print("docker --version", fmt_t(cli_floor), flush=True)

        # Memory, idle.
        idle_berth = pss_kb([procs["berthd"].pid])
        ref_pids = lambda: pids_matching(f"{W}/ref") + pids_matching("containerd-shim-runc-v2")
        idle_ref = pss_kb(ref_pids())

        row("`run --rm busybox true` (default network)", hyperfine({
            "dockerd": (f"{DOCKER} run --rm busybox true", ref),
            "berth-docker": (f"{DOCKER} run --rm busybox true", bdk),
            "berth": (f"{berth} run --rm busybox true", bb),
        }), ">= 8x faster via docker CLI; < 25 ms via `berth`")
        row("`run --rm --network none busybox true`", hyperfine({
            "dockerd": (f"{DOCKER} run --rm --network none busybox true", ref),
            "berth-docker": (f"{DOCKER} run --rm --network none busybox true", bdk),
            "berth": (f"{berth} run --rm --network none busybox true", bb),
        }), "< 20 ms via `berth`")
        # Networks: 50 containers started on one user network; throughput through a
        # published port (a 256 MB download from busybox httpd) on 127.0.0.1 and on the
        # host's address (dockerd: docker-proxy for 127.0.0.1, DNAT from outside).
        for env in (ref, bdk):
            sh([DOCKER, "network", "create", "benchnet"], env=env)
        net50 = {"dockerd": [], "berth-docker": [], "berth": []}
        for _ in range(1 if QUICK else 2):
            for name, cli, env in (("dockerd", DOCKER, ref), ("berth-docker", DOCKER, bdk), ("berth", berth, bb)):
                ids = []
                net50[name].extend(timed(lambda: ids.extend(
                    sh([cli, "run", "-d", "--network", "benchnet", "busybox", "sleep", "1000"],
                       env=env).stdout.strip() for _ in range(50)), 1))
                sh([cli, "rm", "-f", *ids], env=env)
        row("50 x `run -d --network benchnet busybox sleep 1000` (one user network)", net50, "")
        ports = {"dockerd": 18080, "berth": 18081}
        for name, env in (("dockerd", ref), ("berth", bdk)):
            sh([DOCKER, "run", "-d", "--name", "benchweb", "-p", f"{ports[name]}:80", "busybox", "sh", "-c",
                "mkdir /www && dd if=/dev/zero of=/www/big bs=1M count=256 2>/dev/null && "
                "exec httpd -f -p 80 -h /www"], env=env)
        host_ip = next(l.split()[3].split("/")[0] for l in sh(
            ["ip", "-4", "-o", "addr", "show", "scope", "global"]).stdout.splitlines()
            if not l.split()[1].startswith(("docker", "berth", "br-", "veth")))
        time.sleep(2)
        for where, addr in (("127.0.0.1", "127.0.0.1"), ("the host's address", host_ip)):
            curl = lambda port: f"curl -sf -o /dev/null http://{addr}:{port}/big"
            res = hyperfine({
                "dockerd": (curl(ports["dockerd"]), {}),
                "berth": (curl(ports["berth"]), {}),
            }, runs=3)
            row(f"download of 256 MB through a published port on {where} (`curl`)", res,
                "at least dockerd's throughput")
        for env in (ref, bdk):
            sh([DOCKER, "rm", "-f", "benchweb"], env=env)
            sh([DOCKER, "network", "rm", "benchnet"], env=env)

        for env in (ref, bdk):
            sh([DOCKER, "run", "-d", "--name", "benchc", "busybox", "sleep", "100000"], env=env)
        row("`exec c true`", hyperfine({
            "dockerd": (f"{DOCKER} exec benchc true", ref),
            "berth-docker": (f"{DOCKER} exec benchc true", bdk),
            "berth": (f"{berth} exec benchc true", bb),
        }), "< 10 ms via `berth`")
        for env in (ref, bdk):
            sh([DOCKER, "rm", "-f", "benchc"], env=env)

        # Volumes: an image with 1,000 small files in /data (busybox plus a commit). First
        # use: a new named volume at each run (a counter bumped in the untimed prepare step
        # names it), filled from the image; then plain reuse of the filled volume. Volumes
        # are removed only after the series: this machine's ext4 runs without a journal,
        # where a volume's 1,000 files deleted between runs make the next 1,000 creations
        # skip the recently freed inodes, several times slower for every engine (see the
        # caveats).
        for env in (ref, bdk):
            sh([DOCKER, "run", "--name", "benchvolsrc", "busybox", "sh", "-c",
                "mkdir /data && for i in $(seq 1000); do echo $i > /data/f$i; done"], env=env)
            sh([DOCKER, "commit", "benchvolsrc", "benchvol:1"], env=env)
            sh([DOCKER, "rm", "benchvolsrc"], env=env)
        vrun = "run --rm -v benchv:/data benchvol:1 true"

        def first_use(name, cli, env):
            ctr = f"{W}/vol-{name}"
            open(ctr, "w").write("0")
            bump = f"sh -c 'echo $(( $(cat {ctr}) + 1 )) > {ctr}'"
            run = f"sh -c '{cli} run --rm -v bv{name}$(cat {ctr}):/data benchvol:1 true'"
            return (run, env, bump)
        row("`run --rm -v vol:/data IMG true`, first use (copy-up of 1,000 small files)", hyperfine({
            "dockerd": first_use("dockerd", DOCKER, ref),
            "berth-docker": first_use("berth-docker", DOCKER, bdk),
            "berth": first_use("berth", berth, bb),
        }), ">= 5x faster")
        for env in (ref, bdk):
            names = sh([DOCKER, "volume", "ls", "-q", "--filter", "name=bv"], env=env).stdout.split()
            if names:
                sh([DOCKER, "volume", "rm", *names], env=env)
        row("`run --rm -v vol:/data IMG true`, reuse of the filled volume", hyperfine({
            "dockerd": (f"{DOCKER} {vrun}", ref),
            "berth-docker": (f"{DOCKER} {vrun}", bdk),
            "berth": (f"{berth} {vrun}", bb),
        }), ">= 5x faster")
        for env in (ref, bdk):
            sh([DOCKER, "volume", "rm", "-f", "benchv"], env=env)
            sh([DOCKER, "rmi", "benchvol:1"], env=env)

        # The runtime alone: a bundle from create to exit, Berth's vs runc.
        runtime_rows = []
        if shutil.which("runc"):
            t = bundle_bench(bb, 10 if QUICK else 30)
            runtime_rows.append(("create, run `true` and delete a busybox bundle",
                                 stats(t["runc"]), stats(t["berth-runtime"])))
            print("bundle", {k: fmt_t(stats(v)[0]) for k, v in t.items()}, flush=True)
            t = hyperfine({
                "runc": (f"{berth} run --rm --network none --runtime runc busybox true", bb),
                "berth-runtime": (f"{berth} run --rm --network none busybox true", bb),
            })
            runtime_rows.append(("`berth run --rm --network none [--runtime runc] busybox true`",
                                 stats(t["runc"]), stats(t["berth-runtime"])))

        # 50 x run -d, then rm -f all.
        def fifty(cli, env):
            def run():
                ids = []
                for _ in range(50):
                    ids.append(sh([cli, "run", "-d", "busybox", "sleep", "1000"], env=env).stdout.strip())
                return ids
            holder = {}
            t_run = timed(lambda: holder.__setitem__("ids", run()), 1)[0]
            t_rm = timed(lambda: sh([cli, "rm", "-f", *holder["ids"]], env=env), 1)[0]
            return t_run, t_rm
        runs50 = {"dockerd": [], "berth-docker": [], "berth": []}
        rms50 = {"dockerd": [], "berth-docker": [], "berth": []}
        for _ in range(1 if QUICK else 2):
            for name, cli, env in (("dockerd", DOCKER, ref), ("berth-docker", DOCKER, bdk), ("berth", berth, bb)):
                a, b = fifty(cli, env)
                runs50[name].append(a)
                rms50[name].append(b)
        row("50 x `run -d busybox sleep 1000`", runs50, ">= 8x faster")
        row("`rm -f` of those 50", rms50, ">= 8x faster")

        # Memory with 50 running.
        for name, cli, env in (("dockerd", DOCKER, ref), ("berth", berth, bb)):
            for _ in range(50):
                sh([cli, "run", "-d", "busybox", "sleep", "1000"], env=env)
        time.sleep(1)
        shims = pids_matching(f"berth-shim {W}")
        busy_berth = pss_kb([procs["berthd"].pid] + shims)
        busy_ref = pss_kb(ref_pids())
        berthd_busy = pss_kb([procs["berthd"].pid])
        mem = {
            "idle_berth": idle_berth, "idle_ref": idle_ref,
            "busy_berth": busy_berth, "busy_ref": busy_ref,
            "berthd_busy": berthd_busy, "shims": len(shims), "cli_floor": cli_floor,
        }
        print("memory", mem, flush=True)
        for cli, env in ((DOCKER, ref), (berth, bb)):
            ids = sh([cli, "ps", "-aq"], env=env).stdout.split()
            if ids:
                sh([cli, "rm", "-f", *ids], env=env)

        # Scaling: run latency and ps -a with N containers running. One engine at a time,
        # the other with none: 500 containers of one engine (dockerd's 500 containerd shims
        # above all) load the machine and would slow the other engine's runs too.
        scaling = {n: {} for n in SCALE}
        for name, cli, env in (("dockerd", DOCKER, ref), ("berth", berth, bb)):
            for n in SCALE:
                have = len(sh([cli, "ps", "-q"], env=env).stdout.split())
                for _ in range(n - have):
                    sh([cli, "run", "-d", "busybox", "sleep", "100000"], env=env)
                res = hyperfine({
                    f"{name}-run": (f"{cli} run --rm --network none busybox true", env),
                    f"{name}-ps": (f"{cli} ps -a", env),
                }, runs=5)
                scaling[n].update({k: stats(v)[0] for k, v in res.items()})
                print("scale", name, n, scaling[n], flush=True)
            ids = sh([cli, "ps", "-aq"], env=env).stdout.split()
            # In batches: dockerd 20.10 once hung for good on `rm -f` of 500 at once.
            for i in range(0, len(ids), 50):
                sh(["timeout", "300", cli, "rm", "-f", *ids[i:i + 50]], env=env, check=False)
        # dockerd 20.10 was once left unable to create containers after removing hundreds
        # (empty error messages): restart it on the same data root before going on.
        restart_ref()

        # load of debian-bookworm.tar.gz: each engine into its own new filesystem each time.
        deb = f"{IMAGES}/debian-bookworm.tar.gz"
        loads = {"dockerd": [], "berth-docker": [], "berth": []}
        for i in range(2 if QUICK else 3):
            order = ["dockerd", "berth-docker", "berth"]
            if i % 2:
                order.reverse()
            for name in order:
                loads[name].extend(load_on_fresh_fs(name, deb))
        # The load dockerd (`--bridge none`) took docker0 away: the reference makes it again.
        restart_ref()
        row("`load` of `debian-bookworm.tar.gz`", loads, ">= 2x faster")

        # save of debian-bookworm (loaded in both) to a file.
        sh([berth, "load", "-i", deb], env=bb)
        sh([DOCKER, "load", "-i", deb], env=ref)
        row("`save -o FILE debian:bookworm`", hyperfine({
            "dockerd": (f"{DOCKER} save -o {W}/save-ref.tar debian:bookworm", ref),
            "berth-docker": (f"{DOCKER} save -o {W}/save-bd.tar debian:bookworm", bdk),
            "berth": (f"{berth} save -o {W}/save-b.tar debian:bookworm", bb),
        }, runs=3), ">= 2x faster")

        # images with 200 images (200 configs sharing busybox's layer).
        many = make_many_images(f"{W}/many.tar", 200)
        for env in (ref, bdk):
            sh([DOCKER, "load", "-i", many], env=env)
        row("`images` with 200 images", hyperfine({
            "dockerd": (f"{DOCKER} images", ref),
            "berth-docker": (f"{DOCKER} images", bdk),
            "berth": (f"{berth} images", bb),
        }), ">= 2x faster")

        # commit of a container with 100 MB of changes (100 files of 1 MB, random data).
        commits = {"dockerd": [], "berth-docker": [], "berth": []}
        for env in (ref, bdk):
            sh([DOCKER, "run", "--name", "benchcommit", "busybox", "sh", "-c",
                "mkdir /data && for i in $(seq 100); do "
                "dd if=/dev/urandom of=/data/f$i bs=1M count=1 2>/dev/null; done"], env=env)
        for rnd in range(2 if QUICK else 3):
            order = [("dockerd", DOCKER, ref), ("berth-docker", DOCKER, bdk), ("berth", berth, bb)]
            if rnd % 2:
                order.reverse()
            for name, cli, env in order:
                tag = f"benchcommit:{name}{rnd}"
                commits[name].extend(timed(lambda: sh([cli, "commit", "benchcommit", tag], env=env), 1))
        for env in (ref, bdk):
            sh([DOCKER, "rm", "-f", "benchcommit"], env=env)
        row("`commit` of a container with 100 MB of changes", commits, ">= 2x faster")
    finally:
        cleanup(snap, had_bridges)
    write_report(results, mem, scaling, runtime_rows)


def write_report(results, mem, scaling, runtime_rows=()):
    commit = sh(["git", "-C", REPO, "rev-parse", "--short", "HEAD"], check=False).stdout.strip()
    dirty = sh(["git", "-C", REPO, "status", "--porcelain"], check=False).stdout.strip()
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    memtotal = next((int(l.split()[1]) // 1024 for l in open("/proc/meminfo") if l.startswith("MemTotal")), 0)
    ref_ver = sh(["dockerd", "--version"], check=False).stdout.strip()
    lines = []
    lines.append("# Benchmarks: Berth vs dockerd\n")
    lines.append("Generated by `bench/run.sh` (add `--quick` for a shorter pass). Do not edit by hand: rerun it.\n")
    lines.append("It installs docker.io (dockerd 20.10, containerd, runc), hyperfine and gnuplot if missing, builds release binaries, starts dockerd and berthd on private sockets and data roots, loads the same images from `../shared/images` into both, runs every scenario with the engines interleaved (hyperfine rounds alternate engine order), and cleans both up, also on failure. Times are medians with the interquartile range; ratio = dockerd median / Berth median (higher is better for Berth). Memory is proportional set size (PSS) from `/proc/PID/smaps_rollup`.\n")
    lines.append(f"- Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    lines.append(f"- Commit: {commit}{' (with uncommitted changes)' if dirty else ''}")
    lines.append(f"- Machine: {cpu}, {os.cpu_count()} CPUs, {memtotal} MB RAM, kernel {platform.release()}")
    lines.append(f"- Reference: {ref_ver}; docker CLI {sh([DOCKER, '--version'], check=False).stdout.strip()}")
    lines.append(f"- Mode: {'quick' if QUICK else 'full'} ({ROUNDS} rounds x {RUNS} runs per command)\n")
    lines.append("| scenario | dockerd 20.10 (docker CLI) | Berth (docker CLI) | Berth (`berth`) | ratio docker CLI | ratio `berth` | target |")
    lines.append("|---|---|---|---|---|---|---|")
    for r in results:
        def cell(k):
            if k not in r:
                return "n/a"
            m, lo, hi = r[k]
            return f"{fmt_t(m)} ({fmt_t(lo)}–{fmt_t(hi)})"
        ref = r["dockerd"][0]
        ratio = lambda k: f"{ref / r[k][0]:.1f}x" if k in r else "n/a"
        lines.append(f"| {r['scenario']} | {cell('dockerd')} | {cell('berth-docker')} | {cell('berth')} | {ratio('berth-docker')} | {ratio('berth')} | {r['target']} |")
    per = (mem["busy_berth"] - mem["idle_berth"]) / 50
    per_ref = (mem["busy_ref"] - mem["idle_ref"]) / 50
    lines.append("")
    lines.append("| memory (PSS) | dockerd + containerd (+ shims) | berthd (+ shims) | target |")
    lines.append("|---|---|---|---|")
    lines.append(f"| idle | {mem['idle_ref']/1024:.1f} MB | {mem['idle_berth']/1024:.1f} MB | berthd < 15 MB |")
    lines.append(f"| with 50 running containers | {mem['busy_ref']/1024:.1f} MB | {mem['busy_berth']/1024:.1f} MB (berthd {mem['berthd_busy']/1024:.1f} MB, {mem['shims']} shims) | |")
    lines.append(f"| per container | {per_ref/1024:.2f} MB | {per/1024:.2f} MB | < 1 MB |")
    lines.append("")
    if runtime_rows:
        lines.append("## The runtime: Berth's vs runc\n")
        lines.append("Berth's own runtime (the shim creates the container) against runc, the OCI runtime dockerd uses, on the same `config.json`. First row: the bundle alone, no daemon (`berth-shim BUNDLE`, then start and wait on its socket, against `runc run`). Second row: through berthd, `--runtime runc` (the shim drives runc's CLI) against the default.\n")
        lines.append("| scenario | runc | Berth's runtime | ratio |")
        lines.append("|---|---|---|---|")
        for name, rc, br in runtime_rows:
            lines.append(f"| {name} | {fmt_t(rc[0])} ({fmt_t(rc[1])}–{fmt_t(rc[2])}) | {fmt_t(br[0])} ({fmt_t(br[1])}–{fmt_t(br[2])}) | {rc[0] / br[0]:.1f}x |")
        lines.append("")
    lines.append("## Cost against the number of running containers\n")
    lines.append("Each engine is measured with its own N containers running and none of the other's (dockerd first, then Berth), so one engine's idle containers do not load the machine for the other.\n")
    lines.append("| running | dockerd `run --rm --network none busybox true` | Berth (`berth`) | dockerd `ps -a` | Berth `ps -a` |")
    lines.append("|---|---|---|---|---|")
    for n, v in sorted(scaling.items()):
        lines.append(f"| {n} | {fmt_t(v['dockerd-run'])} | {fmt_t(v['berth-run'])} | {fmt_t(v['dockerd-ps'])} | {fmt_t(v['berth-ps'])} |")
    lines.append("\n![run and ps -a latency against running containers](bench/scaling.png)\n")
    lines.append("## Caveats\n")
    lines.append("- Default network: both engines put the container on their default bridge with NAT (dockerd's `docker0` with iptables, Berth's `berth0` with its nftables table); the difference between the default-network and `--network none` rows is each engine's bridge cost. Published ports: dockerd 20.10 runs its userland `docker-proxy` for each port (it carries 127.0.0.1 traffic), Berth DNATs in the kernel (127.0.0.1 through `route_localnet`), so a download through a port is a copy through a proxy process against none.")
    lines.append("- Volume first use: each run mounts a new named volume (named by a counter bumped in hyperfine's untimed prepare step; the command is `sh -c` around the CLI for both engines), and the volumes are removed after the series. Removing and recreating one volume between runs measures something else on this machine: ext4 without a journal skips inodes freed in the last minute when it allocates, so each run's 1,000 creations after the previous run's 1,000 deletions take ~0.4 ms each for every engine (measured with `perf`: `recently_deleted` in `__ext4_new_inode`), which swamps what the engines do.")
    lines.append("- `load`: each engine (dockerd 20.10 started for the purpose, or berthd) has its data root on a new ext4 filesystem (no journal, like this machine's root; a loop device over a file on the same disk) for every run, daemon start and stop not timed. On the machine's own root right after a large delete, ext4 without a journal skips recently freed inodes and every engine's load is several times slower and noisy. Berth syncs the store (`syncfs`) before it records a loaded image; dockerd does not.")
    if "cli_floor" in mem:
        lines.append(f"- The docker CLI alone takes {fmt_t(mem['cli_floor'])} to start and exit (`docker --version`, no daemon contact), on top of which each of its commands makes one to five API calls: a ratio through the docker CLI is bounded by dockerd's time divided by that (for `exec c true`, 8x would need the whole command under {fmt_t(next((r['dockerd'][0] for r in results if r['scenario'] == '`exec c true`'), 0) / 8)}).")
    lines.append("- One machine, one run; see the spread columns before reading much into small ratios.")
    open(os.path.join(REPO, "BENCHMARKS.md"), "w").write("\n".join(lines) + "\n")
    plot(scaling)


def plot(scaling):
    data = os.path.join(REPO, "bench", "scaling.dat")
    with open(data, "w") as f:
        for n, v in sorted(scaling.items()):
            f.write(f"{n} {v['dockerd-run']*1000} {v['berth-run']*1000} {v['dockerd-ps']*1000} {v['berth-ps']*1000}\n")
    script = f"""
set terminal png size 900,500
set output '{os.path.join(REPO, 'bench', 'scaling.png')}'
set title 'Latency against running containers'
set xlabel 'running containers'
set ylabel 'ms (median)'
set key left top
set logscale y
plot '{data}' using 1:2 with linespoints title 'dockerd run --rm', \\
     '{data}' using 1:3 with linespoints title 'berth run --rm', \\
     '{data}' using 1:4 with linespoints title 'dockerd ps -a', \\
     '{data}' using 1:5 with linespoints title 'berth ps -a'
"""
    subprocess.run(["gnuplot"], input=script, text=True, check=False)
    os.remove(data)


if __name__ == "__main__":
    main()
