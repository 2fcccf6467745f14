//! Volumes and mounts (issue 14) with `berth` and the docker CLI: named volumes that
//! outlive containers and daemon restarts, copy-up of image content, anonymous volumes
//! and their cleanup, read-only and tmpfs mounts, `--volumes-from`, Berth's export,
//! import and clone, the symlink trap, bad input with dockerd's messages, events and
//! filters. Each test's daemon keeps its volumes under its own data root.
#![allow(clippy::unwrap_used)]

use berth_e2e::{Daemon, unique};

/// The names `volume ls -q` prints.
fn volumes(d: &Daemon) -> Vec<String> {
    d.berth(&["volume", "ls", "-q"])
        .ok()
        .stdout()
        .lines()
        .map(str::to_string)
        .collect()
}

/// The volume names a container's `Mounts` list.
fn mount_names(d: &Daemon, c: &str) -> Vec<String> {
    let out = d.berth(&["inspect", "-f", "{{json .Mounts}}", c]);
    let v: serde_json::Value = serde_json::from_str(out.ok().stdout().trim()).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["Name"].as_str().map(str::to_string))
        .collect()
}

/// Data written by one container is read by the next; a volume in use (by a running or
/// a stopped container) is not removed, with dockerd's 409; it survives a kill -9 of the
/// daemon and a restart while a container holds it; `inspect` shows what dockerd shows.
#[test]
fn named_volumes_outlive_containers_and_daemons() {
    let Some(mut d) = Daemon::with_busybox() else {
        return;
    };
    for docker in berth_e2e::clis() {
        let vol = unique("vol-");
        let bind = format!("{vol}:/data");
        d.cli(
            docker,
            &[
                "run",
                "--rm",
                "-v",
                &bind,
                "busybox",
                "sh",
                "-c",
                "echo kept > /data/f",
            ],
        )
        .ok();
        let out = d.cli(
            docker,
            &["run", "--rm", "-v", &bind, "busybox", "cat", "/data/f"],
        );
        assert_eq!(out.ok().stdout(), "kept\n", "docker={docker}");
        let info = d.cli(docker, &["volume", "inspect", &vol]);
        let info: serde_json::Value = serde_json::from_str(&info.ok().stdout()).unwrap();
        let mountpoint = d.data_root().join("volumes").join(&vol).join("_data");
        assert_eq!(info[0]["Name"], vol.as_str());
        assert_eq!(info[0]["Driver"], "local");
        assert_eq!(info[0]["Scope"], "local");
        assert_eq!(info[0]["Labels"], serde_json::Value::Null);
        assert_eq!(info[0]["Mountpoint"], mountpoint.to_str().unwrap());
        assert_eq!(
            std::fs::read_to_string(mountpoint.join("f")).unwrap(),
            "kept\n"
        );

        // A running container holds it through a kill -9 of the daemon and a restart.
        let c = unique("holder-");
        d.cli(
            docker,
            &[
                "run", "-d", "--name", &c, "-v", &bind, "busybox", "sleep", "300",
            ],
        )
        .ok();
        let listed = d.cli(docker, &["inspect", "-f", "{{json .Mounts}}", &c]);
        let listed: serde_json::Value = serde_json::from_str(listed.ok().stdout().trim()).unwrap();
        assert_eq!(
            listed,
            serde_json::json!([{"Type": "volume", "Name": vol, "Source": mountpoint,
                "Destination": "/data", "Driver": "local", "Mode": "z", "RW": true,
                "Propagation": ""}]),
            "docker={docker}"
        );
        d.kill9_and_restart();
        let out = d.cli(docker, &["volume", "rm", &vol]);
        assert_eq!(out.code(), 1, "docker={docker}");
        assert!(
            out.stderr()
                .contains(&format!("remove {vol}: volume is in use")),
            "docker={docker}: {}",
            out.stderr()
        );
        d.cli(docker, &["exec", &c, "sh", "-c", "echo more >> /data/f"])
            .ok();
        d.cli(docker, &["stop", "-t", "0", &c]).ok();
        // Stopped, the container still references it.
        assert_eq!(d.cli(docker, &["volume", "rm", &vol]).code(), 1);
        d.restart();
        assert_eq!(d.cli(docker, &["volume", "rm", &vol]).code(), 1);
        d.cli(docker, &["rm", "-v", &c]).ok();
        // `rm -v` never removes a named volume.
        let out = d.cli(
            docker,
            &["run", "--rm", "-v", &bind, "busybox", "cat", "/data/f"],
        );
        assert_eq!(out.ok().stdout(), "kept\nmore\n", "docker={docker}");
        d.cli(docker, &["volume", "rm", &vol]).ok();
        assert!(!volumes(&d).contains(&vol));
        assert!(!mountpoint.exists());
    }
}

