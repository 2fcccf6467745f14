//! commit, diff, export and import, with `berth` and the real docker CLI.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use berth_e2e::{Daemon, have_docker_cli, skip_unless_root, unique};

/// Entries of a tar: path (without a trailing `/`) → (type, mode, link target).
fn tar_entries(data: &[u8]) -> HashMap<String, (tar::EntryType, u32, String)> {
    let mut a = tar::Archive::new(data);
    let mut out = HashMap::new();
    for e in a.entries().unwrap() {
        let e = e.unwrap();
        let path = String::from_utf8_lossy(&e.path_bytes())
            .trim_end_matches('/')
            .to_string();
        let link = e
            .link_name_bytes()
            .map(|l| String::from_utf8_lossy(&l).into_owned())
            .unwrap_or_default();
        out.insert(
            path,
            (e.header().entry_type(), e.header().mode().unwrap(), link),
        );
    }
    out
}

fn inspect(d: &Daemon, what: &str) -> serde_json::Value {
    let out = d.berth(&["inspect", what]);
    out.ok();
    let v: serde_json::Value = serde_json::from_str(&out.stdout()).unwrap();
    v[0].clone()
}

#[test]
fn commit_diff_and_run_the_new_image() {
    let Some(d) = Daemon::with_busybox() else {
        return;
    };
    let c = unique("commit");
    d.berth(&[
        "run",
        "-d",
        "--name",
        &c,
        "busybox",
        "sh",
        "-c",
        "mkdir -p /data && echo hi > /data/x && rm /etc/group && touch /ready && sleep 1000",
    ])
    .ok();
    assert!(
        berth_e2e::eventually(20, || d.berth(&["diff", &c]).stdout().contains("A /ready")),
        "container did not get ready"
    );

    // diff: Docker's lines, parents of changes as C; mount points not listed.
    let want = "A /data\nA /data/x\nC /etc\nD /etc/group\nA /ready\n";
    let out = d.berth(&["diff", &c]);
    out.ok();
    assert_eq!(out.stdout(), want);
    if have_docker_cli() {
        let out = d.docker(&["diff", &c]);
        out.ok();
        assert_eq!(out.stdout(), want);
    }

    // commit with berth: --change, -m, -a; the container keeps running (paused during).
    let img = unique("img");
    let out = d.berth(&[
        "commit",
        "-a",
        "Berth Tester <t@example.com>",
        "-m",
        "first commit",
        "-c",
        "CMD [\"cat\", \"/data/x\"]",
        "-c",
        "ENV COMMITTED=yes",
        "-c",
        "LABEL stage=one",
        &c,
        &format!("{img}:v1"),
    ]);
    out.ok();
    let id = out.stdout().trim().to_string();
    assert!(id.starts_with("sha256:") && id.len() == 71, "{id}");
    let st = inspect(&d, &c);
    assert_eq!(st["State"]["Status"], "running");
    assert_eq!(st["State"]["Paused"], false);

    let out = d.berth(&["run", "--rm", &format!("{img}:v1")]);
    out.ok();
    assert_eq!(out.stdout(), "hi\n");
    let out = d.berth(&[
        "run",
        "--rm",
        &format!("{img}:v1"),
        "sh",
        "-c",
        "echo $COMMITTED; ls /etc/group 2>&1; ls /etc",
    ]);
    let text = out.stdout();
    assert!(text.starts_with("yes\n"), "{text}");
    assert!(text.contains("No such file"), "{text}");
    assert!(text.contains("passwd"), "{text}");

    // inspect: parent chain, layers, author, comment, config changes.
    let busybox = inspect(&d, "busybox");
    let v = inspect(&d, &format!("{img}:v1"));
    assert_eq!(v["Id"], id);
    assert_eq!(v["Parent"], busybox["Id"]);
    assert_eq!(v["Author"], "Berth Tester <t@example.com>");
    assert_eq!(v["Comment"], "first commit");
    assert_eq!(v["Config"]["Cmd"], serde_json::json!(["cat", "/data/x"]));
    assert_eq!(v["Config"]["Labels"]["stage"], "one");
    let layers = v["RootFS"]["Layers"].as_array().unwrap();
    assert_eq!(layers.len(), 2);
    assert_eq!(layers[0], busybox["RootFS"]["Layers"][0]);

    // A second generation deletes what the first added: the whiteout hides it through
    // the layer chain. Committed with the docker CLI, not paused.
    let c2 = unique("commit2");
    d.berth(&[
        "run",
        "--name",
        &c2,
        &format!("{img}:v1"),
        "sh",
        "-c",
        "rm /data/x && echo two > /data/y",
    ])
    .ok();
    let img2 = format!("{}:v2", img);
    let out = if have_docker_cli() {
        d.docker(&[
            "commit",
            "--pause=false",
            "-c",
            "CMD [\"ls\", \"/data\"]",
            &c2,
            &img2,
        ])
    } else {
        d.berth(&[
            "commit",
            "--pause=false",
            "-c",
            "CMD [\"ls\", \"/data\"]",
            &c2,
            &img2,
        ])
    };
    out.ok();
    let id2 = out.stdout().trim().to_string();
    let out = d.berth(&["run", "--rm", &img2]);
    out.ok();
    assert_eq!(out.stdout(), "y\n");
    let v2 = inspect(&d, &img2);
    assert_eq!(v2["Id"], id2);
    assert_eq!(v2["Parent"], id);
    assert_eq!(v2["RootFS"]["Layers"].as_array().unwrap().len(), 3);
    // The diff of the stopped container shows the deletion.
    let out = d.berth(&["diff", &c2]);
    assert!(out.stdout().contains("D /data/x\n"), "{}", out.stdout());
    assert!(out.stdout().contains("A /data/y\n"), "{}", out.stdout());

    // A container the user paused stays paused after a commit.
    d.berth(&["pause", &c]).ok();
    d.berth(&["commit", &c, &format!("{img}:paused")]).ok();
    assert_eq!(inspect(&d, &c)["State"]["Status"], "paused");
    d.berth(&["unpause", &c]).ok();

    // Untagged commit; bad change and bad name refused with Docker's messages.
    let out = d.berth(&["commit", &c]);
    out.ok();
    assert!(out.stdout().starts_with("sha256:"));
    let out = d.berth(&["commit", "-c", "RUN echo", &c, "x"]);
    out.expect_code(1);
    assert!(
        out.stderr().contains("run is not a valid change command"),
        "{}",
        out.stderr()
    );
    let out = d.berth(&["commit", &c, "Bad:Name"]);
    out.expect_code(1);
    assert!(
        out.stderr().contains("invalid reference format"),
        "{}",
        out.stderr()
    );
    let out = d.berth(&["commit", "nosuchcontainer", "x"]);
    out.expect_code(1);
    assert!(
        out.stderr().contains("No such container"),
        "{}",
        out.stderr()
    );
}

