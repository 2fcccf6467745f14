//! Nothing accepted and ignored: a create that sets a field Berth does not act on is refused
//! with a message naming the field and the docker flag, through the docker CLI, berth and
//! the raw API, and creates nothing; what the docker CLI sends by default passes
//! (`tests/fixtures/docker-cli-28-create.json`); `NetworkDisabled` is acted on.
#![allow(clippy::unwrap_used)]

use berth_e2e::{Daemon, have_docker_cli, unique};

/// The names of every container of the daemon.
fn containers(d: &Daemon) -> String {
    d.berth(&["ps", "-a", "--format", "{{.Names}}"])
        .expect_code(0)
        .stdout()
}

#[test]
fn refused_fields_name_the_field_and_the_flag_and_create_nothing() {
    let Some(d) = Daemon::with_busybox() else {
        return;
    };
    let name = unique("refused");
    let mut cases: Vec<(bool, Vec<&str>, &str)> = vec![(
        false,
        vec!["--security-opt", "apparmor=docker-default"],
        "HostConfig.SecurityOpt: apparmor (--security-opt apparmor=docker-default) is not supported yet",
    )];
    if have_docker_cli() {
        cases.extend([
            (
                true,
                vec!["--storage-opt", "size=1G"],
                "HostConfig.StorageOpt: storage driver options (--storage-opt) is not supported yet",
            ),
            (
                true,
                vec!["--oom-score-adj", "5"],
                "HostConfig.OomScoreAdj: the OOM score adjustment (--oom-score-adj) is not supported yet",
            ),
            (
                true,
                vec!["--security-opt", "label=type:svirt_apache_t"],
                "HostConfig.SecurityOpt: label (--security-opt label=type:svirt_apache_t) is not supported yet",
            ),
            (
                true,
                vec!["--mount", "type=volume,src=fieldsv,dst=/x,volume-subpath=a"],
                "Mounts.VolumeOptions.Subpath (--mount volume-subpath) is not supported yet",
            ),
        ]);
    }
    for (docker, flags, message) in &cases {
        let mut args = vec!["run", "-d", "--name", &name];
        args.extend(flags);
        args.extend(["busybox", "httpd", "-f"]);
        let out = d.cli(*docker, &args);
        assert_ne!(out.code(), 0, "{args:?} was accepted");
        assert!(out.stderr().contains(message), "{args:?}: {}", out.stderr());
        assert_eq!(containers(&d), "", "{args:?} created a container");
    }

    // The raw API: a 501 with the message, for what the SDKs send.
    let body = r#"{"Image":"busybox","Cmd":["true"],"HostConfig":{"StorageOpt":{"size":"1G"}}}"#;
    let out = d.raw("POST", "/v1.50/containers/create", body).unwrap();
    assert!(out.starts_with("HTTP/1.1 501"), "{out}");
    assert!(
        out.contains(
            r#"{"message":"HostConfig.StorageOpt: storage driver options (--storage-opt) is not supported yet"}"#
        ),
        "{out}"
    );
    // A field of another API version, set: refused, not ignored.
    let out = d
        .raw(
            "POST",
            "/v1.50/containers/create",
            r#"{"Image":"busybox","HostConfig":{"NoSuchField":1}}"#,
        )
        .unwrap();
    assert!(out.starts_with("HTTP/1.1 400"), "{out}");
    assert!(out.contains("HostConfig.NoSuchField"), "{out}");
    assert_eq!(containers(&d), "");
}

#[test]
fn the_docker_clis_default_create_passes() {
    let Some(d) = Daemon::with_busybox() else {
        return;
    };
    let body = include_str!("../fixtures/docker-cli-28-create.json");
    let name = unique("defaults");
    let out = d
        .raw(
            "POST",
            &format!("/v1.50/containers/create?name={name}"),
            body,
        )
        .unwrap();
    assert!(out.starts_with("HTTP/1.1 201"), "{out}");
    // What `apparmor=unconfined` and `label=disable` ask for is what Berth does.
    let run = unique("unconfined");
    d.berth(&[
        "run",
        "--name",
        &run,
        "--security-opt",
        "apparmor=unconfined",
        "--security-opt",
        "label=disable",
        "busybox",
        "true",
    ])
    .expect_code(0);
    if have_docker_cli() {
        let c = unique("cli");
        d.docker(&["create", "--name", &c, "busybox"])
            .expect_code(0);
        // A bind's destination listed in Volumes (as compose and the SDK do) is no
        // anonymous volume.
        let v = unique("bind");
        d.docker(&[
            "run",
            "--name",
            &v,
            "-v",
            "/tmp:/data:ro",
            "busybox",
            "true",
        ])
        .expect_code(0);
    }
}