/// A new volume mounted where the image has content is first filled with it, owners,
/// modes, symlinks and hard links kept; `nocopy` leaves it empty; a volume that already
/// has content is not filled again; an image's `VOLUME` makes an anonymous volume that
/// gets the image's content too.
#[test]
fn copy_up_fills_new_volumes_from_the_image() {
    let Some(d) = Daemon::with_busybox() else {
        return;
    };
    d.load("layers-test.docker.tar");
    let listing = "ls -ln /opt | tail -n +2 | awk '{print $1, $3, $NF}'; stat -c '%u' /home/app";
    for docker in berth_e2e::clis() {
        let vol = unique("opt-");
        let home = unique("home-");
        let run = |image: &str, extra: &[&str], cmd: &str| {
            let opt = format!("{vol}:/opt");
            let app = format!("{home}:/home/app");
            let mut args = vec!["run", "--rm", "--entrypoint", "sh", "-u", "0", "-v", &opt];
            args.extend_from_slice(&["-v", &app]);
            args.extend_from_slice(extra);
            args.extend_from_slice(&[image, "-c", cmd]);
            d.cli(docker, &args).ok().stdout()
        };
        let image_view = d
            .cli(
                docker,
                &[
                    "run",
                    "--rm",
                    "--entrypoint",
                    "sh",
                    "-u",
                    "0",
                    "layers-test:1",
                    "-c",
                    listing,
                ],
            )
            .ok()
            .stdout();
        assert!(image_view.contains("-rw------- 0 mode600"), "{image_view}");
        assert!(image_view.contains("drwxrwxrwt 0 sticky"), "{image_view}");
        assert!(image_view.contains("/opt/keep/file"), "{image_view}");
        assert!(image_view.ends_with("\n1234\n"), "{image_view}");
        // The first use fills the volumes: the same view through them.
        assert_eq!(
            run("layers-test:1", &[], listing),
            image_view,
            "docker={docker}"
        );
        // Seen from another image (whose /opt is empty), the content is the volume's.
        assert_eq!(run("busybox", &[], listing), image_view, "docker={docker}");
        let links = run(
            "busybox",
            &[],
            "stat -c %h /opt/hardlink; readlink /opt/symlink",
        );
        assert_eq!(links, "2\n/opt/keep/file\n");
        // Not filled again once it has content of its own.
        run("busybox", &[], "rm -rf /opt/* && touch /opt/mine");
        assert_eq!(run("layers-test:1", &[], "ls /opt"), "mine\n");

        let empty = format!("{}:/opt:nocopy", unique("nocopy-"));
        let out = d.cli(
            docker,
            &[
                "run",
                "--rm",
                "--entrypoint",
                "ls",
                "-v",
                &empty,
                "layers-test:1",
                "-A",
                "/opt",
            ],
        );
        assert_eq!(out.ok().stdout(), "", "docker={docker}");

        // The image's VOLUME /data: an anonymous volume, listed, with the image's (empty)
        // directory's owner.
        let c = unique("anon-");
        d.cli(docker, &["create", "--name", &c, "layers-test:1"])
            .ok();
        let names = mount_names(&d, &c);
        assert_eq!(names.len(), 1, "{names:?}");
        assert_eq!(names[0].len(), 64);
        assert!(volumes(&d).contains(&names[0]));
        d.cli(docker, &["rm", "-v", &c]).ok();
        assert!(!volumes(&d).contains(&names[0]));
    }
}

