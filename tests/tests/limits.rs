//! Resource limits, `--init`, signals and Docker's masked paths, end to end.
#![allow(clippy::unwrap_used)]

use berth_e2e::{Daemon, unique};

fn inspect(d: &Daemon, name: &str, field: &str) -> String {
    let out = d.berth(&["inspect", "-f", field, name]);
    out.ok();
    out.stdout().trim().to_string()
}

/// Poll `f` until it is true (up to ~30 s).
fn eventually(f: impl FnMut() -> bool) -> bool {
    berth_e2e::eventually(30, f)
}

#[test]
fn memory_limit_oom_kills() {
    let Some(d) = Daemon::with_busybox() else {
        return;
    };
    let c = unique("oom");
    // `tail` keeps the newline-free stream in memory until the limit stops it.
    let out = d.berth(&[
        "run",
        "--name",
        &c,
        "--memory",
        "16m",
        "busybox",
        "tail",
        "/dev/zero",
    ]);
    assert_eq!(out.code(), 137, "{}", out.stderr());
    assert_eq!(inspect(&d, &c, "{{.State.OOMKilled}}"), "true");
    assert_eq!(inspect(&d, &c, "{{.State.ExitCode}}"), "137");
    assert_eq!(inspect(&d, &c, "{{.HostConfig.Memory}}"), "16777216");
    d.berth(&["rm", &c]).ok();
}

#[test]
fn pids_limit_stops_a_fork_bomb() {
    let Some(d) = Daemon::with_busybox() else {
        return;
    };
    // Only builtins after the loop: `set -- /proc/[0-9]*` counts processes without forking.
    let script = "for i in $(seq 30); do sleep 3 & done; set -- /proc/[0-9]*; echo $#";
    let out = d.berth(&["run", "--rm", "busybox", "sh", "-c", script]);
    out.ok();
    let n: usize = out.stdout().trim().parse().unwrap();
    assert!(n > 30, "{n} processes without a limit");
    // With a limit, forking fails (and ash gives up).
    let out = d.berth(&[
        "run",
        "--rm",
        "--pids-limit",
        "8",
        "busybox",
        "sh",
        "-c",
        script,
    ]);
    assert_eq!(out.code(), 2, "{}", out.stdout());
    assert!(
        out.stderr()
            .contains("can't fork: Resource temporarily unavailable"),
        "{}",
        out.stderr()
    );
}

#[test]
fn init_reaps_zombies_and_forwards_signals() {
    let Some(d) = Daemon::with_busybox() else {
        return;
    };
    // An orphan reparented to PID 1: `sleep` as PID 1 never reaps it, the init does.
    let script = "sh -c 'sleep 0.2 &'; exec sleep 1000";
    let plain = unique("zombie");
    let init = unique("reaped");
    d.berth(&["run", "-d", "--name", &plain, "busybox", "sh", "-c", script])
        .ok();
    d.berth(&[
        "run", "-d", "--init", "--name", &init, "busybox", "sh", "-c", script,
    ])
    .ok();
    let zombies = |c: &str| {
        let out = d.berth(&["exec", c, "ps", "-o", "stat"]);
        out.ok();
        out.stdout().lines().filter(|l| l.starts_with('Z')).count()
    };
    assert!(
        eventually(|| zombies(&plain) == 1),
        "no zombie without --init"
    );
    // The init reaps what is handed to it: the orphan ends (no `sleep 0.2` left) and
    // leaves no zombie behind.
    assert!(
        eventually(|| {
            let out = d.berth(&["exec", &init, "ps", "-o", "stat,args"]);
            out.ok();
            let text = out.stdout();
            !text
                .lines()
                .any(|l| l.ends_with(" sleep 0.2") || l.starts_with('Z'))
        }),
        "zombies with --init"
    );
    // PID 1 is the workload without --init.
    let out = d.berth(&["exec", &plain, "cat", "/proc/1/cmdline"]);
    assert_eq!(out.stdout(), "sleep\u{0}1000\u{0}");

    // SIGTERM reaches `sleep` through the init (exit 143); as PID 1 without handler it is
    // ignored, and stop has to kill (137).
    d.berth(&["stop", "-t", "20", &init]).ok();
    assert_eq!(inspect(&d, &init, "{{.State.ExitCode}}"), "143");
    d.berth(&["stop", "-t", "1", &plain]).ok();
    assert_eq!(inspect(&d, &plain, "{{.State.ExitCode}}"), "137");
    d.berth(&["rm", &init, &plain]).ok();
}

#[test]
fn signals_reach_the_workload() {
    let Some(d) = Daemon::with_busybox() else {
        return;
    };
    let c = unique("trap");
    d.berth(&[
        "run",
        "-d",
        "--name",
        &c,
        "busybox",
        "sh",
        "-c",
        "trap 'echo got USR1' USR1; echo ready; while true; do sleep 0.1; done",
    ])
    .ok();
    assert!(eventually(|| d
        .berth(&["logs", &c])
        .stdout()
        .contains("ready")));
    d.berth(&["kill", "-s", "USR1", &c]).ok();
    assert!(eventually(|| d
        .berth(&["logs", &c])
        .stdout()
        .contains("got USR1")));
    d.berth(&["rm", "-f", &c]).ok();
}