#[test]
fn export_layers_test_and_import_it_back() {
    if skip_unless_root() {
        return;
    }
    let d = Daemon::start();
    d.load("layers-test.docker.tar");
    let c = unique("export");
    d.berth(&["create", "--name", &c, "layers-test:1"]).ok();

    let dir = d.dir.path();
    let file = dir.join("export.tar");
    d.berth(&["export", "-o", file.to_str().unwrap(), &c]).ok();
    let data = std::fs::read(&file).unwrap();
    let e = tar_entries(&data);
    // The /opt expectations of ../shared/images/README.md hold in the tar.
    assert!(!e.contains_key("opt/gone"), "opt/gone exported");
    assert!(!e.contains_key("bin/hostname"), "bin/hostname exported");
    let opaque: Vec<&String> = e.keys().filter(|k| k.starts_with("opt/opaque/")).collect();
    assert_eq!(opaque, vec!["opt/opaque/new"]);
    assert_eq!(e["opt/mode600"].0, tar::EntryType::Regular);
    assert_eq!(e["opt/mode600"].1 & 0o7777, 0o600);
    assert_eq!(e["opt/sticky"].0, tar::EntryType::Directory);
    assert_eq!(e["opt/sticky"].1 & 0o7777, 0o1777);
    assert_eq!(e["opt/symlink"].0, tar::EntryType::Symlink);
    assert_eq!(e["opt/symlink"].2, "/opt/keep/file");
    let (h, f) = (&e["opt/hardlink"], &e["opt/keep/file"]);
    assert!(
        (h.0 == tar::EntryType::Link && h.2 == "opt/keep/file")
            || (f.0 == tar::EntryType::Link && f.2 == "opt/hardlink"),
        "hardlink: {h:?} {f:?}"
    );
    assert!(e.contains_key("bin/busybox") || e.contains_key("bin/sh"));
    assert!(!e.keys().any(|k| k.contains(".wh.")), "whiteout in export");

    // The docker CLI gets the same bytes on stdout.
    if have_docker_cli() {
        let out = d.docker(&["export", &c]);
        out.ok();
        assert_eq!(out.out.stdout, data);
    }
    // To a terminal: refused.
    let out = d.berth(&["export", "nosuch"]);
    out.expect_code(1);
    assert!(
        out.stderr().contains("No such container"),
        "{}",
        out.stderr()
    );

    // Import the exported tree (gzipped, from stdin) with changes; run it.
    let gz = std::process::Command::new("gzip")
        .arg("-c")
        .arg(&file)
        .output()
        .unwrap();
    assert!(gz.status.success());
    let imp = unique("imported");
    let out = d.berth_stdin(
        &[
            "import",
            "-m",
            "from an export",
            "-c",
            "CMD [\"/entry.sh\"]",
            "-c",
            "USER 1234",
            "-c",
            "WORKDIR /home/app",
            "-",
            &imp,
        ],
        Some(&gz.stdout),
    );
    out.ok();
    let id = out.stdout().trim().to_string();
    assert!(id.starts_with("sha256:"), "{id}");
    let v = inspect(&d, &imp);
    assert_eq!(v["Id"], id);
    assert_eq!(v["Comment"], "from an export");
    assert_eq!(v["RootFS"]["Layers"].as_array().unwrap().len(), 1);
    assert_eq!(v["Parent"], "");
    let out = d.berth(&[
        "run",
        "--rm",
        &imp,
        "sh",
        "-c",
        "id -u; pwd; ls /opt/opaque; ls /opt/gone 2>&1",
    ]);
    let text = out.stdout();
    assert!(text.starts_with("1234\n/home/app\nnew\n"), "{text}");
    assert!(text.contains("No such file"), "{text}");

    if have_docker_cli() {
        let tag = format!("{}:v1", unique("dimp"));
        let out = d.docker(&[
            "import",
            "-c",
            "CMD [\"cat\", \"/opt/keep/file\"]",
            file.to_str().unwrap(),
            &tag,
        ]);
        out.ok();
        assert!(
            out.stdout().trim().starts_with("sha256:"),
            "{}",
            out.stdout()
        );
        assert_eq!(inspect(&d, &tag)["Comment"], "Imported from -");
        let plain = d.berth(&[
            "run",
            "--rm",
            "--entrypoint",
            "cat",
            "layers-test:1",
            "/opt/keep/file",
        ]);
        plain.ok();
        let out = d.docker(&["run", "--rm", &tag]);
        out.ok();
        assert_eq!(out.stdout(), plain.stdout());
        // From a URL: not possible here, said clearly.
        let out = d.docker(&["import", "http://example.invalid/x.tar"]);
        assert_ne!(out.code(), 0);
        assert!(out.stderr().contains("not supported"), "{}", out.stderr());
    }

    // Garbage in: refused, nothing listed.
    let before = d.berth(&["images", "-q"]).stdout();
    let out = d.berth_stdin(&["import", "-", "junk"], Some(b"this is not a tar at all"));
    out.expect_code(1);
    assert_eq!(d.berth(&["images", "-q"]).stdout(), before);
    let tmp = dir.join("root/image/tmp");
    assert_eq!(std::fs::read_dir(&tmp).unwrap().count(), 0);
}