/// `:ro` volumes refuse writes, `--read-only` roots keep writable mounts writable, a tmpfs
/// is empty at each start and holds no more than its size, `--volumes-from` gives another
/// container's volumes and binds (read-only with `:ro`).
#[test]
fn read_only_tmpfs_and_volumes_from() {
    let Some(d) = Daemon::with_busybox() else {
        return;
    };
    let host = tempfile::tempdir().unwrap();
    std::fs::write(host.path().join("h"), "host\n").unwrap();
    for docker in berth_e2e::clis() {
        let vol = unique("ro-");
        let rw = format!("{vol}:/data");
        let ro = format!("{vol}:/data:ro");
        d.cli(
            docker,
            &["run", "--rm", "-v", &rw, "busybox", "touch", "/data/x"],
        )
        .ok();
        let out = d.cli(
            docker,
            &["run", "--rm", "-v", &ro, "busybox", "touch", "/data/y"],
        );
        assert_ne!(out.code(), 0, "docker={docker}");
        assert!(
            out.stderr().contains("Read-only file system"),
            "{}",
            out.stderr()
        );

        let out = d.cli(
            docker,
            &[
                "run",
                "--rm",
                "--read-only",
                "-v",
                &rw,
                "busybox",
                "sh",
                "-c",
                "touch /data/ok && ! touch /root-write 2>/dev/null && echo fine",
            ],
        );
        assert_eq!(out.ok().stdout(), "fine\n", "docker={docker}");

        // tmpfs: empty at each start, size-limited.
        let c = unique("tmpfs-");
        d.cli(
            docker,
            &["run", "--name", &c, "--tmpfs", "/scratch:size=64k", "busybox", "sh", "-c",
              "ls /scratch; echo x > /scratch/left; dd if=/dev/zero of=/scratch/big bs=1k count=200 2>/dev/null || echo full"],
        )
        .ok();
        let first = d.cli(docker, &["logs", &c]).ok().stdout();
        assert_eq!(first, "full\n", "docker={docker}");
        d.cli(docker, &["start", "-a", &c]).ok();
        let second = d.cli(docker, &["logs", &c]).ok().stdout();
        assert_eq!(
            second, "full\nfull\n",
            "docker={docker}: a tmpfs kept its files"
        );
        d.cli(docker, &["rm", &c]).ok();

        // --volumes-from: the volume and the bind of another container.
        let src = unique("src-");
        let bind = format!("{}:/h", host.path().display());
        d.cli(
            docker,
            &["create", "--name", &src, "-v", &rw, "-v", &bind, "busybox"],
        )
        .ok();
        let from = format!("{src}:ro");
        let out = d.cli(
            docker,
            &[
                "run",
                "--rm",
                "--volumes-from",
                &from,
                "busybox",
                "sh",
                "-c",
                "cat /h/h; ls /data; touch /data/z 2>/dev/null || echo refused",
            ],
        );
        assert_eq!(
            out.ok().stdout(),
            "host\nok\nx\nrefused\n",
            "docker={docker}"
        );
        let out = d.cli(
            docker,
            &[
                "run",
                "--rm",
                "--volumes-from",
                &src,
                "busybox",
                "touch",
                "/data/z",
            ],
        );
        out.ok();
        // The source container's volume is in use by it: not removed with `rm -v` of
        // a container that only borrowed it.
        d.cli(docker, &["rm", "-v", &src]).ok();
        assert!(volumes(&d).contains(&vol), "a named volume went with rm -v");
        d.cli(docker, &["volume", "rm", &vol]).ok();
    }
}

