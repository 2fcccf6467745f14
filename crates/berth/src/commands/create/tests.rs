use super::*;
use clap::Parser;

#[derive(Parser)]
#[command(disable_help_flag = true)]
struct Cli {
    #[command(flatten)]
    opts: CreateOpts,
}

/// The create body of `create ARGS` (the netflags tests use it too).
pub(crate) fn request(args: &[&str]) -> Result<CreateRequest, Exit> {
    let cli = Cli::try_parse_from(std::iter::once("create").chain(args.iter().copied()))
        .map_err(|e| fail(125, e.to_string()))?;
    create_request(&cli.opts, false)
}

#[test]
fn flags_become_typed_config() {
    let r = request(&[
        "--name",
        "x",
        "-e",
        "A=1",
        "-l",
        "k=v",
        "-m",
        "64m",
        "--memory-swap",
        "-1",
        "--cpus",
        "1.5",
        "--pids-limit",
        "-1",
        "--ulimit",
        "nofile=10:20",
        "--tmpfs",
        "/run:size=1m",
        "--mount",
        "type=tmpfs,target=/t,tmpfs-size=1k,tmpfs-mode=1777",
        "--device",
        "/dev/null",
        "--restart",
        "on-failure:3",
        "--log-opt",
        "max-size=1m",
        "--health-cmd",
        "true",
        "--health-interval",
        "2s",
        "--entrypoint",
        "",
        "--init",
        "--sysctl",
        "net.ipv4.ip_forward=1",
        "busybox",
        "sh",
        "-c",
        "exit 3",
    ])
    .unwrap();
    let (c, h) = (&r.config, &r.host_config);
    assert_eq!(c.image, "busybox");
    assert_eq!(c.cmd.as_deref().unwrap(), ["sh", "-c", "exit 3"]);
    assert_eq!(c.entrypoint, Some(vec![]));
    assert_eq!(c.env, ["A=1"]);
    assert_eq!(c.labels["k"], "v");
    let hc: HealthConfig = serde_json::from_value(c.healthcheck.clone().unwrap()).unwrap();
    assert_eq!(hc.test.unwrap(), ["CMD-SHELL", "true"]);
    assert_eq!(hc.interval, 2_000_000_000);
    assert_eq!(h.resources.memory, 64 << 20);
    assert_eq!(h.resources.memory_swap, -1);
    assert_eq!(h.resources.nano_cpus, 1_500_000_000);
    assert_eq!(h.resources.pids_limit, Some(-1));
    let u = &h.resources.ulimits.as_ref().unwrap()[0];
    assert_eq!((u.name.as_str(), u.soft, u.hard), ("nofile", 10, 20));
    assert_eq!(h.tmpfs.as_ref().unwrap()["/run"], "size=1m");
    let m = &h.mounts.as_ref().unwrap()[0];
    let t = m.tmpfs_options.as_ref().unwrap();
    assert_eq!(
        (m.r#type.as_str(), t.size_bytes, t.mode),
        ("tmpfs", 1024, 0o1777)
    );
    assert_eq!(
        h.resources.devices.as_ref().unwrap()[0].cgroup_permissions,
        "rwm"
    );
    assert_eq!(h.restart_policy.name, "on-failure");
    assert_eq!(h.restart_policy.maximum_retry_count, 3);
    assert_eq!(h.log_config.config["max-size"], "1m");
    assert_eq!(h.init, Some(true));
    assert_eq!(h.network_mode, "default");
    assert_eq!(h.sysctls.as_ref().unwrap()["net.ipv4.ip_forward"], "1");
    // Lists not given are null, as the docker CLI sends them (the DNS ones empty).
    assert!(h.binds.is_none() && h.links.is_none() && h.cap_add.is_none());
    assert_eq!(h.dns, Some(vec![]));
}

/// `--mount` volume and bind options, `--volumes-from` and `--volume-driver` reach the
/// request as the docker CLI sends them.
#[test]
fn volume_flags() {
    let r = request(&[
        "--mount",
        "dst=/a,src=v1,volume-nocopy,volume-label=k=v,volume-label=bare,volume-driver=local,volume-opt=o=x",
        "--mount",
        "type=bind,src=/h,dst=/b,readonly,bind-recursive=writable",
        "--volumes-from",
        "other:ro",
        "--volume-driver",
        "local",
        "-v",
        "named:/n:ro",
        "-v",
        "/anon",
        "busybox",
    ])
    .unwrap();
    let (c, h) = (&r.config, &r.host_config);
    let m = h.mounts.as_ref().unwrap();
    assert_eq!(
        (m[0].r#type.as_str(), m[0].source.as_str()),
        ("volume", "v1")
    );
    let o = m[0].volume_options.as_ref().unwrap();
    assert!(o.no_copy);
    let labels = o.labels.as_ref().unwrap();
    assert_eq!((labels["k"].as_str(), labels["bare"].as_str()), ("v", ""));
    let d = o.driver_config.as_ref().unwrap();
    assert_eq!(
        (d.name.as_str(), d.options.as_ref().unwrap()["o"].as_str()),
        ("local", "x")
    );
    let b = m[1].bind_options.as_ref().unwrap();
    assert!(m[1].read_only && b.read_only_non_recursive && !b.non_recursive);
    assert_eq!(h.volumes_from.as_deref().unwrap(), ["other:ro"]);
    assert_eq!(h.volume_driver, "local");
    assert_eq!(h.binds.as_deref().unwrap(), ["named:/n:ro"]);
    assert!(c.volumes.as_ref().unwrap().contains_key("/anon"));
}

#[test]
fn bad_flags_are_refused() {
    for (args, message) in [
        (
            &["-p", "80:abc", "busybox"][..],
            "invalid containerPort: abc",
        ),
        (
            &["--ulimit", "nofile", "busybox"],
            "invalid ulimit argument",
        ),
        (
            &["--mount", "type=bind,nope=1", "busybox"],
            "unexpected key 'nope'",
        ),
        (&["--log-opt", "x", "busybox"], "invalid log opt"),
        (&["-m", "lots", "busybox"], "invalid size"),
        (&["--gpus", "all", "busybox"], "unknown flag: --gpus"),
        (
            &[
                "--mount",
                "type=bind,src=/a,dst=/b,volume-nocopy",
                "busybox",
            ],
            "cannot mix 'volume-*' options with mount type 'bind'",
        ),
        (
            &[
                "--mount",
                "type=volume,dst=/b,bind-propagation=rprivate",
                "busybox",
            ],
            "cannot mix 'bind-*' options with mount type 'volume'",
        ),
        (
            &["--mount", "type=volume,src=x", "busybox"],
            "target is required",
        ),
        (
            &["--mount", "dst=/b,volume-nocopy=maybe", "busybox"],
            "invalid value for volume-nocopy: maybe",
        ),
        (
            &["--mount", "dst=/b,volume-label", "busybox"],
            "invalid field 'volume-label' must be a key=value pair",
        ),
        (
            &[
                "--mount",
                "type=bind,src=/a,dst=/b,bind-recursive=readonly",
                "busybox",
            ],
            "option 'bind-recursive=readonly' requires 'readonly' to be specified in conjunction",
        ),
        (
            &[
                "--mount",
                "type=bind,src=/a,dst=/b,bind-recursive=foo",
                "busybox",
            ],
            "invalid value for bind-recursive: foo",
        ),
        (&["-Z", "busybox"], "unknown shorthand flag: 'Z' in -Z"),
        (
            &["--no-healthcheck", "--health-cmd", "true", "busybox"],
            "conflicts",
        ),
    ] {
        let e = request(args).unwrap_err();
        assert_eq!(e.code, 125);
        assert!(e.message.contains(message), "{args:?}: {}", e.message);
    }
}
