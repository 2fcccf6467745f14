use super::*;

#[test]
fn detects_v1_and_hybrid() {
    let info = "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n\
        32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct\n\
        34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset\n\
        40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd\n\
        41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
    let Layout::V1 { hierarchies } = parse_mountinfo(info) else {
        panic!("expected v1");
    };
    assert_eq!(hierarchies.len(), 3);
    assert_eq!(hierarchies[0].options, "cpu,cpuacct");
    assert!(hierarchies[0].has("cpuacct"));
    assert_eq!(hierarchies[2].options, "xattr,name=systemd");
    assert_eq!(
        hierarchies[1].mountpoint,
        Path::new("/sys/fs/cgroup/cpuset")
    );
}

/// v2's freeze returns once `cgroup.events` says the state was reached (here a plain
/// directory stands in for the cgroup, its events file already showing the state).
#[test]
fn v2_freeze_waits_for_cgroup_events() {
    let dir = tempfile::tempdir().unwrap();
    let cg = V2::open(Arc::new(RealHost), dir.path(), "/");
    std::fs::write(dir.path().join("cgroup.events"), "populated 1\nfrozen 1\n").unwrap();
    cg.freeze(true).unwrap();
    assert_eq!(
        std::fs::read_to_string(dir.path().join("cgroup.freeze")).unwrap(),
        "1"
    );
    // Never reported thawed: an error, not a silent success.
    assert!(cg.freeze(false).is_err());
}

#[test]
fn detects_pure_v2() {
    let info = "30 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n";
    assert_eq!(
        parse_mountinfo(info),
        Layout::V2 {
            mountpoint: PathBuf::from("/sys/fs/cgroup")
        }
    );
}

#[test]
fn oom_count() {
    assert_eq!(
        oom_kill_count("oom_kill_disable 0\nunder_oom 0\noom_kill 2\n"),
        2
    );
    assert_eq!(
        oom_kill_count("low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n"),
        1
    );
    assert_eq!(oom_kill_count("oom_kill_disable 0\n"), 0);
}

#[test]
fn v1_dirs_copy_cpuset() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("cpuset.cpus"), "0-1\n").unwrap();
    std::fs::write(d.path().join("cpuset.mems"), "0\n").unwrap();
    let leaf = d.path().join("berth/abc");
    v1::create_dir(&RealHost, d.path(), &leaf, true).unwrap();
    assert_eq!(
        std::fs::read_to_string(leaf.join("cpuset.cpus")).unwrap(),
        "0-1"
    );
    assert_eq!(
        std::fs::read_to_string(d.path().join("berth/cpuset.mems")).unwrap(),
        "0"
    );
}

#[test]
fn v1_cpuset_filled_when_another_start_made_the_parent() {
    // Another start created berth/ and has not filled it yet.
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("cpuset.cpus"), "0-1\n").unwrap();
    std::fs::write(d.path().join("cpuset.mems"), "0\n").unwrap();
    std::fs::create_dir(d.path().join("berth")).unwrap();
    std::fs::write(d.path().join("berth/cpuset.cpus"), "\n").unwrap();
    std::fs::write(d.path().join("berth/cpuset.mems"), "").unwrap();
    v1::create_dir(&RealHost, d.path(), &d.path().join("berth/abc"), true).unwrap();
    for dir in ["berth", "berth/abc"] {
        let p = d.path().join(dir);
        assert_eq!(
            std::fs::read_to_string(p.join("cpuset.cpus")).unwrap(),
            "0-1"
        );
        assert_eq!(std::fs::read_to_string(p.join("cpuset.mems")).unwrap(), "0");
    }
}

use fake::FakeHost;

fn v1_layout() -> Layout {
    let h = |m: &str, o: &str| Hierarchy {
        mountpoint: PathBuf::from(m),
        options: o.into(),
    };
    Layout::V1 {
        hierarchies: vec![
            h("/cg/memory", "memory"),
            h("/cg/cpu,cpuacct", "cpu,cpuacct"),
            h("/cg/cpuset", "cpuset"),
            h("/cg/pids", "pids"),
            h("/cg/blkio", "blkio"),
            h("/cg/freezer", "freezer"),
            h("/cg/devices", "devices"),
        ],
    }
}

