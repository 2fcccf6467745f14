use super::*;

fn sample() -> ContainerSpec {
    ContainerSpec {
        id: "ab".repeat(32),
        args: vec!["sh".into(), "-c".into(), "true".into()],
        env: vec!["PATH=/bin".into()],
        cwd: String::new(),
        user: "daemon".into(),
        hostname: "abababababab".into(),
        tty: true,
        layers: vec!["/l/0".into(), "/l/1".into()],
        binds: vec![BindMount {
            source: "/tmp/hosts".into(),
            destination: "/etc/hosts".into(),
            readonly: true,
            propagation: String::new(),
            non_recursive: false,
        }],
        cgroup_path: "/berth/abc".into(),
        memory: 8 << 20,
        pids_limit: 100,
        ..Default::default()
    }
}

#[test]
fn bundle_round_trips_with_docker_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let spec = sample();
    write_bundle(dir.path(), &spec).unwrap();
    let (oci, mut berth) = read_bundle(dir.path()).unwrap();
    // berth.json carries config.json's seccomp filter, compiled.
    let seccomp = oci.linux().as_ref().unwrap().seccomp().as_ref().unwrap();
    let compiled = crate::linux::seccomp::Filter::new(seccomp).unwrap().pack();
    assert_eq!(berth.seccomp_bpf.take(), Some(compiled));
    assert_eq!(berth, spec);
    let oci2 = Spec::load(dir.path().join(CONFIG_FILE)).unwrap();
    assert_eq!(oci, oci2);
    // None without a filter.
    let privileged = ContainerSpec {
        privileged: true,
        ..sample()
    };
    write_bundle(dir.path(), &privileged).unwrap();
    assert_eq!(read_bundle(dir.path()).unwrap().1.seccomp_bpf, None);

    let p = oci.process().as_ref().unwrap();
    assert_eq!(p.args().as_ref().unwrap(), &spec.args);
    assert_eq!(p.cwd(), Path::new("/"));
    assert_eq!(p.terminal(), Some(true));
    let caps = p.capabilities().as_ref().unwrap();
    for set in [caps.bounding(), caps.effective(), caps.permitted()] {
        let set = set.as_ref().unwrap();
        assert_eq!(set.len(), 14);
        assert!(set.contains(&Capability::NetBindService));
        assert!(!set.contains(&Capability::SysAdmin));
    }
    let nofile = p.rlimits().as_ref().unwrap()[0];
    assert_eq!(nofile.typ(), PosixRlimitType::RlimitNofile);
    assert!(nofile.hard() <= 1_048_576 && nofile.hard() == nofile.soft());
    assert_eq!(oci.hostname().as_deref(), Some("abababababab"));

    let mounts = oci.mounts().as_ref().unwrap();
    let dests: Vec<_> = mounts
        .iter()
        .map(|m| m.destination().to_str().unwrap())
        .collect();
    assert_eq!(
        dests,
        [
            "/proc",
            "/dev",
            "/dev/pts",
            "/sys",
            "/sys/fs/cgroup",
            "/dev/mqueue",
            "/dev/shm",
            "/etc/hosts"
        ]
    );
    let bind = &mounts[7];
    assert_eq!(bind.typ().as_deref(), Some("bind"));
    assert!(bind.options().as_ref().unwrap().contains(&"ro".to_string()));

    // User mounts go parents first, tmpfs with Docker's defaults before the user's.
    let mut spec = sample();
    spec.binds.push(BindMount {
        source: "/srv".into(),
        destination: "/data/in".into(),
        readonly: false,
        propagation: String::new(),
        non_recursive: false,
    });
    spec.tmpfs.push(TmpfsMount {
        destination: "/data".into(),
        options: vec!["size=1m".into(), "exec".into()],
    });
    write_bundle(dir.path(), &spec).unwrap();
    let (oci, _) = read_bundle(dir.path()).unwrap();
    let mounts = oci.mounts().as_ref().unwrap();
    let tail: Vec<_> = mounts[7..]
        .iter()
        .map(|m| m.destination().to_str().unwrap())
        .collect();
    assert_eq!(tail, ["/data", "/etc/hosts", "/data/in"]);
    assert_eq!(
        mounts[7].options().as_ref().unwrap(),
        &["nosuid", "nodev", "noexec", "size=1m", "exec"]
    );

    let linux = oci.linux().as_ref().unwrap();
    let ns: Vec<_> = linux
        .namespaces()
        .as_ref()
        .unwrap()
        .iter()
        .map(|n| n.typ())
        .collect();
    assert_eq!(ns.len(), 6);
    assert!(ns.contains(&LinuxNamespaceType::Network));
    assert!(ns.contains(&LinuxNamespaceType::Cgroup));
    assert_eq!(
        linux.cgroups_path().as_deref(),
        Some(Path::new("/berth/abc"))
    );
    let res = linux.resources().as_ref().unwrap();
    assert_eq!(res.memory().as_ref().unwrap().limit(), Some(8 << 20));
    assert_eq!(res.pids().as_ref().unwrap().limit(), 100);
    assert_eq!(linux.masked_paths().as_ref().unwrap().len(), 10);
    assert!(
        linux
            .readonly_paths()
            .as_ref()
            .unwrap()
            .contains(&"/proc/sys".to_string())
    );
    assert_eq!(linux.devices().as_ref().unwrap().len(), 6);
    // No temp files left behind.
    let mut names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["berth.json", "config.json"]);
}

#[test]
fn init_runs_docker_init_bound_read_only() {
    let mut spec = sample();
    spec.init = Some("/usr/bin/tini-static".into());
    let oci = oci_spec(&spec).unwrap();
    let args = oci.process().as_ref().unwrap().args().clone().unwrap();
    assert_eq!(args, ["/sbin/docker-init", "--", "sh", "-c", "true"]);
    let m = oci
        .mounts()
        .as_ref()
        .unwrap()
        .iter()
        .find(|m| m.destination() == Path::new(INIT_PATH))
        .unwrap();
    assert_eq!(
        m.source().as_deref(),
        Some(Path::new("/usr/bin/tini-static"))
    );
    assert_eq!(m.options().as_ref().unwrap(), &["bind", "ro"]);

    // As Docker: no init in another pid namespace (the host's, a container's).
    spec.pid_ns = "host".into();
    let oci = oci_spec(&spec).unwrap();
    assert_eq!(
        oci.process().as_ref().unwrap().args().as_ref(),
        Some(&spec.args)
    );
    let mounts = oci.mounts().as_ref().unwrap();
    assert!(
        !mounts
            .iter()
            .any(|m| m.destination() == Path::new(INIT_PATH))
    );
}

#[test]
fn host_network_has_no_net_namespace() {
    let mut spec = sample();
    spec.network = NetworkMode::Host;
    spec.memory = 0;
    let oci = oci_spec(&spec).unwrap();
    let linux = oci.linux().as_ref().unwrap();
    let ns = linux.namespaces().as_ref().unwrap();
    assert!(!ns.iter().any(|n| n.typ() == LinuxNamespaceType::Network));
    assert!(linux.resources().as_ref().unwrap().memory().is_none());
}
