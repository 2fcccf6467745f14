//! `rename` and `container prune` with `berth` and the docker CLI: Docker's checks and
//! messages, events, and what prune leaves alone.
#![allow(clippy::unwrap_used)]

use berth_e2e::{Daemon, unique};

#[test]
fn rename_checks_like_docker() {
    let Some(d) = Daemon::with_busybox() else {
        return;
    };
    for docker in berth_e2e::clis() {
        let (a, b, c) = (unique("rena"), unique("renb"), unique("renc"));
        let t0 = berth_e2e::now_unix();
        d.cli(
            docker,
            &["run", "-d", "--name", &a, "busybox", "sleep", "1000"],
        )
        .ok();
        d.cli(docker, &["create", "--name", &b, "busybox", "true"])
            .ok();
        let fails = |args: &[&str], message: &str| {
            let out = d.cli(docker, args);
            assert_eq!(out.code(), 1, "docker={docker} {args:?}");
            assert!(
                out.stderr().contains(message),
                "docker={docker}: {}",
                out.stderr()
            );
            assert!(
                out.stderr().contains("failed to rename container named"),
                "docker={docker}: {}",
                out.stderr()
            );
        };
        fails(&["rename", &a, &a], "same name as its current name");
        fails(
            &["rename", &a, &b],
            &format!("The container name \"/{b}\" is already in use"),
        );
        fails(
            &["rename", &a, "bad name"],
            "Invalid container name (/bad name)",
        );
        fails(&["rename", &unique("nope"), &c], "No such container");
        // A running container is renamed; its old name is free again.
        d.cli(docker, &["rename", &a, &c]).ok();
        let name = d.cli(docker, &["inspect", "-f", "{{.Name}}", &c]);
        assert_eq!(name.stdout().trim(), format!("/{c}"));
        assert_ne!(d.cli(docker, &["inspect", &a]).code(), 0);
        d.cli(docker, &["create", "--name", &a, "busybox", "true"])
            .ok();
        let t1 = berth_e2e::now_unix();
        let events = d.cli(
            docker,
            &[
                "events",
                "--since",
                &t0,
                "--until",
                &t1,
                "--filter",
                "event=rename",
                "--format",
                "{{.Actor.Attributes.oldName}} {{.Actor.Attributes.name}}",
            ],
        );
        assert_eq!(events.stdout(), format!("/{a} {c}\n"), "docker={docker}");
        d.cli(docker, &["rm", "-f", &a, &b, &c]).ok();
    }
    // Survives a daemon restart (the record is saved).
    let mut d = d;
    let (x, y) = (unique("renx"), unique("reny"));
    d.berth(&["create", "--name", &x, "busybox", "true"]).ok();
    d.berth(&["rename", &x, &y]).ok();
    d.kill9_and_restart();
    assert_eq!(
        d.berth(&["ps", "-a", "--format", "{{.Names}}"]).stdout(),
        format!("{y}\n")
    );
}

#[test]
fn container_prune_removes_only_stopped_ones() {
    let Some(d) = Daemon::with_busybox() else {
        return;
    };
    for docker in berth_e2e::clis() {
        let (up, paused, done, kept, made) = (
            unique("prup"),
            unique("prpaused"),
            unique("prdone"),
            unique("prkept"),
            unique("prmade"),
        );
        for n in [&up, &paused] {
            d.cli(
                docker,
                &["run", "-d", "--name", n, "busybox", "sleep", "1000"],
            )
            .ok();
        }
        d.cli(docker, &["pause", &paused]).ok();
        let big = "head -c 3000000 /dev/zero > /f";
        d.cli(
            docker,
            &["run", "--name", &done, "busybox", "sh", "-c", big],
        )
        .ok();
        d.cli(
            docker,
            &["create", "--name", &kept, "-l", "keep=1", "busybox", "true"],
        )
        .ok();
        d.cli(docker, &["create", "--name", &made, "busybox", "true"])
            .ok();
        let id = |n: &str| {
            d.cli(docker, &["inspect", "-f", "{{.Id}}", n])
                .stdout()
                .trim()
                .to_string()
        };
        let (done_id, made_id) = (id(&done), id(&made));

        let bad = d.cli(docker, &["container", "prune", "-f", "--filter", "nope=1"]);
        assert_eq!(bad.code(), 1);
        assert!(
            bad.stderr().contains("Invalid filter 'nope'"),
            "{}",
            bad.stderr()
        );

        let out = d.cli(
            docker,
            &["container", "prune", "-f", "--filter", "label!=keep"],
        );
        out.ok();
        let text = out.stdout();
        assert!(
            text.starts_with("Deleted Containers:\n"),
            "docker={docker}: {text}"
        );
        let mut deleted: Vec<&str> = text.lines().skip(1).take_while(|l| !l.is_empty()).collect();
        deleted.sort();
        let mut want = [done_id.as_str(), made_id.as_str()];
        want.sort();
        assert_eq!(deleted, want, "docker={docker}");
        assert!(
            text.ends_with("Total reclaimed space: 3MB\n"),
            "docker={docker}: {text}"
        );
        let mut left: Vec<String> = d
            .cli(docker, &["ps", "-a", "--format", "{{.Names}}"])
            .stdout()
            .lines()
            .map(str::to_string)
            .collect();
        left.sort();
        let mut expect = vec![up.clone(), paused.clone(), kept.clone()];
        expect.sort();
        assert_eq!(left, expect, "docker={docker}");
        d.cli(docker, &["unpause", &paused]).ok();
        d.cli(docker, &["rm", "-f", &up, &paused, &kept]).ok();
    }
}

/// `system prune`: stopped containers and dangling images go (with `-a`, every image no
/// container uses); running containers and their images stay. `berth container VERB`
/// is `berth VERB`.
#[test]
fn system_prune_removes_stopped_containers_and_dangling_images() {
    let Some(d) = Daemon::with_busybox() else {
        return;
    };
    for docker in berth_e2e::clis() {
        let (up, done) = (unique("sysup"), unique("sysdone"));
        d.cli(
            docker,
            &["run", "-d", "--name", &up, "busybox", "sleep", "1000"],
        )
        .ok();
        d.cli(
            docker,
            &["run", "--name", &done, "busybox", "sh", "-c", "echo x > /x"],
        )
        .ok();
        // A dangling image: a commit without a name.
        let dangling = d.cli(docker, &["commit", &done]);
        dangling.ok();
        let dangling = dangling.stdout().trim().to_string();
        let out = d.cli(docker, &["system", "prune", "-f"]);
        out.ok();
        let text = out.stdout();
        assert!(
            text.contains("Deleted Containers:\n"),
            "docker={docker}: {text}"
        );
        assert!(
            text.contains(&format!("deleted: {dangling}")),
            "docker={docker}: {text}"
        );
        let ps = d.cli(docker, &["ps", "-a", "--format", "{{.Names}}"]);
        assert_eq!(ps.stdout(), format!("{up}\n"), "docker={docker}");
        // -a: busybox stays, in use by the running container.
        d.cli(docker, &["system", "prune", "-a", "-f"]).ok();
        assert_eq!(
            d.cli(docker, &["images", "--format", "{{.Repository}}"])
                .stdout(),
            "busybox\n"
        );
        d.cli(docker, &["rm", "-f", &up]).ok();
    }
    let c = unique("alias");
    d.berth(&[
        "container",
        "run",
        "--name",
        &c,
        "busybox",
        "echo",
        "via container",
    ])
    .ok();
    assert_eq!(
        d.berth(&["container", "logs", &c]).stdout(),
        "via container\n"
    );
    d.berth(&["container", "rm", &c]).ok();
}