/// A v1 host as the kernel lays it out: the hierarchies' roots with their files.
fn v1_host() -> Arc<FakeHost> {
    let host = Arc::new(FakeHost::new());
    host.file("/cg/cpuset/cpuset.cpus", "0-1\n")
        .file("/cg/cpuset/cpuset.mems", "0\n")
        .file("/cg/blkio/blkio.weight", "500\n")
        .dir("/cg/memory")
        .dir("/cg/cpu,cpuacct")
        .dir("/cg/pids")
        .dir("/cg/freezer")
        .dir("/cg/devices");
    // With swap accounting the kernel gives every memory cgroup its memsw file; the
    // fake makes it when the memory limit is written.
    host.on_write(
        "memory.limit_in_bytes",
        "67108864",
        "memory.memsw.limit_in_bytes",
        "9223372036854771712",
    );
    host
}

fn v2_host() -> Arc<FakeHost> {
    let host = Arc::new(FakeHost::new());
    host.file("/cg2/cgroup.controllers", "cpuset cpu io memory pids\n");
    host.file(
        "/cg2/berth/cgroup.controllers",
        "cpuset cpu io memory pids\n",
    );
    host
}

fn limits() -> Limits {
    Limits {
        memory: 64 << 20,
        memory_swap: 128 << 20,
        pids: 50,
        cpu_quota: 150_000,
        cpu_period: 100_000,
        cpu_shares: 512,
        cpus: "1".into(),
        mems: "0".into(),
        blkio_weight: 300,
        devices: vec![(false, "a".into()), (true, "c 1:3 rwm".into())],
        ..Limits::default()
    }
}

#[test]
fn v1_limits_write_docker_values() {
    let host = v1_host();
    let cg = Cgroup::create_on(host.clone(), &v1_layout(), "/berth/c1", &limits()).unwrap();
    let w = |p: &str| host.written(p);
    assert_eq!(w("/cg/memory/berth/c1/memory.limit_in_bytes"), ["67108864"]);
    // memory + swap, as v1 takes it.
    assert_eq!(
        w("/cg/memory/berth/c1/memory.memsw.limit_in_bytes"),
        ["134217728"]
    );
    assert_eq!(w("/cg/pids/berth/c1/pids.max"), ["50"]);
    assert_eq!(w("/cg/cpu,cpuacct/berth/c1/cpu.cfs_quota_us"), ["150000"]);
    assert_eq!(w("/cg/cpu,cpuacct/berth/c1/cpu.cfs_period_us"), ["100000"]);
    assert_eq!(w("/cg/cpu,cpuacct/berth/c1/cpu.shares"), ["512"]);
    // cpuset filled from the parent at each level, then the container's own.
    assert_eq!(w("/cg/cpuset/berth/cpuset.cpus"), ["0-1"]);
    assert_eq!(w("/cg/cpuset/berth/c1/cpuset.cpus"), ["0-1", "1"]);
    assert_eq!(w("/cg/cpuset/berth/c1/cpuset.mems"), ["0", "0"]);
    // No blkio.weight in a new v1 blkio cgroup here: nothing written, no error.
    assert!(w("/cg/blkio/berth/c1/blkio.weight").is_empty());
    // Device rules in order: deny all, then the allow list.
    assert_eq!(w("/cg/devices/berth/c1/devices.deny"), ["a"]);
    assert_eq!(w("/cg/devices/berth/c1/devices.allow"), ["c 1:3 rwm"]);
    assert_eq!(cg.paths().len(), 7);

    // Update: only what is set is written.
    let before = host.writes().len();
    cg.apply(&Limits {
        pids: 10,
        ..Limits::default()
    })
    .unwrap();
    assert_eq!(
        host.writes()[before..],
        [(PathBuf::from("/cg/pids/berth/c1/pids.max"), "10".into())]
    );
}