#[test]
fn export_of_a_running_container_shows_its_changes() {
    let Some(d) = Daemon::with_busybox() else {
        return;
    };
    let c = unique("runexp");
    d.berth(&[
        "run",
        "-d",
        "--name",
        &c,
        "busybox",
        "sh",
        "-c",
        "echo new > /etc/added && rm /etc/passwd && touch /ready && sleep 1000",
    ])
    .ok();
    assert!(
        berth_e2e::eventually(20, || d.berth(&["diff", &c]).stdout().contains("A /ready")),
        "container did not get ready"
    );
    let file = d.dir.path().join("run.tar");
    d.berth(&["export", "-o", file.to_str().unwrap(), &c]).ok();
    let e = tar_entries(&std::fs::read(&file).unwrap());
    assert!(e.contains_key("etc/added"));
    assert!(e.contains_key("ready"));
    assert!(!e.contains_key("etc/passwd"));
    assert!(e.contains_key("etc/group"));
}

/// kill -9 of berthd while a big commit runs: after the restart no half image is listed,
/// every listed image runs, and tmp/ is empty.
#[test]
fn commit_survives_kill9_of_the_daemon() {
    let Some(mut d) = Daemon::with_busybox() else {
        return;
    };
    let c = unique("crash");
    d.berth(&[
        "run",
        "--name",
        &c,
        "busybox",
        "sh",
        "-c",
        "mkdir /big && for i in 1 2 3 4 5 6 7 8; do dd if=/dev/urandom of=/big/f$i bs=1M count=16 2>/dev/null; done",
    ])
    .ok();
    let tag = format!("{}:1", unique("half"));
    let mut commit = std::process::Command::new(berth_e2e::bin_dir().join("berth"))
        .env("BERTH_HOST", d.host())
        .args(["commit", &c, &tag])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the layer is being written, then kill the daemon.
    let tmp = d.dir.path().join("root/image/tmp");
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut hit = false;
    while Instant::now() < deadline {
        let busy = std::fs::read_dir(&tmp).unwrap().flatten().any(|e| {
            std::fs::metadata(e.path().join("layer.tar")).is_ok_and(|m| m.len() > 1 << 20)
        });
        if busy {
            hit = true;
            break;
        }
        if commit.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    d.kill9_and_restart();
    let _ = commit.wait();
    if !hit {
        eprintln!("note: the commit finished before the daemon was killed");
    }
    assert_eq!(
        std::fs::read_dir(&tmp).unwrap().count(),
        0,
        "tmp not emptied"
    );
    let listed = d.berth(&["images"]).stdout();
    if listed.contains(&tag[..tag.len() - 2]) {
        // Finished before the kill: it must be whole.
        let out = d.berth(&["run", "--rm", &tag, "sh", "-c", "ls /big | wc -l"]);
        out.ok();
        assert_eq!(out.stdout().trim(), "8");
    } else {
        assert!(hit, "commit neither finished nor was interrupted: {listed}");
    }
    // Every listed image still runs; committing again works.
    for id in d.berth(&["images", "-q"]).stdout().split_whitespace() {
        d.berth(&["run", "--rm", id, "true"]).ok();
    }
    d.berth(&["commit", &c, &tag]).ok();
    let out = d.berth(&["run", "--rm", &tag, "sh", "-c", "ls /big | wc -l"]);
    out.ok();
    assert_eq!(out.stdout().trim(), "8");
    assert!(Path::new(&tmp).is_dir());
}

/// A directory removed and made again (overlayfs makes it opaque) and a new hard link:
/// `diff` reports what the reference engine reports, the committed image hides the old
/// contents and keeps the link.
#[test]
fn commit_keeps_opaque_dirs_and_hard_links() {
    if skip_unless_root() {
        return;
    }
    let d = Daemon::start();
    d.load("layers-test.docker.tar");
    let c = unique("opq");
    d.berth(&[
        "run",
        "-u",
        "0",
        "--name",
        &c,
        "--entrypoint",
        "sh",
        "layers-test:1",
        "-c",
        "rm -rf /opt/keep /opt/hardlink && mkdir /opt/keep && echo n > /opt/keep/new && ln /opt/keep/new /opt/keep/new2",
    ])
    .ok();
    let out = d.berth(&["diff", &c]);
    out.ok();
    let text = out.stdout();
    let mut got: Vec<&str> = text.lines().collect();
    got.sort();
    // dockerd 20.10 (overlay2) on the same container, sorted; "A /data" is the mount
    // point of the image's VOLUME.
    let mut want = vec![
        "A /data",
        "C /opt",
        "C /opt/keep",
        "A /opt/keep/new",
        "A /opt/keep/new2",
        "D /opt/keep/file",
        "D /opt/hardlink",
    ];
    want.sort();
    assert_eq!(got, want, "{text}");

    let img = format!("{}:1", unique("opqimg"));
    d.berth(&["commit", &c, &img]).ok();
    let out = d.berth(&[
        "run",
        "--rm",
        "--entrypoint",
        "sh",
        &img,
        "-c",
        "ls /opt/keep; ls /opt; stat -c %i /opt/keep/new /opt/keep/new2",
    ]);
    out.ok();
    let text = out.stdout();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(&lines[..2], ["new", "new2"], "{text}");
    assert!(!lines.contains(&"hardlink"), "{text}");
    assert!(
        lines.contains(&"opaque") && lines.contains(&"symlink"),
        "{text}"
    );
    let inodes = &lines[lines.len() - 2..];
    assert_eq!(inodes[0], inodes[1], "hard link lost: {text}");
}

/// The API's answers for bad requests: Docker's status codes and `{"message": ...}`.
#[test]
fn api_errors_for_commit_diff_export_import() {
    if skip_unless_root() {
        return;
    }
    let d = Daemon::start();
    let status = |r: &str| r.split_whitespace().nth(1).unwrap_or("").to_string();
    let r = d.raw("POST", "/v1.50/commit", "").unwrap();
    assert_eq!(status(&r), "400", "{r}");
    assert!(r.contains("\"message\""), "{r}");
    let r = d.raw("POST", "/v1.50/commit?container=nope", "").unwrap();
    assert_eq!(status(&r), "404", "{r}");
    assert!(r.contains("No such container: nope"), "{r}");
    let r = d.raw("GET", "/v1.50/containers/nope/changes", "").unwrap();
    assert_eq!(status(&r), "404", "{r}");
    let r = d.raw("GET", "/v1.50/containers/nope/export", "").unwrap();
    assert_eq!(status(&r), "404", "{r}");
    let r = d
        .raw(
            "POST",
            "/v1.50/images/create?fromSrc=http%3A%2F%2Fx%2Fy.tar",
            "",
        )
        .unwrap();
    assert_eq!(status(&r), "501", "{r}");
    assert!(r.contains("not supported"), "{r}");
    let r = d
        .raw("POST", "/v1.50/images/create?fromSrc=-&changes=RUN%20x", "")
        .unwrap();
    assert_eq!(status(&r), "400", "{r}");
    assert!(r.contains("run is not a valid change command"), "{r}");
    let r = d
        .raw("POST", "/v1.50/images/create?fromSrc=-&repo=Bad%20Name", "")
        .unwrap();
    assert_eq!(status(&r), "400", "{r}");
    let r = d
        .raw("POST", "/v1.50/images/create?fromSrc=-&repo=empty", "")
        .unwrap();
    assert_eq!(status(&r), "400", "{r}");
    assert!(r.contains("empty"), "{r}");
    // A pull is still answered as before.
    let r = d
        .raw(
            "POST",
            "/v1.50/images/create?fromImage=busybox&tag=latest",
            "",
        )
        .unwrap();
    assert_eq!(status(&r), "501", "{r}");
}

/// Parents of committed images behave as in Docker (checked against dockerd 20.10): `rmi`
/// by tag only untags a parent with children, by id it is a hard conflict, the untagged
/// parent is intermediate (listed with `-a` only, not dangling), and removing the child
/// removes the untagged parent too unless `--no-prune`.
#[test]
fn parents_of_committed_images() {
    let Some(d) = Daemon::with_busybox() else {
        return;
    };
    let base = inspect(&d, "busybox")["Id"].as_str().unwrap().to_string();
    let c = unique("parent");
    d.berth(&["run", "--name", &c, "busybox", "touch", "/x"])
        .ok();
    d.berth(&["commit", &c, "child:1"]).ok();
    d.berth(&["rm", &c]).ok();
    assert_eq!(inspect(&d, "child:1")["Parent"], base.as_str());

    let out = d.berth(&["rmi", "busybox"]);
    out.ok();
    assert_eq!(out.stdout(), "Untagged: busybox:latest\n");
    let listed = |args: &[&str]| {
        let mut a = vec!["images", "-q", "--no-trunc"];
        a.extend_from_slice(args);
        d.berth(&a).stdout()
    };
    assert!(!listed(&[]).contains(&base), "intermediate image listed");
    assert!(listed(&["-a"]).contains(&base), "-a lists intermediates");
    assert!(!listed(&["--filter", "dangling=true"]).contains(&base));

    for force in [false, true] {
        let mut args = vec!["rmi"];
        if force {
            args.push("-f");
        }
        args.push(&base);
        let out = d.berth(&args);
        assert_ne!(out.code(), 0);
        assert!(
            out.stderr()
                .contains("(cannot be forced) - image has dependent child images"),
            "{}",
            out.stderr()
        );
    }
    if have_docker_cli() {
        let out = d.docker(&["rmi", &base]);
        assert_ne!(out.code(), 0);
        assert!(out.stderr().contains("image has dependent child images"));
    }

    // --no-prune keeps the untagged parent, which is then dangling.
    d.berth(&["rmi", "--no-prune", "child:1"]).ok();
    assert!(listed(&["--filter", "dangling=true"]).contains(&base));

    // Without it, removing the child takes the untagged parent along.
    d.load("busybox.tar");
    let c2 = unique("parent");
    d.berth(&["run", "--name", &c2, "busybox", "touch", "/y"])
        .ok();
    d.berth(&["commit", &c2, "child:2"]).ok();
    d.berth(&["rm", &c2]).ok();
    d.berth(&["rmi", "busybox"]).ok();
    let out = d.berth(&["rmi", "child:2"]);
    out.ok();
    assert!(
        out.stdout().contains(&format!("Deleted: {base}")),
        "{}",
        out.stdout()
    );
    assert_eq!(listed(&["-a"]), "");
}