#[test]
fn masked_and_read_only_paths() {
    let Some(d) = Daemon::with_busybox() else {
        return;
    };
    let out = d.berth(&[
        "run",
        "--rm",
        "busybox",
        "sh",
        "-c",
        "cat /proc/keys | wc -c; cat /proc/timer_list | wc -c; ls /sys/firmware | wc -l; \
         echo 1 > /proc/sys/kernel/domainname 2>/dev/null && echo writable || echo ro",
    ]);
    out.ok();
    assert_eq!(out.stdout(), "0\n0\n0\nro\n");
    // --privileged lifts them.
    let out = d.berth(&[
        "run",
        "--rm",
        "--privileged",
        "busybox",
        "sh",
        "-c",
        "cat /proc/timer_list | wc -c",
    ]);
    out.ok();
    assert_ne!(out.stdout().trim(), "0");
}

#[test]
fn run_flags_reach_the_kernel() {
    let Some(d) = Daemon::with_busybox() else {
        return;
    };
    // cgroup files as the container sees them (its cgroup namespace makes them "/").
    let out = d.berth(&[
        "run",
        "--rm",
        "--cpus",
        "0.5",
        "--cpu-shares",
        "512",
        "--cpuset-cpus",
        "0",
        "--memory",
        "64m",
        "--memory-reservation",
        "32m",
        "--ulimit",
        "nproc=50:60",
        "--ulimit",
        "nofile=1000:2000",
        "--shm-size",
        "8m",
        "--sysctl",
        "kernel.shmmax=123456789",
        "--group-add",
        "www-data",
        "--group-add",
        "4242",
        "busybox",
        "sh",
        "-c",
        "ulimit -u; ulimit -n; ulimit -Hn; df -k /dev/shm | tail -1 | awk '{print $2}'; \
         cat /proc/sys/kernel/shmmax; id -G",
    ]);
    out.ok();
    assert_eq!(out.stdout(), "50\n1000\n2000\n8192\n123456789\n0 33 4242\n");

    let c = unique("cg");
    d.berth(&[
        "run",
        "-d",
        "--name",
        &c,
        "--cpus",
        "0.5",
        "--cpu-shares",
        "512",
        "--cpuset-cpus",
        "0",
        "--memory",
        "64m",
        "--memory-reservation",
        "32m",
        "busybox",
        "sleep",
        "1000",
    ])
    .ok();
    let pid = inspect(&d, &c, "{{.State.Pid}}");
    let cgroups = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    let path_of = |ctl: &str| {
        cgroups
            .lines()
            .find_map(|l| {
                let mut f = l.splitn(3, ':');
                let (_, ctls, path) = (f.next()?, f.next()?, f.next()?);
                ctls.split(',').any(|x| x == ctl).then(|| path.to_string())
            })
            .unwrap()
    };
    let v2 = !std::path::Path::new("/sys/fs/cgroup/memory").exists();
    let read = |ctl: &str, file: &str| {
        let p = if v2 {
            format!("/sys/fs/cgroup{}/{file}", path_of(""))
        } else {
            format!("/sys/fs/cgroup/{ctl}{}/{file}", path_of(ctl))
        };
        std::fs::read_to_string(&p).unwrap().trim().to_string()
    };
    if v2 {
        assert_eq!(read("", "cpu.max"), "50000 100000");
        assert_eq!(read("", "memory.max"), "67108864");
        assert_eq!(read("", "memory.low"), "33554432");
        assert_eq!(read("", "cpuset.cpus"), "0");
    } else {
        assert_eq!(read("cpu", "cpu.cfs_quota_us"), "50000");
        assert_eq!(read("cpu", "cpu.cfs_period_us"), "100000");
        assert_eq!(read("cpu", "cpu.shares"), "512");
        assert_eq!(read("memory", "memory.limit_in_bytes"), "67108864");
        assert_eq!(read("memory", "memory.soft_limit_in_bytes"), "33554432");
        assert_eq!(read("cpuset", "cpuset.cpus"), "0");
    }
    d.berth(&["rm", "-f", &c]).ok();

    // --read-only: the root is read-only, /dev/shm is not.
    let out = d.berth(&[
        "run",
        "--rm",
        "--read-only",
        "busybox",
        "sh",
        "-c",
        "touch /x 2>/dev/null && echo rw || echo ro; touch /dev/shm/x && echo shm-rw",
    ]);
    out.ok();
    assert_eq!(out.stdout(), "ro\nshm-rw\n");

    // Bad values are refused before anything runs.
    for (args, msg) in [
        (
            vec!["--ulimit", "nofile=100:30000"],
            "above the host's hard limit",
        ),
        (vec!["--sysctl", "kernel.hostname=x"], "not allowed"),
        (vec!["--cpus", "64"], "Range of CPUs"),
        (vec!["--ulimit", "bogus=1"], "invalid ulimit type"),
    ] {
        let mut a = vec!["run", "--rm"];
        a.extend(args);
        a.extend(["busybox", "true"]);
        let out = d.berth(&a);
        assert_eq!(out.code(), 125, "{a:?}");
        assert!(out.stderr().contains(msg), "{a:?}: {}", out.stderr());
    }
}