#[test]
fn v2_limits_write_docker_values() {
    let host = v2_host();
    let layout = Layout::V2 {
        mountpoint: "/cg2".into(),
    };
    let mut l = limits();
    host.file("/cg2/berth/c2/memory.swap.max", "max\n")
        .file("/cg2/berth/c2/io.weight", "default 100\n");
    let cg = Cgroup::create_on(host.clone(), &layout, "/berth/c2", &l).unwrap();
    let w = |f: &str| host.written(Path::new("/cg2/berth/c2").join(f));
    assert_eq!(w("memory.max"), ["67108864"]);
    // v2 limits swap alone: 128m - 64m.
    assert_eq!(w("memory.swap.max"), ["67108864"]);
    assert_eq!(w("pids.max"), ["50"]);
    assert_eq!(w("cpu.max"), ["150000 100000"]);
    assert_eq!(w("cpu.weight"), [shares_to_weight(512).to_string()]);
    assert_eq!(w("cpuset.cpus"), ["1"]);
    assert_eq!(w("cpuset.mems"), ["0"]);
    assert_eq!(w("io.weight"), ["default 300"]);
    // Controllers enabled on the way down.
    assert_eq!(
        host.written("/cg2/cgroup.subtree_control"),
        ["+cpuset +cpu +io +memory +pids"]
    );
    // Unlimited swap; a period alone keeps the quota unlimited.
    l = Limits {
        memory: 64 << 20,
        memory_swap: -1,
        cpu_period: 50_000,
        ..Limits::default()
    };
    cg.apply(&l).unwrap();
    assert_eq!(w("memory.swap.max").last().unwrap(), "max");
    assert_eq!(w("cpu.max").last().unwrap(), "max 50000");
}

#[test]
fn freeze_waits_for_the_kernel() {
    // v1: a cgroup stuck FREEZING counts as frozen; after the retries (with a moment
    // thawed now and then), an error, and it is left thawed.
    let host = v1_host();
    let cg = Cgroup::create_on(host.clone(), &v1_layout(), "/berth/f", &Limits::default()).unwrap();
    host.on_write("freezer.state", "FROZEN", "freezer.state", "FREEZING");
    host.file("/cg/freezer/berth/f/freezer.state", "FREEZING");
    assert!(cg.is_frozen(), "FREEZING counts as frozen");
    cg.freeze(true).unwrap_err();
    assert!(!cg.is_frozen(), "thawed after the failure");
    let written = host.written("/cg/freezer/berth/f/freezer.state");
    assert_eq!(written.iter().filter(|w| *w == "FROZEN").count(), 1000);
    assert_eq!(written.iter().filter(|w| *w == "THAWED").count(), 21);
    assert_eq!(written.last().unwrap(), "THAWED");
    let host = v1_host();
    let cg = Cgroup::create_on(host.clone(), &v1_layout(), "/berth/f", &Limits::default()).unwrap();
    cg.freeze(true).unwrap();
    assert!(cg.is_frozen());
    cg.freeze(false).unwrap();
    assert_eq!(
        host.written("/cg/freezer/berth/f/freezer.state"),
        ["FROZEN", "THAWED"]
    );
    // v2: returns once cgroup.events says frozen, fails if it never does.
    let host = v2_host();
    let layout = Layout::V2 {
        mountpoint: "/cg2".into(),
    };
    let cg = Cgroup::create_on(host.clone(), &layout, "/berth/f", &Limits::default()).unwrap();
    host.on_write(
        "cgroup.freeze",
        "1",
        "cgroup.events",
        "populated 1\nfrozen 1\n",
    );
    cg.freeze(true).unwrap();
    assert!(cg.is_frozen());
    assert!(cg.freeze(false).is_err(), "never reported thawed");
    // A freeze never reported: thawed again.
    let host = v2_host();
    let cg = Cgroup::create_on(host.clone(), &layout, "/berth/g", &Limits::default()).unwrap();
    assert!(cg.freeze(true).is_err());
    assert_eq!(host.written("/cg2/berth/g/cgroup.freeze"), ["1", "0"]);
    assert!(!cg.is_frozen());
}

