//! `--tmpfs` and `--mount` (bind, tmpfs) with `berth` and the docker CLI: what the container
//! sees, `inspect`'s `Mounts`, and Docker's errors for bad ones.
#![allow(clippy::unwrap_used)]

use berth_e2e::{Daemon, unique};

#[test]
fn tmpfs_and_mount_flags_like_docker() {
    let Some(d) = Daemon::with_busybox() else {
        return;
    };
    let host = tempfile::tempdir().unwrap();
    std::fs::write(host.path().join("f"), "hf\n").unwrap();
    let hp = host.path().to_string_lossy().into_owned();
    for docker in berth_e2e::clis() {
        let bind = format!("type=bind,src={hp},dst=/b,readonly");
        let script = "grep -E ' /(t|u|m|b) ' /proc/mounts | cut -d' ' -f2-4 | sort; \
             cat /b/f; touch /b/x 2>/dev/null || echo ro; \
             head -c 2000000 /dev/zero > /t/big 2>/dev/null || echo full";
        let out = d.cli(
            docker,
            &[
                "run",
                "--rm",
                "--tmpfs",
                "/t:size=1m",
                "--tmpfs",
                "/u",
                "--mount",
                "type=tmpfs,dst=/m,tmpfs-size=2m,tmpfs-mode=1770",
                "--mount",
                &bind,
                "busybox",
                "sh",
                "-c",
                script,
            ],
        );
        out.ok();
        let text = out.stdout();
        let lines: Vec<&str> = text.lines().map(str::trim).collect();
        let mounts = &lines[..4];
        // The bind: the host directory's filesystem, read-only.
        assert!(mounts[0].starts_with("/b "), "{mounts:?}");
        assert!(
            mounts[0].split(' ').nth(2).unwrap().starts_with("ro,"),
            "{mounts:?}"
        );
        assert_eq!(
            mounts[1],
            "/m tmpfs rw,nosuid,nodev,noexec,relatime,size=2048k,mode=1770"
        );
        assert_eq!(
            mounts[2],
            "/t tmpfs rw,nosuid,nodev,noexec,relatime,size=1024k"
        );
        assert_eq!(mounts[3], "/u tmpfs rw,nosuid,nodev,noexec,relatime");
        assert_eq!(lines[4..], ["hf", "ro", "full"], "docker={docker}");

        // inspect: Mounts as Docker lists them (binds and --mount, not --tmpfs).
        let c = unique("mnt");
        let ro_bind = format!("{hp}:/v:ro");
        d.cli(
            docker,
            &[
                "create",
                "--name",
                &c,
                "--tmpfs",
                "/t:size=1m",
                "--mount",
                "type=tmpfs,dst=/m,tmpfs-size=2m",
                "--mount",
                &bind,
                "-v",
                &ro_bind,
                "busybox",
                "true",
            ],
        )
        .ok();
        let listed = d.cli(docker, &["inspect", "-f", "{{json .Mounts}}", &c]);
        // In no particular order (dockerd's comes from a map): by destination here.
        let mut listed: Vec<serde_json::Value> =
            serde_json::from_str(listed.stdout().trim()).unwrap();
        listed.sort_by_key(|m| m["Destination"].as_str().unwrap_or("").to_string());
        assert_eq!(
            serde_json::Value::from(listed),
            serde_json::json!([
                {"Type": "bind", "Source": hp, "Destination": "/b", "Mode": "", "RW": false, "Propagation": "rprivate"},
                {"Type": "tmpfs", "Source": "", "Destination": "/m", "Mode": "", "RW": true, "Propagation": ""},
                {"Type": "bind", "Source": hp, "Destination": "/v", "Mode": "ro", "RW": false, "Propagation": "rprivate"},
            ]),
            "docker={docker}"
        );
        d.cli(docker, &["rm", &c]).ok();

        for (args, message) in [
            (
                &["-v", "vv:/x:rshared"][..],
                "invalid volume specification: 'vv:/x:rshared': invalid mount config for type \"volume\": field BindOptions must not be specified",
            ),
            (
                &[
                    "--mount",
                    "type=bind,src=/tmp,dst=/x,bind-propagation=bogus",
                ],
                "invalid mount config for type \"bind\": invalid propagation mode: bogus",
            ),
            (
                &["--mount", "type=bind,src=/nonexistent-berth,dst=/x"],
                "bind source path does not exist: /nonexistent-berth",
            ),
            (
                &["--mount", "type=foo,dst=/x"],
                "invalid mount config for type \"foo\": mount type unknown",
            ),
            (
                &["--tmpfs", "relative"],
                "invalid mount path: 'relative' mount path must be absolute",
            ),
            (
                &["--tmpfs", "/x", "-v", "/tmp:/x"],
                "Duplicate mount point: /x",
            ),
        ] {
            let mut all = vec!["run", "--rm"];
            all.extend_from_slice(args);
            all.extend_from_slice(&["busybox", "true"]);
            let out = d.cli(docker, &all);
            assert_eq!(out.code(), 125, "docker={docker} {args:?}");
            assert!(
                out.stderr().contains(message),
                "docker={docker}: {}",
                out.stderr()
            );
        }
    }
}