/// Anonymous volumes go with `run --rm` and `rm -v`, stay after a plain `rm` (dangling,
/// and `volume prune` takes them), and named volumes are never removed with a container.
#[test]
fn anonymous_volumes_go_with_their_container() {
    let Some(d) = Daemon::with_busybox() else {
        return;
    };
    for docker in berth_e2e::clis() {
        let before = volumes(&d);
        d.cli(
            docker,
            &["run", "--rm", "-v", "/anon", "busybox", "touch", "/anon/f"],
        )
        .ok();
        assert_eq!(volumes(&d), before, "docker={docker}: --rm left a volume");

        let c = unique("keep-");
        let named = unique("named-");
        let spec = format!("{named}:/n");
        d.cli(
            docker,
            &[
                "run", "--name", &c, "-v", "/anon", "-v", &spec, "busybox", "true",
            ],
        )
        .ok();
        let names = mount_names(&d, &c);
        let anon = names.iter().find(|n| **n != named).unwrap().clone();
        d.cli(docker, &["rm", &c]).ok();
        assert!(
            volumes(&d).contains(&anon),
            "plain rm removed the anonymous volume"
        );
        let dangling = d
            .cli(docker, &["volume", "ls", "-q", "--filter", "dangling=true"])
            .ok()
            .stdout();
        assert!(
            dangling.contains(&anon) && dangling.contains(&named),
            "{dangling}"
        );
        d.cli(docker, &["volume", "prune", "-f"]).ok();
        let left = volumes(&d);
        assert!(!left.contains(&anon), "prune kept the anonymous volume");
        // API 1.42+: prune without --all keeps named volumes.
        assert!(left.contains(&named), "prune took a named volume");
        d.cli(docker, &["volume", "rm", &named]).ok();

        let c = unique("rmv-");
        d.cli(
            docker,
            &[
                "run", "--name", &c, "-v", "/anon", "-v", &spec, "busybox", "true",
            ],
        )
        .ok();
        let anon = mount_names(&d, &c)
            .into_iter()
            .find(|n| *n != named)
            .unwrap();
        d.cli(docker, &["rm", "-v", &c]).ok();
        let left = volumes(&d);
        assert!(!left.contains(&anon) && left.contains(&named), "{left:?}");
        d.cli(docker, &["volume", "rm", &named]).ok();
    }
}