#[test]
fn kill_all_then_remove() {
    // v1: rounds of freeze, kill, thaw until every hierarchy is empty.
    let host = v1_host();
    let cg = Cgroup::create_on(host.clone(), &v1_layout(), "/berth/k", &Limits::default()).unwrap();
    host.file("/cg/memory/berth/k/cgroup.procs", "101\n102\n")
        .file("/cg/pids/berth/k/cgroup.procs", "102\n103\n");
    assert_eq!(cg.all_pids(), [101, 102, 103]);
    assert_eq!(cg.pids(), [102, 103], "the pids hierarchy answers");
    cg.kill_all(Duration::from_secs(5)).unwrap();
    assert_eq!(host.killed(), [101, 102, 103]);
    assert_eq!(
        host.written("/cg/freezer/berth/k/freezer.state"),
        ["FROZEN", "THAWED"]
    );
    cg.remove();
    assert!(!cg.exists());
    assert!(!host.has_dir("/cg/memory/berth/k"));
    assert!(host.has_dir("/cg/memory/berth"), "the parent stays");

    // v2 with cgroup.kill: one write, no signal of our own.
    let host = v2_host();
    let layout = Layout::V2 {
        mountpoint: "/cg2".into(),
    };
    let cg = Cgroup::create_on(host.clone(), &layout, "/berth/k", &Limits::default()).unwrap();
    host.file("/cg2/berth/k/cgroup.procs", "7\n")
        .file("/cg2/berth/k/cgroup.kill", "");
    host.on_write("cgroup.kill", "1", "cgroup.procs", "");
    cg.kill_all(Duration::from_secs(5)).unwrap();
    assert_eq!(host.written("/cg2/berth/k/cgroup.kill"), ["1"]);
    assert!(host.killed().is_empty());
    cg.remove();
    assert!(!cg.exists());

    // A process that does not die: an error after the timeout.
    let host = v2_host();
    let cg = Cgroup::create_on(host.clone(), &layout, "/berth/z", &Limits::default()).unwrap();
    host.file("/cg2/berth/z/cgroup.procs", "9\n")
        .file("/cg2/berth/z/cgroup.kill", "");
    assert!(cg.kill_all(Duration::from_millis(20)).is_err());
}

#[test]
fn a_failed_create_removes_what_it_made() {
    let host = v1_host();
    // The second hierarchy's directory cannot be made: the first one's goes again.
    let layout = Layout::V1 {
        hierarchies: vec![
            Hierarchy {
                mountpoint: "/cg/memory".into(),
                options: "memory".into(),
            },
            Hierarchy {
                mountpoint: "/cg/missing".into(),
                options: "pids".into(),
            },
        ],
    };
    assert!(Cgroup::create_on(host.clone(), &layout, "/berth/x", &Limits::default()).is_err());
    assert!(!host.has_dir("/cg/memory/berth/x"));
}

#[test]
fn stats_read_the_counters() {
    let host = v2_host();
    let layout = Layout::V2 {
        mountpoint: "/cg2".into(),
    };
    let cg = Cgroup::create_on(host.clone(), &layout, "/berth/s", &Limits::default()).unwrap();
    host.file(
        "/cg2/berth/s/cpu.stat",
        "usage_usec 300\nuser_usec 200\nsystem_usec 100\n",
    )
    .file("/cg2/berth/s/memory.current", "4096\n")
    .file("/cg2/berth/s/pids.current", "3\n")
    .file("/cg2/berth/s/pids.max", "max\n")
    .file("/cg2/berth/s/memory.events", "oom 1\noom_kill 1\n");
    let st = cg.stats();
    assert_eq!(
        (st.cpu_total_ns, st.cpu_user_ns, st.cpu_system_ns),
        (300_000, 200_000, 100_000)
    );
    assert_eq!(
        (st.memory_usage, st.pids_current, st.pids_limit),
        (4096, 3, 0)
    );
    assert!(cg.oom_killed());
}

#[test]
fn a_process_enters_by_itself() {
    // v1: one thread moved through `tasks` in every hierarchy (the kernel's global
    // migration lock stays untouched); never a pid into `cgroup.procs`.
    let host = v1_host();
    let cg = Cgroup::create_on(host.clone(), &v1_layout(), "/berth/e", &Limits::default()).unwrap();
    cg.enter().unwrap();
    let moves: Vec<_> = host
        .writes()
        .into_iter()
        .filter(|(p, _)| p.ends_with("tasks") || p.ends_with("cgroup.procs"))
        .collect();
    let mut dirs: Vec<_> = moves
        .iter()
        .map(|(p, v)| {
            assert!(p.ends_with("tasks") && v == "0", "{p:?} {v}");
            p.parent().unwrap().to_path_buf()
        })
        .collect();
    dirs.sort();
    assert_eq!(dirs, {
        let mut d = cg.paths();
        d.sort();
        d
    });
    assert_eq!(dirs.len(), 7);
    // v2: `cgroup.procs` (threads only move alone in threaded cgroups).
    let host = v2_host();
    let layout = Layout::V2 {
        mountpoint: "/cg2".into(),
    };
    let cg = Cgroup::create_on(host.clone(), &layout, "/berth/e", &Limits::default()).unwrap();
    cg.enter().unwrap();
    assert_eq!(host.written("/cg2/berth/e/cgroup.procs"), ["0"]);
}