/// A mount's destination is resolved inside the container's tree: an image whose `/trap`
/// is a symlink to `/` cannot make a bind mount of `/trap/<host path>` create or cover
/// that path on the host (a hostile image, or a volume holding the same trap). Without
/// the resolution the directory appeared on the host and the mount landed outside the
/// container.
#[test]
fn mount_destinations_resolve_symlinks_inside_the_container() {
    let Some(d) = Daemon::with_busybox() else {
        return;
    };
    let maker = unique("trap-maker-");
    d.berth(&["run", "--name", &maker, "busybox", "ln", "-s", "/", "/trap"])
        .ok();
    let image = unique("trap-image-").to_lowercase();
    d.berth(&["commit", &maker, &image]).ok();
    d.berth(&["rm", &maker]).ok();
    let src = tempfile::tempdir().unwrap();
    std::fs::write(src.path().join("f"), "from the host\n").unwrap();
    // Where the trap would lead on the host: a path that must not appear.
    let escape = format!("/tmp/{}", unique("berth-escape-"));
    assert!(!std::path::Path::new(&escape).exists());
    for docker in berth_e2e::clis() {
        let bind = format!("{}:/trap{escape}", src.path().display());
        let out = d.cli(
            docker,
            &[
                "run",
                "--rm",
                "-v",
                &bind,
                &image,
                "cat",
                &format!("{escape}/f"),
            ],
        );
        let host_side = std::path::Path::new(&escape).exists();
        let _ = std::fs::remove_dir(&escape);
        assert!(
            !host_side,
            "{docker}: the mount point was made on the host at {escape}"
        );
        out.ok();
        assert_eq!(out.stdout(), "from the host\n", "{docker}");
    }
    d.berth(&["rmi", &image]).ok();
}

/// Unmounts (lazily) what a test mounted on the host, failures included.
struct HostMounts(Vec<std::path::PathBuf>);

impl Drop for HostMounts {
    fn drop(&mut self) {
        for p in self.0.iter().rev() {
            let _ = std::process::Command::new("umount")
                .arg("-l")
                .arg(p)
                .status();
        }
    }
}

/// The marker the host wrote into its last `sub` mount of the slave part.
fn sub_marker(src: &std::path::Path) -> std::path::PathBuf {
    src.join("subfalse").join("marker")
}

fn host_mount_tmpfs(at: &std::path::Path, mounts: &mut HostMounts) {
    std::fs::create_dir_all(at).unwrap();
    let ok = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "tmpfs"])
        .arg(at)
        .status()
        .unwrap();
    assert!(ok.success());
    mounts.0.push(at.to_path_buf());
}