/// Berth's own moves: a volume exported to a tar, imported into a new one (owners and
/// modes kept), cloned; an import into a volume with content is refused and changes
/// nothing; a hostile tar (`..`) is refused and leaves no volume behind.
#[test]
fn export_import_and_clone_move_volumes() {
    let Some(d) = Daemon::with_busybox() else {
        return;
    };
    let src = unique("exp-");
    let spec = format!("{src}:/v");
    d.berth(&[
        "run", "--rm", "-v", &spec, "busybox", "sh", "-c",
        "mkdir -p /v/d && echo a > /v/d/a && chown 1234:5678 /v/d/a && chmod 640 /v/d/a && ln -s d/a /v/l",
    ])
    .ok();
    let dir = tempfile::tempdir().unwrap();
    let tar = dir.path().join("v.tar");
    d.berth(&["volume", "export", &src, "-o", tar.to_str().unwrap()])
        .ok();
    let dst = unique("imp-");
    let out = d.berth(&["volume", "import", &dst, tar.to_str().unwrap()]);
    assert_eq!(out.ok().stdout().trim(), dst);
    let show = "stat -c '%u:%g %a %n' /v/d/a; readlink /v/l; cat /v/d/a";
    let view = |vol: &str| {
        let spec = format!("{vol}:/v");
        d.berth(&["run", "--rm", "-v", &spec, "busybox", "sh", "-c", show])
            .ok()
            .stdout()
    };
    let expected = "1234:5678 640 /v/d/a\nd/a\na\n";
    assert_eq!(view(&src), expected);
    assert_eq!(view(&dst), expected);
    let cloned = unique("clone-");
    let out = d.berth(&["volume", "clone", &src, &cloned]);
    assert_eq!(out.ok().stdout().trim(), cloned);
    assert_eq!(view(&cloned), expected);
    // Into a volume with content: refused, nothing changed.
    let out = d.berth(&["volume", "import", &dst, tar.to_str().unwrap()]);
    assert_ne!(out.code(), 0);
    assert!(out.stderr().contains("not empty"), "{}", out.stderr());
    assert_eq!(view(&dst), expected);
    // Export to stdout, import from stdin.
    let piped = d.berth(&["volume", "export", &src]).ok().out.stdout.clone();
    let again = unique("stdin-");
    d.berth_stdin(&["volume", "import", &again, "-"], Some(&piped))
        .ok();
    assert_eq!(view(&again), expected);
    // A hostile archive: refused, no volume left.
    let evil = dir.path().join("evil.tar");
    let mut b = tar::Builder::new(std::fs::File::create(&evil).unwrap());
    let mut h = tar::Header::new_gnu();
    h.set_size(2);
    h.set_mode(0o644);
    h.set_entry_type(tar::EntryType::Regular);
    {
        let name = b"../escape";
        let gnu = h.as_gnu_mut().unwrap();
        gnu.name[..name.len()].copy_from_slice(name);
    }
    h.set_cksum();
    b.append(&h, &b"x\n"[..]).unwrap();
    b.finish().unwrap();
    drop(b);
    let bad = unique("evil-");
    let out = d.berth(&["volume", "import", &bad, evil.to_str().unwrap()]);
    assert_ne!(out.code(), 0);
    assert!(
        !volumes(&d).contains(&bad),
        "a failed import left its volume"
    );
    assert!(!d.data_root().join("volumes").join("escape").exists());
}

/// A symlink a container plants in a volume (`/t/root -> /`) leads the next container's
/// mounts nowhere outside its own root: the mount point is made inside the container.
#[test]
fn a_symlink_in_a_volume_does_not_reach_the_host() {
    let Some(d) = Daemon::with_busybox() else {
        return;
    };
    let host = tempfile::tempdir().unwrap();
    std::fs::write(host.path().join("f"), "host file\n").unwrap();
    for docker in berth_e2e::clis() {
        let vol = unique("trap-");
        let spec = format!("{vol}:/t");
        d.cli(
            docker,
            &[
                "run", "--rm", "-v", &spec, "busybox", "ln", "-s", "/", "/t/root",
            ],
        )
        .ok();
        let escape = format!("/tmp/{}", unique("berth-escape-"));
        let bind = format!("{}:/t/root{escape}", host.path().display());
        let vol2 = format!("{}:/t/root{escape}-vol", unique("trap2-"));
        let out = d.cli(
            docker,
            &[
                "run",
                "--rm",
                "-v",
                &spec,
                "-v",
                &bind,
                "-v",
                &vol2,
                "busybox",
                "sh",
                "-c",
                &format!("cat {escape}/f && touch {escape}-vol/x && echo written"),
            ],
        );
        let leaked = [escape.clone(), format!("{escape}-vol")]
            .iter()
            .any(|p| std::path::Path::new(p).exists());
        let _ = std::fs::remove_dir_all(&escape);
        let _ = std::fs::remove_dir_all(format!("{escape}-vol"));
        assert!(
            !leaked,
            "docker={docker}: a mount point was made on the host"
        );
        assert_eq!(out.ok().stdout(), "host file\nwritten\n", "docker={docker}");
    }
}

