//! `ps` filters, with `berth` and the docker CLI: id, name, label, status, exited,
//! ancestor, before, since, health, and Docker's errors for bad ones; `--format` of `ps`
//! and `images`.
#![allow(clippy::unwrap_used)]

use berth_e2e::{Daemon, unique};

#[test]
fn ps_filters_like_docker() {
    let Some(d) = Daemon::with_busybox() else {
        return;
    };
    let (a, b, c) = (unique("psrun"), unique("psexit"), unique("pscreated"));
    d.berth(&[
        "run",
        "-d",
        "--name",
        &a,
        "-l",
        "tier=front",
        "busybox",
        "sleep",
        "1000",
    ])
    .ok();
    assert_eq!(
        d.berth(&["run", "--name", &b, "busybox", "sh", "-c", "exit 3"])
            .code(),
        3
    );
    d.berth(&["create", "--name", &c, "-l", "tier=back", "busybox", "true"])
        .ok();
    let short = |n: &str| d.berth(&["inspect", "-f", "{{.Id}}", n]).stdout()[..12].to_string();
    let (ia, ib, ic) = (short(&a), short(&b), short(&c));
    for docker in berth_e2e::clis() {
        let ps = |args: &[&str]| {
            let mut cmd = vec!["ps", "-q"];
            cmd.extend_from_slice(args);
            let out = d.cli(docker, &cmd);
            out.ok();
            let mut ids: Vec<String> = out.stdout().lines().map(str::to_string).collect();
            ids.sort();
            ids
        };
        let set = |ids: &[&String]| {
            let mut v: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
            v.sort();
            v
        };
        assert_eq!(ps(&[]), set(&[&ia]), "docker={docker}");
        assert_eq!(ps(&["-a"]), set(&[&ia, &ib, &ic]), "docker={docker}");
        assert_eq!(
            ps(&["--filter", "status=exited"]),
            set(&[&ib]),
            "docker={docker}"
        );
        assert_eq!(
            ps(&["-a", "--filter", "status=created"]),
            set(&[&ic]),
            "docker={docker}"
        );
        assert_eq!(
            ps(&["-a", "--filter", "exited=3"]),
            set(&[&ib]),
            "docker={docker}"
        );
        assert!(
            ps(&["-a", "--filter", "exited=0"]).is_empty(),
            "docker={docker}"
        );
        assert_eq!(
            ps(&["-a", "--filter", "label=tier=front"]),
            set(&[&ia]),
            "docker={docker}"
        );
        assert_eq!(
            ps(&["-a", "--filter", "label=tier"]),
            set(&[&ia, &ic]),
            "docker={docker}"
        );
        assert_eq!(
            ps(&["-a", "--filter", &format!("name={b}")]),
            set(&[&ib]),
            "docker={docker}"
        );
        assert_eq!(
            ps(&["-a", "--filter", &format!("id={}", &ic[..6])]),
            set(&[&ic]),
            "docker={docker}"
        );
        assert_eq!(
            ps(&["-a", "--filter", "ancestor=busybox"]),
            set(&[&ia, &ib, &ic]),
            "docker={docker}"
        );
        assert_eq!(
            ps(&["-a", "--filter", &format!("since={a}")]),
            set(&[&ib, &ic]),
            "docker={docker}"
        );
        assert_eq!(
            ps(&["-a", "--filter", &format!("before={c}")]),
            set(&[&ia, &ib]),
            "docker={docker}"
        );
        assert_eq!(
            ps(&["-a", "--filter", "health=none"]),
            set(&[&ia, &ib, &ic]),
            "docker={docker}"
        );
        assert!(
            ps(&["-a", "--filter", "health=healthy"]).is_empty(),
            "docker={docker}"
        );
        // Two values of one key: either; two keys: both.
        assert_eq!(
            ps(&[
                "-a",
                "--filter",
                "status=exited",
                "--filter",
                "status=created"
            ]),
            set(&[&ib, &ic]),
            "docker={docker}"
        );
        assert_eq!(
            ps(&[
                "-a",
                "--filter",
                "status=created",
                "--filter",
                "label=tier=front"
            ]),
            Vec::<String>::new(),
            "docker={docker}"
        );
        for (bad, msg) in [
            ("bogus=1", "invalid filter 'bogus'"),
            ("status=nope", "invalid filter 'status=nope'"),
        ] {
            let out = d.cli(docker, &["ps", "--filter", bad]);
            assert_ne!(out.code(), 0, "docker={docker} {bad}");
            assert!(
                out.stderr().contains(msg),
                "docker={docker}: {}",
                out.stderr()
            );
        }
    }
    d.berth(&["rm", "-f", &a, &b, &c]).ok();
}

