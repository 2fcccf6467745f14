//! `cp` (the archive API) with `berth` and the docker CLI: both directions, running and
//! stopped containers, the docker CLI's naming rules, and paths or archives that try to
//! reach outside the container.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::path::Path;
use std::process::Stdio;

use berth_e2e::{Daemon, unique};

const SETUP: &str = "mkdir -p /d/sub && echo hi > /d/f && ln /d/f /d/sub/f2 && ln -s /d /ln && ln -s /etc/passwd /d/pw";

/// Sorted `find` of `dir` (relative names; symlinks with their targets).
fn tree(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
            let md = std::fs::symlink_metadata(&p).unwrap();
            if md.file_type().is_symlink() {
                out.push(format!(
                    "{rel} -> {}",
                    std::fs::read_link(&p).unwrap().display()
                ));
            } else if md.is_dir() {
                out.push(format!("{rel}/"));
                stack.push(p);
            } else {
                out.push(format!(
                    "{rel} {}",
                    std::fs::read_to_string(&p).unwrap().trim()
                ));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn cp_both_ways_like_docker() {
    let Some(d) = Daemon::with_busybox() else {
        return;
    };
    for docker in berth_e2e::clis() {
        let cp = |args: &[&str]| {
            let mut all = vec!["cp"];
            all.extend_from_slice(args);
            d.cli(docker, &all)
        };
        let c = unique("cp");
        let keep_up = format!("{SETUP} && echo up && sleep 1000");
        d.cli(
            docker,
            &["run", "-d", "--name", &c, "busybox", "sh", "-c", &keep_up],
        )
        .ok();
        let up = || d.berth(&["logs", &c]).stdout() == "up\n";
        assert!(berth_e2e::eventually(30, up));
        let out = tempfile::tempdir().unwrap();
        let o = |p: &str| out.path().join(p).to_string_lossy().into_owned();

        // Out of the container.
        cp(&[&format!("{c}:/d"), &o("d1")]).ok();
        cp(&[&format!("{c}:/d/."), &o("d2")]).ok();
        cp(&[&format!("{c}:/d/f"), &format!("{}/", out.path().display())]).ok();
        cp(&[&format!("{c}:/ln"), &o("ln")]).ok();
        cp(&["-L", &format!("{c}:/ln"), &o("lnL")]).ok();
        std::fs::create_dir(o("exist")).unwrap();
        cp(&[&format!("{c}:/d"), &o("exist")]).ok();
        let missing = cp(&[&format!("{c}:/nope"), &o("x")]);
        assert_eq!(missing.code(), 1);
        assert!(
            missing
                .stderr()
                .contains(&format!("Could not find the file /nope in container {c}")),
            "docker={docker}: {}",
            missing.stderr()
        );
        assert_eq!(
            tree(out.path()),
            [
                "d1/",
                "d1/f hi",
                "d1/pw -> /etc/passwd",
                "d1/sub/",
                "d1/sub/f2 hi",
                "d2/",
                "d2/f hi",
                "d2/pw -> /etc/passwd",
                "d2/sub/",
                "d2/sub/f2 hi",
                "exist/",
                "exist/d/",
                "exist/d/f hi",
                "exist/d/pw -> /etc/passwd",
                "exist/d/sub/",
                "exist/d/sub/f2 hi",
                "f hi",
                "ln -> /d",
                "lnL/",
                "lnL/f hi",
                "lnL/pw -> /etc/passwd",
                "lnL/sub/",
                "lnL/sub/f2 hi",
            ],
            "docker={docker}"
        );
        // `-` writes the archive itself.
        let tar = d
            .cli_command(docker)
            .args(["cp", &format!("{c}:/d"), "-"])
            .output()
            .unwrap();
        assert!(tar.status.success());
        let mut names: Vec<String> = tar::Archive::new(&tar.stdout[..])
            .entries()
            .unwrap()
            .map(|e| String::from_utf8_lossy(&e.unwrap().path_bytes()).into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["d/", "d/f", "d/pw", "d/sub/", "d/sub/f2"]);
        // The two names of one file are still one file.
        let ino = |p: &str| std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(o(p)).unwrap());
        assert_eq!(ino("d1/f"), ino("d1/sub/f2"), "docker={docker}");

        // Into the container.
        let src = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(src.path().join("hd/x")).unwrap();
        std::fs::write(src.path().join("hd/x/y"), "y\n").unwrap();
        std::fs::write(src.path().join("hf"), "host\n").unwrap();
        let s = |p: &str| src.path().join(p).to_string_lossy().into_owned();
        cp(&[&s("hf"), &format!("{c}:/d/")]).ok();
        cp(&[&s("hf"), &format!("{c}:/newname")]).ok();
        cp(&[&s("hd"), &format!("{c}:/hd2")]).ok();
        cp(&[&s("hd/."), &format!("{c}:/d/sub")]).ok();
        cp(&[&s("hf"), &format!("{c}:/ln")]).ok(); // through the symlink, into /d
        // A big upload the daemon refuses at once: a clear error, not a broken pipe.
        std::fs::write(src.path().join("big"), vec![7u8; 20 << 20]).unwrap();
        let refused = cp(&[&s("big"), &format!("{c}:/nodir/big")]);
        assert_eq!(refused.code(), 1, "docker={docker}: {}", refused.stderr());
        assert!(
            refused
                .stderr()
                .contains(&format!("Could not find the file /nodir in container {c}")),
            "docker={docker}: {}",
            refused.stderr()
        );
        let no_dir = cp(&[&s("hd"), &format!("{c}:/d/f")]);
        assert_eq!(no_dir.code(), 1);
        assert!(
            no_dir.stderr().contains("cannot copy directory"),
            "{}",
            no_dir.stderr()
        );
        let listing = d.cli(
            docker,
            &[
                "exec",
                &c,
                "sh",
                "-c",
                "cat /d/hf /newname /hd2/x/y /d/sub/x/y; ls /d",
            ],
        );
        assert_eq!(
            listing.stdout(),
            "host\nhost\ny\ny\nf\nhf\npw\nsub\n",
            "docker={docker}"
        );

        // A stopped container: its filesystem both ways, and the change is there at start.
        d.cli(docker, &["stop", "-t", "0", &c]).ok();
        cp(&[&s("hf"), &format!("{c}:/d/while-stopped")]).ok();
        cp(&[&format!("{c}:/newname"), &o("from-stopped")]).ok();
        assert_eq!(
            std::fs::read_to_string(o("from-stopped")).unwrap(),
            "host\n"
        );
        let created = unique("cpcreated");
        d.cli(
            docker,
            &["create", "--name", &created, "busybox", "cat", "/in"],
        )
        .ok();
        cp(&[&s("hf"), &format!("{created}:/in")]).ok();
        assert_eq!(d.cli(docker, &["start", "-a", &created]).stdout(), "host\n");
        d.cli(docker, &["rm", "-f", &c, &created]).ok();
    }
    // Nothing of the stopped containers' mounts is left behind.
    let scratch = d.dir.path().join("run/archive");
    let left: Vec<_> = std::fs::read_dir(&scratch)
        .map(|r| r.count())
        .into_iter()
        .collect();
    assert!(
        left.iter().all(|n| *n == 0),
        "{left:?} left in {}",
        scratch.display()
    );
}

/// Symlinks in the container that point at host paths, and archives with `..` or absolute
/// names: reads and writes stay inside the container (running or stopped).
#[test]
fn cp_stays_inside_the_container() {
    let Some(d) = Daemon::with_busybox() else {
        return;
    };
    let host = tempfile::tempdir().unwrap();
    let marker = host.path().join("secret");
    std::fs::write(&marker, "host secret\n").unwrap();
    let hp = host.path().to_string_lossy().into_owned();
    let c = unique("cpesc");
    // /esc points at the host directory's path, /up climbs with `..`.
    let setup = format!(
        "mkdir -p {hp} && echo container > {hp}/secret && ln -s {hp} /esc && ln -s ../../../../../../{hp} /up && echo up && sleep 1000"
    );
    d.berth(&["run", "-d", "--name", &c, "busybox", "sh", "-c", &setup])
        .ok();
    assert!(berth_e2e::eventually(30, || d
        .berth(&["logs", &c])
        .stdout()
        == "up\n"));
    for running in [true, false] {
        if !running {
            d.berth(&["stop", "-t", "0", &c]).ok();
        }
        for link in ["/esc/secret", "/up/secret"] {
            let out = d.berth(&["cp", &format!("{c}:{link}"), "-"]);
            out.ok();
            let mut a = tar::Archive::new(out.out.stdout.as_slice());
            let mut e = a.entries().unwrap().next().unwrap().unwrap();
            let mut text = String::new();
            std::io::Read::read_to_string(&mut e, &mut text).unwrap();
            // (The first round's writes below changed the container's file.)
            let want = if running {
                "container\n"
            } else {
                "overwritten\n"
            };
            assert_eq!(text, want, "running={running} {link}");
        }
        // Writes through the links land in the container.
        let src = tempfile::tempdir().unwrap();
        std::fs::write(src.path().join("secret"), "overwritten\n").unwrap();
        let s = src.path().join("secret").to_string_lossy().into_owned();
        d.berth(&["cp", &s, &format!("{c}:/esc/")]).ok();
        d.berth(&["cp", &s, &format!("{c}:/up/")]).ok();
        // Hostile archives on stdin: `..`; a symlink to the host path, then a file through
        // it (both refused); an absolute name (taken inside the container's root).
        let file = |name: &[u8]| {
            let mut h = tar::Header::new_gnu();
            h.set_size(4);
            h.set_mode(0o644);
            h.as_old_mut().name[..name.len()].copy_from_slice(name);
            h.set_cksum();
            h
        };
        let dotdot = {
            let mut tar = tar::Builder::new(Vec::new());
            tar.append(&file(b"../../escape"), &b"bad\n"[..]).unwrap();
            tar.into_inner().unwrap()
        };
        let through_link = {
            let mut tar = tar::Builder::new(Vec::new());
            let mut link = tar::Header::new_gnu();
            link.set_entry_type(tar::EntryType::Symlink);
            link.set_size(0);
            link.set_mode(0o777);
            link.set_link_name(&hp).unwrap();
            link.set_path("hostlink").unwrap();
            link.set_cksum();
            tar.append(&link, std::io::empty()).unwrap();
            tar.append(&file(b"hostlink/secret"), &b"bad\n"[..])
                .unwrap();
            tar.into_inner().unwrap()
        };
        let absolute = {
            let mut tar = tar::Builder::new(Vec::new());
            tar.append(&file(b"/abs-escape"), &b"bad\n"[..]).unwrap();
            tar.into_inner().unwrap()
        };
        let put = |data: &[u8]| {
            let mut child = d
                .cli_command(false)
                .args(["cp", "-", &format!("{c}:/")])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            child.stdin.take().unwrap().write_all(data).unwrap();
            child.wait_with_output().unwrap()
        };
        let refused = put(&dotdot);
        assert!(
            !refused.status.success(),
            "running={running}: `..` accepted"
        );
        assert!(
            String::from_utf8_lossy(&refused.stderr).contains("Error processing tar file"),
            "{}",
            String::from_utf8_lossy(&refused.stderr)
        );
        assert!(!put(&through_link).status.success(), "running={running}");
        assert!(put(&absolute).status.success(), "running={running}");
        assert!(!Path::new("/abs-escape").exists());
        assert_eq!(
            std::fs::read_to_string(&marker).unwrap(),
            "host secret\n",
            "running={running}"
        );
        assert_eq!(std::fs::read_dir(host.path()).unwrap().count(), 1);
        assert!(!Path::new("/escape").exists() && !Path::new("/tmp/escape").exists());
        let abs = d.berth(&["cp", &format!("{c}:/abs-escape"), "-"]);
        assert_eq!(
            abs.code(),
            0,
            "running={running}: the absolute name is inside"
        );
    }
    // What was written through the links is the container's own file.
    let out = d.berth(&["cp", &format!("{c}:{hp}/secret"), "-"]);
    let mut a = tar::Archive::new(out.out.stdout.as_slice());
    let mut e = a.entries().unwrap().next().unwrap().unwrap();
    let mut text = String::new();
    std::io::Read::read_to_string(&mut e, &mut text).unwrap();
    assert_eq!(text, "overwritten\n");
    d.berth(&["rm", "-f", &c]).ok();
}
