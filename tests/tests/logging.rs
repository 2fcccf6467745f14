//! Log drivers as Docker's (`json-file` with rotation, `local`, `none`, others refused), and
//! `inspect` complete however sparse the create request (what SDK clients read).
#![allow(clippy::unwrap_used)]

use berth_e2e::{Daemon, clis, eventually, unique};
use serde_json::Value;

/// The JSON body of a raw response.
fn body(resp: &str) -> Value {
    let (_, b) = resp.split_once("\r\n\r\n").expect("headers end");
    serde_json::from_str(b.trim()).unwrap_or_else(|e| panic!("json {e}: {b:?}"))
}

fn status(resp: &str) -> u16 {
    resp.split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status")
}

fn inspect(d: &Daemon, name: &str) -> Value {
    let out = d.berth(&["inspect", name]);
    out.ok();
    let v: Value = serde_json::from_str(&out.stdout()).unwrap();
    v[0].clone()
}

#[test]
fn sparse_create_inspects_complete_like_dockerd() {
    let Some(d) = Daemon::with_busybox() else {
        return;
    };
    let name = unique("sparse");
    let resp = d
        .raw(
            "POST",
            &format!("/v1.41/containers/create?name={name}"),
            r#"{"Image":"busybox","Cmd":["echo","hi"]}"#,
        )
        .unwrap();
    assert_eq!(status(&resp), 201, "{resp}");
    let v = body(
        &d.raw("GET", &format!("/v1.41/containers/{name}/json"), "")
            .unwrap(),
    );
    let hc = &v["HostConfig"];
    // What dockerd 20.10 fills in for `{"Image": "busybox"}` (the Python SDK's `run`
    // reads LogConfig.Type and fails with KeyError without it).
    assert_eq!(
        hc["LogConfig"],
        serde_json::json!({"Type": "json-file", "Config": {}})
    );
    assert_eq!(hc["NetworkMode"], "default");
    assert_eq!(hc["RestartPolicy"]["Name"], "");
    assert_eq!(hc["IpcMode"], "private");
    assert_eq!(hc["ShmSize"], 67108864);
    assert_eq!(hc["Binds"], Value::Null);
    assert_eq!(hc["PidsLimit"], Value::Null);
    assert_eq!(hc["ConsoleSize"], serde_json::json!([0, 0]));
    assert_eq!(hc["MaskedPaths"].as_array().unwrap().len(), 10);
    assert_eq!(hc["ReadonlyPaths"].as_array().unwrap().len(), 5);
    let keys: Vec<&str> = hc.as_object().unwrap().keys().map(String::as_str).collect();
    for k in [
        "ContainerIDFile",
        "VolumeDriver",
        "VolumesFrom",
        "CapAdd",
        "CapDrop",
        "CgroupnsMode",
        "Dns",
        "DnsOptions",
        "DnsSearch",
        "ExtraHosts",
        "GroupAdd",
        "Cgroup",
        "Links",
        "OomScoreAdj",
        "PidMode",
        "Privileged",
        "PublishAllPorts",
        "ReadonlyRootfs",
        "SecurityOpt",
        "UTSMode",
        "UsernsMode",
        "Isolation",
        "CpuShares",
        "Memory",
        "NanoCpus",
        "CgroupParent",
        "BlkioWeight",
        "BlkioWeightDevice",
        "CpuPeriod",
        "CpuQuota",
        "CpusetCpus",
        "Devices",
        "DeviceRequests",
        "MemoryReservation",
        "MemorySwap",
        "MemorySwappiness",
        "OomKillDisable",
        "Ulimits",
    ] {
        assert!(keys.contains(&k), "HostConfig.{k} missing: {keys:?}");
    }
    let ns = &v["NetworkSettings"];
    for k in [
        "IPAddress",
        "Gateway",
        "MacAddress",
        "IPPrefixLen",
        "EndpointID",
        "SandboxKey",
    ] {
        assert!(ns[k].is_string() || ns[k].is_number(), "{k}: {ns}");
    }
    assert!(ns["Ports"].is_object(), "{ns}");
    assert!(ns["Networks"]["bridge"].is_object(), "{ns}");
    assert_eq!(v["Config"]["Volumes"], Value::Null);
    assert_eq!(v["Config"]["OnBuild"], Value::Null);
    assert!(v["LogPath"].as_str().unwrap().ends_with("-json.log"));

    // A container on the host's network is on `host`; the list shows the same networks.
    let host = unique("host");
    d.berth(&["create", "--name", &host, "--network", "host", "busybox"])
        .ok();
    assert!(inspect(&d, &host)["NetworkSettings"]["Networks"]["host"].is_object());
    let list = body(&d.raw("GET", "/v1.41/containers/json?all=1", "").unwrap());
    let row = list
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["Names"][0] == format!("/{host}"))
        .unwrap();
    assert!(
        row["NetworkSettings"]["Networks"]["host"].is_object(),
        "{row}"
    );
    d.berth(&["rm", &name, &host]).ok();
}