/// `ps --format` and `images --format` as the docker CLI prints them: templates, `table`
/// with its header and alignment, `json`, `\t` typed as two characters; and the default
/// tables (and those of `top`, `system df`, `history`, `stats`). Where the docker CLI is
/// installed, `berth` prints exactly what it prints.
#[test]
fn ps_and_images_format_like_docker() {
    let Some(d) = Daemon::with_busybox() else {
        return;
    };
    let (a, b) = (unique("fmtrun"), unique("fmtnew"));
    d.berth(&[
        "run", "-d", "--name", &a, "-l", "k=v", "busybox", "sleep", "1000",
    ])
    .ok();
    d.berth(&["create", "--name", &b, "busybox", "true"]).ok();
    let berth = |args: &[&str]| {
        let out = d.berth(args);
        out.ok();
        out.stdout()
    };
    assert_eq!(
        berth(&["ps", "-a", "--format", "{{.Names}} {{.State}} {{.Labels}}"]),
        format!("{b} created \n{a} running k=v\n")
    );
    let table = berth(&["ps", "--format", r"table {{.Names}}\t{{.Image}}"]);
    let pad = " ".repeat(a.len().max(5) + 3 - "NAMES".len());
    assert_eq!(table, format!("NAMES{pad}IMAGE\n{a}   busybox\n"));
    let json: serde_json::Value =
        serde_json::from_str(&berth(&["ps", "--format", "json"])).unwrap();
    assert_eq!(json["Names"], a.as_str());
    assert_eq!(json["Command"], "\"sleep 1000\"");
    assert_eq!(
        berth(&["images", "--format", "{{.Repository}}:{{.Tag}} {{.Digest}}"]),
        "busybox:latest <none>\n"
    );
    let stats = berth(&["stats", "--no-stream", &a]);
    let header = stats.lines().next().unwrap();
    let columns: Vec<&str> = header
        .split("  ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    assert_eq!(
        columns,
        [
            "CONTAINER ID",
            "NAME",
            "CPU %",
            "MEM USAGE / LIMIT",
            "MEM %",
            "NET I/O",
            "BLOCK I/O",
            "PIDS"
        ]
    );
    // Sizes (-s, or a format that shows them; inspect -s): the writable layer's bytes and
    // those plus the image's.
    let big = unique("fmtbig");
    let write = "head -c 3000000 /dev/zero > /big";
    d.berth(&["run", "--name", &big, "busybox", "sh", "-c", write])
        .ok();
    assert!(
        berth(&["ps", "-a", "--format", "{{.Names}} {{.Size}}"])
            .contains(&format!("{big} 3MB (virtual 4.98MB)\n"))
    );
    let header = berth(&["ps", "-a", "-s"])
        .lines()
        .next()
        .unwrap()
        .to_string();
    assert!(
        header.contains("NAMES ") && header.ends_with(" SIZE"),
        "{header}"
    );
    let sizes = berth(&["inspect", "-s", "-f", "{{.SizeRw}} {{.SizeRootFs}}", &big]);
    assert_eq!(sizes, "3000000 4982472\n");
    let bad = d.berth(&["ps", "--format", "{{.Names"]);
    assert_eq!(bad.code(), 1);
    assert!(
        bad.stderr().contains("failed to parse template"),
        "{}",
        bad.stderr()
    );

    if !berth_e2e::have_docker_cli() {
        return;
    }
    for args in [
        &["ps", "-a"][..],
        &["ps", "-a", "--no-trunc"],
        &["ps", "-a", "-s"],
        &["inspect", "-s", "-f", "{{.SizeRw}} {{.SizeRootFs}}", &big],
        &["ps", "-a", "--format", "{{json .}}"],
        &[
            "ps",
            "-a",
            "--format",
            r"table {{.ID}}\t{{.Names}}\t{{.Labels}}\t{{.State}}",
        ],
        &[
            "ps",
            "--format",
            "{{.Command}} {{.Ports}} {{.Mounts}} {{.Size}}",
        ],
        &["container", "ls", "-a", "--format", "{{.Names}}"],
        &["images"],
        &["images", "--digests"],
        &["top", &a],
        &["system", "df"],
        &["history", "busybox"],
        &["images", "--format", "{{json .}}"],
        &[
            "images",
            "--format",
            r"table {{.Repository}}\t{{.Size}}\t{{.VirtualSize}}\t{{.CreatedAt}}",
        ],
    ] {
        let docker = d.docker(args);
        docker.ok();
        // The CREATED columns count seconds: compare within the same second or retry.
        let same = berth_e2e::eventually(10, || d.docker(args).stdout() == berth(args));
        assert!(
            same,
            "{args:?}:\ndocker:\n{}berth:\n{}",
            d.docker(args).stdout(),
            berth(args)
        );
    }
}