/// Bad input gets dockerd's status and message and leaves no volume behind.
#[test]
fn bad_volume_input_is_refused_with_dockers_messages() {
    let Some(d) = Daemon::with_busybox() else {
        return;
    };
    for docker in berth_e2e::clis() {
        let before = volumes(&d);
        let good = format!("{}:/g", unique("never-"));
        for (args, message) in [
            (
                vec!["-v", &good, "-v", "bad/name:/x"],
                "create bad/name: \"bad/name\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path",
            ),
            (
                vec!["-v", &good, "-v", "v5:/x:bogus"],
                "invalid mode: bogus",
            ),
            (
                vec!["-v", "v5:x"],
                "invalid volume specification: 'v5:x': invalid mount config for type \"volume\": invalid mount path: 'x' mount path must be absolute",
            ),
            (
                vec!["-v", "/tmp:/x:nocopy"],
                "invalid mount config for type \"bind\": field VolumeOptions must not be specified",
            ),
            (
                vec!["-v", &good, "-v", "v6:/g"],
                "Duplicate mount point: /g",
            ),
            (
                vec!["-v", &good, "--volumes-from", "nope-nope"],
                "No such container: nope-nope",
            ),
            (
                vec!["--mount", "type=bind,source=/nonexistent-berth,target=/x"],
                "invalid mount config for type \"bind\": bind source path does not exist: /nonexistent-berth",
            ),
        ] {
            let mut all = vec!["run", "--rm"];
            all.extend_from_slice(&args);
            all.extend_from_slice(&["busybox", "true"]);
            let out = d.cli(docker, &all);
            assert_eq!(
                out.code(),
                125,
                "docker={docker} {args:?}: {}",
                out.stderr()
            );
            assert!(
                out.stderr().contains(message),
                "docker={docker} {args:?}: {}",
                out.stderr()
            );
        }
        assert_eq!(
            volumes(&d),
            before,
            "docker={docker}: a refused run left a volume"
        );
        let out = d.cli(docker, &["volume", "create", "-o", "foo=bar", "vw"]);
        assert_eq!(out.code(), 1);
        assert!(
            out.stderr().contains("create vw: invalid option: \"foo\""),
            "{}",
            out.stderr()
        );
        let out = d.cli(docker, &["volume", "create", "-d", "nope", "vx"]);
        assert!(
            out.stderr().contains(
                "create vx: error looking up volume plugin nope: plugin \"nope\" not found"
            ),
            "{}",
            out.stderr()
        );
        let out = d.cli(docker, &["volume", "inspect", "nope"]);
        assert_eq!(out.code(), 1);
        assert!(
            out.stderr().contains("get nope: no such volume"),
            "{}",
            out.stderr()
        );
        assert_eq!(volumes(&d), before);
    }
}

/// Volume events (`create`, `mount`, `unmount`, `destroy`) with dockerd's attributes,
/// `ps --filter volume=`, and `system df -v`'s volume rows.
#[test]
fn volume_events_filters_and_disk_usage() {
    let Some(d) = Daemon::with_busybox() else {
        return;
    };
    let since = berth_e2e::now_unix();
    let vol = unique("ev-");
    let spec = format!("{vol}:/data:ro");
    let c = unique("evc-");
    d.berth(&[
        "run", "--name", &c, "-v", &spec, "busybox", "sh", "-c", "true",
    ])
    .ok();
    let ps = d
        .docker_or_berth(&[
            "ps",
            "-a",
            "--filter",
            &format!("volume={vol}"),
            "--format",
            "{{.Names}}",
        ])
        .ok()
        .stdout();
    assert_eq!(ps.trim(), c);
    let ps = d
        .docker_or_berth(&[
            "ps",
            "-a",
            "--filter",
            "volume=/data",
            "--format",
            "{{.Names}}",
        ])
        .ok()
        .stdout();
    assert_eq!(ps.trim(), c);
    let df = d.docker_or_berth(&["system", "df", "-v"]).ok().stdout();
    let row = df.lines().find(|l| l.starts_with(&vol)).unwrap_or_default();
    assert_eq!(row.split_whitespace().nth(1), Some("1"), "{df}");
    // dockerd sends `create` at each use and at each create of an existing volume.
    d.docker_or_berth(&["volume", "create", &vol]).ok();
    d.berth(&["rm", &c]).ok();
    d.berth(&["volume", "rm", &vol]).ok();
    let until = berth_e2e::now_unix();
    let events = d
        .docker_or_berth(&[
            "events",
            "--since",
            &since,
            "--until",
            &until,
            "--filter",
            "type=volume",
            "--format",
            "{{.Action}} {{.Actor.ID}} {{json .Actor.Attributes}}",
        ])
        .ok()
        .stdout();
    let lines: Vec<&str> = events.lines().collect();
    assert_eq!(lines.len(), 5, "{events}");
    assert_eq!(lines[0], format!("create {vol} {{\"driver\":\"local\"}}"));
    assert!(lines[1].starts_with(&format!("mount {vol} ")), "{events}");
    for attr in [
        "\"destination\":\"/data\"",
        "\"read/write\":\"false\"",
        "\"propagation\":\"\"",
        "\"driver\":\"local\"",
    ] {
        assert!(lines[1].contains(attr), "{attr}: {events}");
    }
    assert!(lines[2].starts_with(&format!("unmount {vol} ")), "{events}");
    assert_eq!(lines[3], format!("create {vol} {{\"driver\":\"local\"}}"));
    assert_eq!(lines[4], format!("destroy {vol} {{\"driver\":\"local\"}}"));
}