#[test]
fn network_disabled_leaves_loopback_only() {
    let Some(d) = Daemon::with_busybox() else {
        return;
    };
    let name = unique("nonet");
    let body = r#"{"Image":"busybox","Cmd":["cat","/proc/net/dev"],"NetworkDisabled":true,"HostConfig":{"NetworkMode":"host"}}"#;
    let out = d
        .raw(
            "POST",
            &format!("/v1.50/containers/create?name={name}"),
            body,
        )
        .unwrap();
    assert!(out.starts_with("HTTP/1.1 201"), "{out}");
    let out = d.berth(&["start", "-a", &name]).expect_code(0).stdout();
    let interfaces: Vec<&str> = out
        .lines()
        .skip(2)
        .filter_map(|l| l.split(':').next())
        .map(str::trim)
        .collect();
    assert_eq!(interfaces, ["lo"], "{out}");
}

#[test]
fn query_parameters_berth_does_not_act_on_are_refused() {
    let Some(d) = Daemon::with_busybox() else {
        return;
    };
    let name = unique("query");
    d.berth(&["create", "--name", &name, "busybox", "true"])
        .expect_code(0);
    let status = |method: &str, path: &str, body: &str| {
        let out = d.raw(method, path, body).unwrap();
        let line = out.lines().next().unwrap_or_default().to_string();
        (line, out)
    };
    for (method, path, message) in [
        (
            "GET",
            "/v1.50/events?since=1&until=2&filters=%7B%22x%22%3A%5B%22y%22%5D%7D".to_string(),
            "invalid filter 'x'",
        ),
        (
            "GET",
            "/v1.50/images/json?shared-size=1".to_string(),
            "query parameter shared-size",
        ),
        (
            "GET",
            "/v1.50/images/busybox/json?platform=%7B%22os%22%3A%22linux%22%7D".to_string(),
            "query parameter platform",
        ),
        (
            "GET",
            "/v1.50/system/df?type=volume".to_string(),
            "query parameter type",
        ),
        (
            "DELETE",
            format!("/v1.50/containers/{name}?link=1"),
            "query parameter link",
        ),
        (
            "POST",
            format!("/v1.50/containers/{name}/start?checkpoint=c1"),
            "query parameter checkpoint",
        ),
        (
            "POST",
            "/v1.50/containers/create?platform=linux/s390x".to_string(),
            "platform linux/s390x (--platform)",
        ),
    ] {
        let body = if path.ends_with("/containers/create") || path.contains("create?") {
            r#"{"Image":"busybox"}"#
        } else {
            ""
        };
        let (line, out) = status(method, &path, body);
        assert!(
            line.contains(" 400 ") || line.contains(" 501 "),
            "{method} {path}: {out}"
        );
        assert!(out.contains(message), "{method} {path}: {out}");
    }
    // The container was neither removed nor started by the refused requests; the host's
    // platform passes.
    let state = d
        .berth(&["inspect", "--format", "{{.State.Status}}", &name])
        .expect_code(0)
        .stdout();
    assert_eq!(state.trim(), "created");
    let (line, out) = status(
        "POST",
        "/v1.50/containers/create?platform=linux",
        r#"{"Image":"busybox"}"#,
    );
    assert!(line.contains(" 201 "), "{out}");
    if have_docker_cli() {
        let out = d.docker(&["events", "--since", "1", "--until", "2", "--filter", "x=y"]);
        assert_ne!(out.code(), 0);
        assert!(
            out.stderr().contains("invalid filter 'x'"),
            "{}",
            out.stderr()
        );
    }
}