#[test]
fn slave_and_shared_binds_propagate_mounts() {
    let Some(d) = Daemon::with_busybox() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    let mut mounts = HostMounts(Vec::new());
    // The source: a shared mount of the test's own (the host's / may be private).
    host_mount_tmpfs(&src, &mut mounts);
    let shared = std::process::Command::new("mount")
        .arg("--make-shared")
        .arg(&src)
        .status()
        .unwrap();
    assert!(shared.success());
    let src_s = src.to_str().unwrap();
    for docker in berth_e2e::clis() {
        let (slave, private) = (unique("slave"), unique("priv"));
        d.cli(
            docker,
            &[
                "run",
                "-d",
                "--name",
                &slave,
                "--mount",
                &format!("type=bind,src={src_s},dst=/h,bind-propagation=rslave"),
                "busybox",
                "sleep",
                "1000",
            ],
        )
        .ok();
        d.cli(
            docker,
            &[
                "run",
                "-d",
                "--name",
                &private,
                "-v",
                &format!("{src_s}:/h"),
                "busybox",
                "sleep",
                "1000",
            ],
        )
        .ok();
        let props = d
            .cli(
                docker,
                &[
                    "inspect",
                    "-f",
                    "{{range .Mounts}}{{.Propagation}}{{end}}",
                    &slave,
                    &private,
                ],
            )
            .ok()
            .stdout();
        assert_eq!(props, "rslave\nrprivate\n");
        // A mount the host makes below the source after the start.
        let sub = src.join(format!("sub{docker}"));
        host_mount_tmpfs(&sub, &mut mounts);
        std::fs::write(sub.join("marker"), "from the host's new mount\n").unwrap();
        let path = format!("/h/sub{docker}/marker");
        let seen = d.cli(docker, &["exec", &slave, "cat", &path]);
        seen.ok();
        assert_eq!(seen.stdout(), "from the host's new mount\n");
        // The rprivate bind has the directory, not what is mounted on it.
        assert_ne!(d.cli(docker, &["exec", &private, "cat", &path]).code(), 0);
        d.cli(docker, &["rm", "-f", &slave, &private]).ok();
    }
    // A non-recursive bind has the directory below, not what the host mounted on it.
    for docker in berth_e2e::clis() {
        let cat = |mount: &str| {
            d.cli(
                docker,
                &[
                    "run",
                    "--rm",
                    "--mount",
                    mount,
                    "busybox",
                    "cat",
                    "/h/subfalse/marker",
                ],
            )
        };
        let recursive = cat(&format!("type=bind,src={src_s},dst=/h"));
        recursive.ok();
        assert_eq!(recursive.stdout(), "from the host's new mount\n");
        let flat = cat(&format!(
            "type=bind,src={src_s},dst=/h,bind-recursive=disabled"
        ));
        assert_ne!(flat.code(), 0, "{}", flat.stdout());
        assert!(flat.stderr().contains("No such file"), "{}", flat.stderr());
    }
    // A slave bind of a path on a private mount: dockerd's message, no container left
    // running.
    let private_dir = dir.path().join("plain");
    std::fs::create_dir_all(&private_dir).unwrap();
    let refused = d.docker_or_berth(&[
        "run",
        "--rm",
        "--mount",
        &format!(
            "type=bind,src={},dst=/h,bind-propagation=slave",
            private_dir.display()
        ),
        "busybox",
        "true",
    ]);
    assert_ne!(refused.code(), 0);
    assert!(
        refused
            .stderr()
            .contains("but it is not a shared or slave mount"),
        "{}",
        refused.stderr()
    );
    // Shared: what a (privileged) container mounts below the bind reaches the host.
    for docker in berth_e2e::clis() {
        let inner = src.join(format!("inner{docker}"));
        std::fs::create_dir_all(&inner).unwrap();
        mounts.0.push(inner.clone());
        let script = format!(
            "mount -t tmpfs tmpfs /h/inner{docker} && echo from-the-container > /h/inner{docker}/f"
        );
        d.cli(
            docker,
            &[
                "run",
                "--rm",
                "--privileged",
                "-v",
                &format!("{src_s}:/h:rshared"),
                "busybox",
                "sh",
                "-c",
                &script,
            ],
        )
        .ok();
        assert_eq!(
            std::fs::read_to_string(inner.join("f")).unwrap(),
            "from-the-container\n"
        );
    }
    // A shared bind of a path on a private mount: dockerd's message.
    let refused = d.docker_or_berth(&[
        "run",
        "--rm",
        "-v",
        &format!("{}:/h:rshared", private_dir.display()),
        "busybox",
        "true",
    ]);
    assert_ne!(refused.code(), 0);
    assert!(
        refused.stderr().contains("but it is not a shared mount"),
        "{}",
        refused.stderr()
    );
    // The host's own mounts are all still there (the containers' exits unmounted
    // nothing of the host's through the shared peers).
    assert!(std::fs::read_to_string(sub_marker(&src)).is_ok());
    drop(mounts);
}