/// `docker cp` into a stopped container lands in its volumes (mounted for the copy, as
/// dockerd does), where the container then reads it; writes into a read-only mount or a
/// read-only root are refused with dockerd's messages, running or stopped.
#[test]
fn docker_cp_reaches_a_containers_volumes() {
    let Some(d) = Daemon::with_busybox() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("f");
    std::fs::write(&file, "copied\n").unwrap();
    let file = file.to_str().unwrap();
    for docker in berth_e2e::clis() {
        let (vol, ro, c) = (unique("cpv-"), unique("cpro-"), unique("cpc-"));
        let (rw_spec, ro_spec) = (format!("{vol}:/data"), format!("{ro}:/ro:ro"));
        let create = [
            "create",
            "--name",
            &c,
            "--read-only",
            "-v",
            &rw_spec,
            "-v",
            &ro_spec,
            "busybox",
            "cat",
            "/data/f",
        ];
        d.cli(docker, &create).ok();
        d.cli(docker, &["cp", file, &format!("{c}:/data/")]).ok();
        let out = d.cli(docker, &["cp", file, &format!("{c}:/ro/")]);
        assert_ne!(out.code(), 0);
        assert!(
            out.stderr().contains("mounted volume is marked read-only"),
            "docker={docker}: {}",
            out.stderr()
        );
        let out = d.cli(docker, &["cp", file, &format!("{c}:/")]);
        assert_ne!(out.code(), 0);
        assert!(
            out.stderr()
                .contains("container rootfs is marked read-only"),
            "docker={docker}: {}",
            out.stderr()
        );
        // Read back from the stopped container's volume, then by the container itself.
        let out = d.cli(docker, &["cp", &format!("{c}:/data/f"), "-"]);
        assert!(out.ok().stdout().contains("copied\n"), "docker={docker}");
        let out = d.cli(docker, &["start", "-a", &c]);
        assert_eq!(out.ok().stdout(), "copied\n", "docker={docker}");
        // Running: the read-only mount is refused too.
        let r = unique("cpr-");
        let run = [
            "run", "-d", "--name", &r, "-v", &ro_spec, "busybox", "sleep", "100",
        ];
        d.cli(docker, &run).ok();
        let out = d.cli(docker, &["cp", file, &format!("{r}:/ro/")]);
        assert!(
            out.stderr().contains("mounted volume is marked read-only"),
            "docker={docker}: {}",
            out.stderr()
        );
        d.cli(docker, &["cp", file, &format!("{r}:/tmp/")]).ok();
        d.cli(docker, &["rm", "-f", &r, &c]).ok();
        d.cli(docker, &["volume", "rm", &vol, &ro]).ok();
    }
}