#[test]
fn json_file_rotates_and_logs_read_across_files() {
    let Some(d) = Daemon::with_busybox() else {
        return;
    };
    for docker in clis() {
        let name = unique("rot");
        // ~80-byte entries: 1000 lines make ~80 kB, far more than 3 files of 10 kB keep.
        d.cli(
            docker,
            &[
                "run",
                "--name",
                &name,
                "--log-opt",
                "max-size=10k",
                "--log-opt",
                "max-file=3",
                "--log-opt",
                "compress=true",
                "busybox",
                "sh",
                "-c",
                "for i in $(seq 1 1000); do echo line $i; done",
            ],
        )
        .ok();
        let v = inspect(&d, &name);
        assert_eq!(v["HostConfig"]["LogConfig"]["Config"]["max-size"], "10k");
        let log = v["LogPath"].as_str().unwrap().to_string();
        assert!(std::path::Path::new(&format!("{log}.1.gz")).exists());
        assert!(std::path::Path::new(&format!("{log}.2.gz")).exists());
        assert!(!std::path::Path::new(&format!("{log}.3.gz")).exists());
        assert!(std::fs::metadata(&log).unwrap().len() < 10_000 + 200);
        let out = d.cli(docker, &["logs", &name]);
        out.ok();
        let text = out.stdout();
        let lines: Vec<&str> = text.lines().collect();
        // What is kept is the end, in order, with nothing missing in between.
        assert_eq!(*lines.last().unwrap(), "line 1000");
        assert!(lines.len() > 200 && lines.len() < 400, "{}", lines.len());
        let first: usize = lines[0]["line ".len()..].parse().unwrap();
        for (i, l) in lines.iter().enumerate() {
            assert_eq!(*l, format!("line {}", first + i));
        }
        let tail = d.cli(docker, &["logs", "--tail", "2", &name]);
        assert_eq!(tail.stdout(), "line 999\nline 1000\n");
        d.cli(docker, &["rm", &name]).ok();
    }
}

#[test]
fn follow_reads_through_rotations() {
    let Some(d) = Daemon::with_busybox() else {
        return;
    };
    let name = unique("follow");
    // 100 entries of ~80 bytes rotate ~8 times at 1 kB, and 20 files keep them all.
    // It waits for /go, so the follower is there before the first line (a follow of a
    // container that is not running ends at once, as Docker's).
    d.berth(&[
        "run",
        "-d",
        "--name",
        &name,
        "--log-opt",
        "max-size=1k",
        "--log-opt",
        "max-file=20",
        "busybox",
        "sh",
        "-c",
        "while [ ! -e /go ]; do sleep 0.05; done; \
         for i in $(seq 1 100); do echo line $i; [ $((i % 10)) = 0 ] && sleep 0.1; done",
    ])
    .ok();
    let follower = d
        .cli_command(false)
        .args(["logs", "-f", &name])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    d.berth(&["exec", &name, "touch", "/go"]).ok();
    let out = follower.wait_with_output().unwrap();
    let want: String = (1..=100).map(|i| format!("line {i}\n")).collect();
    assert_eq!(String::from_utf8_lossy(&out.stdout), want);
    d.berth(&["rm", &name]).ok();
}

#[test]
fn local_and_none_drivers() {
    let Some(d) = Daemon::with_busybox() else {
        return;
    };
    for docker in clis() {
        let local = unique("local");
        d.cli(
            docker,
            &[
                "run",
                "--name",
                &local,
                "--log-driver",
                "local",
                "busybox",
                "sh",
                "-c",
                "echo out; echo err >&2",
            ],
        )
        .ok();
        let v = inspect(&d, &local);
        assert_eq!(v["HostConfig"]["LogConfig"]["Type"], "local");
        // Docker shows a log path for json-file only.
        assert_eq!(v["LogPath"], "");
        let out = d.cli(docker, &["logs", &local]);
        out.ok();
        assert_eq!(out.stdout(), "out\n");
        assert_eq!(out.stderr(), "err\n");

        // `none`: the output still reaches an attached client, but nothing is kept.
        let none = unique("none");
        let run = d.cli(
            docker,
            &[
                "run",
                "--name",
                &none,
                "--log-driver",
                "none",
                "busybox",
                "echo",
                "seen",
            ],
        );
        run.ok();
        assert_eq!(run.stdout(), "seen\n");
        let out = d.cli(docker, &["logs", &none]);
        assert_ne!(out.code(), 0);
        assert!(
            out.stderr()
                .contains("configured logging driver does not support reading"),
            "{}",
            out.stderr()
        );
        d.cli(docker, &["rm", &local, &none]).ok();
    }
    let resp = d
        .raw("GET", "/containers/nosuch/logs?stdout=1", "")
        .unwrap();
    assert_eq!(status(&resp), 404);
}

#[test]
fn log_options_are_checked_with_dockers_messages() {
    let Some(d) = Daemon::with_busybox() else {
        return;
    };
    let cases: [(&[&str], &str); 9] = [
        (
            &["--log-driver", "foo"],
            "error looking up logging plugin foo: plugin \"foo\" not found",
        ),
        (
            &["--log-driver", "syslog"],
            "log driver syslog is not supported",
        ),
        (
            &["--log-opt", "bogus=1"],
            "unknown log opt 'bogus' for json-file log driver",
        ),
        (
            &["--log-opt", "max-size=1q"],
            "failed to initialize logging driver: invalid size: '1q'",
        ),
        (
            &["--log-opt", "max-file=0"],
            "max-file cannot be less than 1",
        ),
        (
            &["--log-opt", "compress=true"],
            "compress cannot be true when max-file is less than 2 or max-size is not set",
        ),
        (
            &["--log-driver", "local", "--log-opt", "labels=a"],
            "unknown log opt 'labels' for log driver local",
        ),
        (
            &["--log-driver", "local", "--log-opt", "max-file=1"],
            "compression cannot be enabled when max file count is 1",
        ),
        (
            &["--log-opt", "max-file=x"],
            "strconv.Atoi: parsing \"x\": invalid syntax",
        ),
    ];
    for docker in clis() {
        for (flags, msg) in &cases {
            let mut args = vec!["create"];
            args.extend_from_slice(flags);
            args.extend_from_slice(&["busybox", "true"]);
            let out = d.cli(docker, &args);
            assert_ne!(out.code(), 0, "{args:?}");
            assert!(out.stderr().contains(msg), "{args:?}: {}", out.stderr());
        }
    }
    // Nothing was created by the refused requests.
    let ps = d.berth(&["ps", "-aq"]);
    assert_eq!(ps.stdout(), "");
    // Through the API, `none` takes no options.
    let resp = d
        .raw(
            "POST",
            "/containers/create",
            r#"{"Image":"busybox","HostConfig":{"LogConfig":{"Type":"none","Config":{"max-size":"1k"}}}}"#,
        )
        .unwrap();
    assert_eq!(status(&resp), 400, "{resp}");
    assert_eq!(
        body(&resp)["message"],
        "invalid logging opts for driver none"
    );
}

#[test]
fn details_show_the_labels_and_env_asked_for() {
    let Some(d) = Daemon::with_busybox() else {
        return;
    };
    let name = unique("details");
    d.berth(&[
        "run",
        "--name",
        &name,
        "--log-opt",
        "labels=team,missing",
        "--log-opt",
        "env=MODE",
        "--log-opt",
        "env-regex=^X_",
        "-l",
        "team=a b",
        "-l",
        "other=1",
        "-e",
        "MODE=prod",
        "-e",
        "X_ONE=1",
        "busybox",
        "echo",
        "hello",
    ])
    .ok();
    for docker in clis() {
        let out = d.cli(docker, &["logs", "--details", &name]);
        out.ok();
        assert_eq!(out.stdout(), "MODE=prod,X_ONE=1,team=a+b hello\n");
        let plain = d.cli(docker, &["logs", &name]);
        assert_eq!(plain.stdout(), "hello\n");
    }
    // Without attributes, --details still puts the separating space (as Docker).
    let bare = unique("bare");
    d.berth(&["run", "--name", &bare, "busybox", "echo", "x"])
        .ok();
    assert!(eventually(10, || d
        .berth(&["logs", "--details", &bare])
        .stdout()
        == " x\n"));
    d.berth(&["rm", &name, &bare]).ok();
}

#[test]
fn daemon_default_log_driver_and_options() {
    if berth_e2e::skip_unless_root() {
        return;
    }
    let d = Daemon::start_with(&["--log-driver", "local", "--log-opt", "max-file=3"]);
    d.load("busybox.tar");
    let name = unique("dflt");
    d.berth(&["run", "--name", &name, "busybox", "echo", "x"])
        .ok();
    let lc = &inspect(&d, &name)["HostConfig"]["LogConfig"];
    assert_eq!(lc["Type"], "local");
    assert_eq!(lc["Config"]["max-file"], "3");
    // A container naming another driver gets none of the default's options.
    let other = unique("other");
    d.berth(&[
        "create",
        "--name",
        &other,
        "--log-driver",
        "json-file",
        "busybox",
    ])
    .ok();
    let lc = &inspect(&d, &other)["HostConfig"]["LogConfig"];
    assert_eq!(lc["Type"], "json-file");
    assert_eq!(lc["Config"], serde_json::json!({}));
    assert_eq!(d.berth(&["logs", &name]).stdout(), "x\n");
    d.berth(&["rm", &name, &other]).ok();

    // A bad default keeps the daemon from starting, with the reason.
    let bad = std::process::Command::new(berth_e2e::bin_dir().join("berthd"))
        .args([
            "--log-driver",
            "syslog",
            "--data-root",
            "/nonexistent-berth/x",
        ])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("log driver syslog is not supported"), "{err}");
}
