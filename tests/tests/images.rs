//! Images end to end: save/load round trips, rmi (untag, conflicts, force), filters,
//! history, prune, system df, a crash during load, and a round trip through the
//! reference engine (dockerd) when it is installed. Driven with `berth` and the real
//! docker CLI.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use berth_e2e::{Daemon, have_docker_cli, image, skip_unless_root, unique};
use serde_json::Value;

fn skip() -> bool {
    if skip_unless_root() {
        return true;
    }
    if !have_docker_cli() {
        eprintln!("skipping: {} not installed", berth_e2e::DOCKER);
        return true;
    }
    false
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `docker image inspect -f '{{.Id}}' NAME`.
fn image_id(d: &Daemon, name: &str) -> String {
    let out = d.docker(&["image", "inspect", "-f", "{{.Id}}", name]);
    out.ok();
    out.stdout().trim().to_string()
}

/// The JSON body of a raw API response.
fn body(resp: &str) -> Value {
    let b = resp.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    serde_json::from_str(b).unwrap_or_else(|e| panic!("{e}: {resp}"))
}

fn store_dir(d: &Daemon, sub: &str) -> Vec<String> {
    let p = d.dir.path().join("root/image").join(sub);
    let mut v: Vec<String> = std::fs::read_dir(p)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn repo_tags(d: &Daemon) -> Vec<String> {
    let out = d.docker(&["images", "--format", "{{.Repository}}:{{.Tag}}"]);
    out.ok();
    let mut v: Vec<String> = out.stdout().lines().map(str::to_string).collect();
    v.sort();
    v
}

#[test]
fn save_rmi_load_round_trip() {
    if skip() {
        return;
    }
    let d = Daemon::start();
    d.load("busybox.tar");
    d.load("layers-test.oci.tar");
    let bb = image_id(&d, "busybox");
    let lt = image_id(&d, "layers-test:1");
    let file = d.dir.path().join("both.tar");

    // berth save to a file and to stdout: the same bytes.
    d.berth(&["save", "-o", path(&file), "busybox", "layers-test:1"])
        .ok();
    let out = d.berth(&["save", "busybox", "layers-test:1"]);
    out.ok();
    let saved = std::fs::read(&file).unwrap();
    assert_eq!(out.out.stdout, saved, "stdout and -o differ");
    assert!(saved.len() > 2_000_000, "{}", saved.len());

    // rmi both: Docker's lines, and nothing left in the store.
    let out = d.berth(&["rmi", "busybox", "layers-test:1"]);
    out.ok();
    let text = out.stdout();
    assert!(text.contains("Untagged: busybox:latest\n"), "{text}");
    assert!(text.contains(&format!("Deleted: {bb}\n")), "{text}");
    assert!(text.contains("Untagged: layers-test:1\n"), "{text}");
    assert!(text.contains(&format!("Deleted: {lt}\n")), "{text}");
    assert_eq!(
        text.matches("Deleted: ").count(),
        2 + 4,
        "images and layers: {text}"
    );
    assert!(repo_tags(&d).is_empty());
    assert!(
        store_dir(&d, "layers").is_empty(),
        "{:?}",
        store_dir(&d, "layers")
    );
    assert!(store_dir(&d, "blobs/sha256").is_empty());
    d.berth(&["rmi", "busybox"]).expect_code(1);

    // Load the saved archive back: same ids, and it runs.
    let out = d.docker(&["load", "-i", path(&file)]);
    out.ok();
    assert!(
        out.stdout().contains("Loaded image: busybox:latest"),
        "{}",
        out.stdout()
    );
    assert!(
        out.stdout().contains("Loaded image: layers-test:1"),
        "{}",
        out.stdout()
    );
    assert_eq!(image_id(&d, "busybox"), bb);
    assert_eq!(image_id(&d, "layers-test:1"), lt);
    let out = d.docker(&[
        "run",
        "--rm",
        "--entrypoint",
        "cat",
        "layers-test:1",
        "/opt/keep/file",
    ]);
    assert_eq!(out.code(), 0, "{} {}", out.stdout(), out.stderr());

    // The docker CLI's save (by id: no tags) and load.
    let by_id = d.dir.path().join("by-id.tar");
    d.docker(&["save", "-o", path(&by_id), &lt[7..19]]).ok();
    d.docker(&["rmi", "layers-test:1"]).ok();
    let out = d.docker(&["load", "-i", path(&by_id)]);
    out.ok();
    assert!(
        out.stdout().contains(&format!("Loaded image ID: {lt}")),
        "{}",
        out.stdout()
    );
    let out = d.docker(&["images", "--filter", "dangling=true", "-q", "--no-trunc"]);
    assert_eq!(out.stdout().trim(), lt);

    // Never to a terminal (util-linux `script` gives berth one).
    if Command::new("script").arg("--version").output().is_ok() {
        let out = Command::new("script")
            .args(["-qec"])
            .arg(format!(
                "{} save busybox",
                berth_e2e::bin_dir().join("berth").display()
            ))
            .arg("/dev/null")
            .env("BERTH_HOST", d.host())
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{text}");
        assert!(
            text.contains("cowardly refusing to save to a terminal"),
            "{text}"
        );
        assert!(text.len() < 1000, "archive bytes on the terminal");
    }

    // Unknown names: 404, nothing written.
    let missing = d.dir.path().join("missing.tar");
    let out = d.docker(&["save", "-o", path(&missing), "nosuch:1"]);
    assert_ne!(out.code(), 0);
    assert!(
        out.stderr().contains("No such image: nosuch:1"),
        "{}",
        out.stderr()
    );
    let out = d.berth(&["save", "-o", path(&missing), "nosuch:1"]);
    out.expect_code(1);
    assert!(!missing.exists());
}

#[test]
fn rmi_untags_refuses_and_forces() {
    if skip() {
        return;
    }
    let d = Daemon::start();
    d.load("busybox.tar");
    let bb = image_id(&d, "busybox");
    let short = &bb[7..19];
    let tag = format!("{}:1", unique("extra"));

    // One of several tags: untag only.
    d.docker(&["tag", "busybox", &tag]).ok();
    let out = d.berth(&["rmi", &tag]);
    out.ok();
    assert_eq!(out.stdout(), format!("Untagged: {tag}\n"));
    assert_eq!(image_id(&d, "busybox"), bb);

    // By id with several tags: needs -f.
    d.docker(&["tag", "busybox", &tag]).ok();
    let out = d.docker(&["rmi", short]);
    assert_eq!(out.code(), 1);
    assert!(
        out.stderr().contains(&format!(
            "conflict: unable to delete {short} (must be forced) - image is referenced in multiple repositories"
        )),
        "{}",
        out.stderr()
    );
    d.docker(&["rmi", &tag]).ok();

    // A stopped container uses it: refused without -f, with Docker's messages.
    let name = unique("rmi-");
    d.docker(&["create", "--name", &name, "busybox", "echo", "still here"])
        .ok();
    let cid = d.docker(&["inspect", "-f", "{{.Id}}", &name]).stdout();
    let cshort = &cid.trim()[..12];
    let out = d.docker(&["rmi", "busybox"]);
    assert_eq!(out.code(), 1);
    assert!(
        out.stderr().contains(&format!(
            "conflict: unable to remove repository reference \"busybox\" (must force) - container {cshort} is using its referenced image {short}"
        )),
        "{}",
        out.stderr()
    );
    let out = d.berth(&["rmi", short]);
    assert_eq!(out.code(), 1);
    assert!(
        out.stderr().contains(&format!(
            "conflict: unable to delete {short} (must be forced) - image is being used by stopped container {cshort}"
        )),
        "{}",
        out.stderr()
    );
    let resp = d.raw("DELETE", "/images/busybox", "").unwrap();
    assert!(resp.starts_with("HTTP/1.1 409"), "{resp}");
    assert!(
        body(&resp)["message"]
            .as_str()
            .unwrap()
            .contains("must force")
    );

    // -f: the image goes, the container keeps its layers and still runs.
    let out = d.docker(&["rmi", "-f", "busybox"]);
    out.ok();
    assert_eq!(
        out.stdout(),
        format!("Untagged: busybox:latest\nDeleted: {bb}\n")
    );
    assert!(repo_tags(&d).is_empty());
    let out = d.docker(&["start", "-a", &name]);
    out.ok();
    assert_eq!(out.stdout(), "still here\n");
    assert_eq!(store_dir(&d, "layers").len(), 1);
    // Nothing uses it now: removing the container frees its layers.
    d.docker(&["rm", &name]).ok();
    assert!(store_dir(&d, "layers").is_empty());
    assert!(store_dir(&d, "blobs/sha256").is_empty());
    let resp = d.raw("POST", "/images/prune", "").unwrap();
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    assert_eq!(body(&resp)["SpaceReclaimed"], 0, "{resp}");

    // A running container: -f by tag only untags; by id it cannot be forced.
    d.load("busybox.tar");
    let name = unique("rmi-run-");
    d.docker(&["run", "-d", "--name", &name, "busybox", "sleep", "300"])
        .ok();
    let cid = d.docker(&["inspect", "-f", "{{.Id}}", &name]).stdout();
    let cshort = &cid.trim()[..12];
    d.docker(&["tag", "busybox", &tag]).ok();
    let out = d.docker(&["rmi", "-f", &bb]);
    assert_eq!(out.code(), 1);
    assert!(
        out.stderr().contains(&format!(
            "conflict: unable to delete {short} (cannot be forced) - image is being used by running container {cshort}"
        )),
        "{}",
        out.stderr()
    );
    d.docker(&["rmi", "-f", "busybox"]).ok();
    let out = d.berth(&["rmi", "-f", &tag]);
    out.ok();
    assert_eq!(out.stdout(), format!("Untagged: {tag}\n"));
    // Dangling, still there, still running.
    let out = d.berth(&["images", "-q", "--no-trunc"]);
    assert_eq!(out.stdout().trim(), bb);
    let out = d.docker(&["exec", &name, "echo", "alive"]);
    assert_eq!(out.stdout(), "alive\n");
    d.docker(&["rm", "-f", &name]).ok();
    d.docker(&["rmi", &bb]).ok();
    assert!(store_dir(&d, "layers").is_empty());
}

#[test]
fn images_filters_and_digests() {
    if skip() {
        return;
    }
    let d = Daemon::start();
    d.load("busybox.tar");
    d.load("layers-test.oci.tar");
    let bb = image_id(&d, "busybox");
    let lt = image_id(&d, "layers-test:1");
    let repo = unique("mine/box");
    d.docker(&["tag", "busybox", &format!("{repo}:1")]).ok();

    let ids = |args: &[&str]| -> Vec<String> {
        let mut a = vec!["images", "-q", "--no-trunc"];
        a.extend_from_slice(args);
        let out = d.berth(a.as_slice());
        out.ok();
        let mut v: Vec<String> = out.stdout().lines().map(str::to_string).collect();
        v.dedup();
        v
    };
    assert_eq!(ids(&["-f", "reference=busy*"]), vec![bb.to_string()]);
    assert_eq!(ids(&["-f", "reference=mine/*"]), vec![bb.to_string()]);
    assert!(ids(&["-f", "reference=*"]).len() == 2);
    assert_eq!(ids(&["layers-test"]), vec![lt.to_string()]);
    assert_eq!(ids(&["-f", "label=purpose"]), vec![lt.to_string()]);
    assert_eq!(
        ids(&["-f", "label=purpose=unpack fixtures"]),
        vec![lt.to_string()]
    );
    assert!(ids(&["-f", "label=purpose=other"]).is_empty());
    assert!(ids(&["-f", "dangling=true"]).is_empty());
    assert_eq!(ids(&["-f", "dangling=false"]).len(), 2);
    // before/since by creation time.
    let created = |n: &str| {
        d.docker(&["image", "inspect", "-f", "{{.Created}}", n])
            .stdout()
    };
    let (older, newer) = if created("busybox") < created("layers-test:1") {
        (&bb, &lt)
    } else {
        (&lt, &bb)
    };
    assert_eq!(
        ids(&["-f", &format!("since={older}")]),
        vec![newer.to_string()]
    );
    assert_eq!(
        ids(&["-f", &format!("before={newer}")]),
        vec![older.to_string()]
    );

    // The docker CLI: reference filter shows only the matching tags.
    let out = d.docker(&[
        "images",
        "--filter",
        &format!("reference={repo}"),
        "--format",
        "{{.Repository}}:{{.Tag}} {{.ID}}",
    ]);
    out.ok();
    assert_eq!(out.stdout(), format!("{repo}:1 {}\n", &bb[7..19]));
    let out = d.docker(&["images", "--digests"]);
    out.ok();
    assert!(out.stdout().starts_with("REPOSITORY"), "{}", out.stdout());
    assert!(out.stdout().contains("DIGEST"), "{}", out.stdout());
    let out = d.berth(&["images", "--digests"]);
    assert!(out.stdout().contains("DIGEST"), "{}", out.stdout());

    // A tag moved away leaves a dangling image.
    d.docker(&["tag", "layers-test:1", "busybox:latest"]).ok();
    d.docker(&["tag", "layers-test:1", &format!("{repo}:1")])
        .ok();
    assert_eq!(ids(&["-f", "dangling=true"]), vec![bb.to_string()]);
    let out = d.docker(&["images", "--filter", "dangling=true"]);
    assert!(out.stdout().contains("<none>"), "{}", out.stdout());

    // Bad filters: 400 with Docker's message.
    let out = d.docker(&["images", "--filter", "color=red"]);
    assert_ne!(out.code(), 0);
    assert!(
        out.stderr().contains("invalid filter 'color'"),
        "{}",
        out.stderr()
    );
    let out = d.berth(&["images", "-f", "dangling=maybe"]);
    assert_ne!(out.code(), 0);
    assert!(
        out.stderr().contains("invalid filter 'dangling=maybe'"),
        "{}",
        out.stderr()
    );
    let out = d.berth(&["images", "-f", "since=nosuch"]);
    assert!(
        out.stderr().contains("No such image: nosuch"),
        "{}",
        out.stderr()
    );
}

#[test]
fn history_lists_the_config_history() {
    if skip() {
        return;
    }
    let d = Daemon::start();
    d.load("layers-test.oci.tar");
    let lt = image_id(&d, "layers-test:1");
    let out = d.docker(&["history", "layers-test:1"]);
    out.ok();
    let text = out.stdout();
    let lines: Vec<&str> = text.lines().collect();
    // Header and one row per history entry (13 in the fixture), newest first.
    assert_eq!(lines.len(), 1 + 13, "{}", out.stdout());
    assert!(lines[0].starts_with("IMAGE"), "{}", lines[0]);
    assert!(lines[1].starts_with(&lt[7..19]), "{}", lines[1]);
    assert!(lines[1].contains("CMD [\"default-arg\"]"), "{}", lines[1]);
    assert!(lines[2..].iter().all(|l| l.starts_with("<missing>")));
    // The base layer is the busybox rootfs: its size shows.
    assert!(lines[13].contains("1.98MB"), "{}", lines[13]);

    let out = d.berth(&["history", "--no-trunc", "-q", "layers-test:1"]);
    out.ok();
    let text = out.stdout();
    let ids: Vec<&str> = text.lines().collect();
    assert_eq!(ids.len(), 13);
    assert_eq!(ids[0], lt);
    let out = d.berth(&["history", "layers-test:1"]);
    out.ok();
    assert!(
        out.stdout().contains("#(nop) WORKDIR /home/app"),
        "{}",
        out.stdout()
    );

    let resp = d.raw("GET", "/images/layers-test:1/history", "").unwrap();
    let v = body(&resp);
    let rows = v.as_array().unwrap();
    assert_eq!(rows[0]["Tags"], serde_json::json!(["layers-test:1"]));
    let sized = rows
        .iter()
        .filter(|r| r["Size"].as_u64().unwrap() > 0)
        .count();
    assert_eq!(sized, 4, "one sized row per layer: {v}");
    let out = d.docker(&["history", "nosuch"]);
    assert!(
        out.stderr().contains("No such image: nosuch"),
        "{}",
        out.stderr()
    );
}

#[test]
fn prune_and_system_df() {
    if skip() {
        return;
    }
    let d = Daemon::start();
    d.load("busybox.tar");
    d.load("layers-test.oci.tar");
    let bb = image_id(&d, "busybox");
    let lt = image_id(&d, "layers-test:1");
    // busybox loses its tag: dangling.
    d.docker(&["tag", "layers-test:1", "busybox:latest"]).ok();

    let out = d.docker(&["system", "df"]);
    out.ok();
    let images_row = out.stdout().lines().nth(1).unwrap().to_string();
    let cols: Vec<&str> = images_row.split_whitespace().collect();
    assert_eq!(&cols[..3], ["Images", "2", "0"], "{}", out.stdout());

    // Default prune: the dangling image only.
    let out = d.docker(&["image", "prune", "-f"]);
    out.ok();
    let text = out.stdout();
    assert!(text.contains(&format!("deleted: {bb}")), "{text}");
    assert!(text.contains("Total reclaimed space:"), "{text}");
    assert_eq!(repo_tags(&d), ["busybox:latest", "layers-test:1"]);

    // In use by a container: -a keeps it.
    let name = unique("df-");
    d.docker(&["create", "--name", &name, "layers-test:1"]).ok();
    let out = d.berth(&["image", "prune", "-a", "-f"]);
    out.ok();
    assert_eq!(out.stdout(), "Total reclaimed space: 0B\n");
    let out = d.berth(&["system", "df"]);
    out.ok();
    let text = out.stdout();
    let row = |t: &str| -> Vec<String> {
        text.lines()
            .find(|l| l.starts_with(t))
            .unwrap()
            .split_whitespace()
            .map(str::to_string)
            .collect()
    };
    assert_eq!(&row("Images")[1..3], ["1", "1"], "{text}");
    assert_eq!(&row("Containers")[1..3], ["1", "0"], "{text}");
    let resp = d.raw("GET", "/system/df", "").unwrap();
    let v = body(&resp);
    assert!(v["LayersSize"].as_u64().unwrap() > 1_000_000, "{v}");
    assert_eq!(v["Images"][0]["Containers"], 1);
    assert_eq!(v["Containers"][0]["Names"][0], format!("/{name}"));
    // layers-test declares VOLUME /data: the container holds an anonymous volume.
    let vols = v["Volumes"].as_array().unwrap();
    assert_eq!(vols.len(), 1, "{v}");
    assert_eq!(vols[0]["UsageData"]["RefCount"], 1, "{v}");

    // Unused again: -a removes every tag and the image.
    d.docker(&["rm", &name]).ok();
    let out = d.docker(&["image", "prune", "-a", "-f"]);
    out.ok();
    let text = out.stdout();
    assert!(text.contains("untagged: layers-test:1"), "{text}");
    assert!(text.contains("untagged: busybox:latest"), "{text}");
    assert!(text.contains(&format!("deleted: {lt}")), "{text}");
    assert!(!text.contains("Total reclaimed space: 0B"), "{text}");
    assert!(repo_tags(&d).is_empty());
    assert!(store_dir(&d, "layers").is_empty());
}

#[test]
fn kill9_during_load_leaves_no_half_image() {
    if skip() {
        return;
    }
    let mut d = Daemon::start();
    let debian = image("debian-bookworm.tar.gz");
    let tmp = d.dir.path().join("root/image/tmp");
    let mut client = Command::new(berth_e2e::bin_dir().join("berth"))
        .env("BERTH_HOST", d.host())
        .args(["load", "-i", path(&debian)])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the load is under way (work files in tmp/).
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        let busy = std::fs::read_dir(&tmp).is_ok_and(|mut r| r.next().is_some());
        if busy {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(Duration::from_millis(300));
    d.kill9_and_restart();
    let _ = client.kill();
    let _ = client.wait();

    // Either nothing or the whole image; no work files, no unreferenced layers.
    let ls = d.docker(&["images", "--format", "{{.Repository}}:{{.Tag}}"]);
    ls.ok();
    if ls.stdout().contains("debian") {
        // Complete: it runs, and every blob is there to save it.
        d.docker(&["run", "--rm", "debian:bookworm", "true"]).ok();
        let out_file = d.dir.path().join("debian.tar");
        d.berth(&["save", "-o", path(&out_file), "debian:bookworm"])
            .ok();
    }
    assert!(
        store_dir(&d, "tmp").is_empty(),
        "{:?}",
        store_dir(&d, "tmp")
    );
    let layers = store_dir(&d, "layers");
    assert!(layers.len() <= 1, "{layers:?}");
    if !ls.stdout().contains("debian") {
        assert!(layers.is_empty(), "unreferenced layers kept: {layers:?}");
    }
    // A fresh load works and the image runs.
    let out = d.docker(&["load", "-i", path(&debian)]);
    out.ok();
    let name = out
        .stdout()
        .lines()
        .find_map(|l| l.strip_prefix("Loaded image: "))
        .unwrap()
        .to_string();
    let out = d.docker(&["run", "--rm", &name, "cat", "/etc/debian_version"]);
    out.ok();
    assert!(out.stdout().starts_with("12"), "{}", out.stdout());
}

/// A private reference engine (dockerd) on its own socket and directories.
struct RefEngine {
    dir: tempfile::TempDir,
    child: std::process::Child,
}

impl RefEngine {
    fn start() -> Option<RefEngine> {
        let dockerd = [
            "/usr/bin/dockerd",
            "/usr/sbin/dockerd",
            "/usr/local/bin/dockerd",
        ]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())?;
        let dir = tempfile::Builder::new()
            .prefix("ref-imga.")
            .tempdir_in("/tmp")
            .unwrap();
        let p = dir.path();
        let log = std::fs::File::create(p.join("dockerd.log")).unwrap();
        let child = Command::new(dockerd)
            .arg("--data-root")
            .arg(p.join("root"))
            .arg("--exec-root")
            .arg(p.join("exec"))
            .arg("-H")
            .arg(format!("unix://{}", p.join("d.sock").display()))
            .arg("--pidfile")
            .arg(p.join("d.pid"))
            .args(["--bridge", "none", "--iptables=false", "--ip6tables=false"])
            .arg("--containerd-namespace")
            .arg(unique("berth-e2e-ref-"))
            .arg("--containerd-plugins-namespace")
            .arg(unique("berth-e2e-refp-"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .ok()?;
        let e = RefEngine { dir, child };
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if e.docker(&["version"]).status.success() {
                return Some(e);
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        eprintln!(
            "reference dockerd did not start: {}",
            std::fs::read_to_string(e.dir.path().join("dockerd.log")).unwrap_or_default()
        );
        None
    }

    fn docker(&self, args: &[&str]) -> std::process::Output {
        Command::new(berth_e2e::DOCKER)
            .env(
                "DOCKER_HOST",
                format!("unix://{}", self.dir.path().join("d.sock").display()),
            )
            .env("DOCKER_CONFIG", self.dir.path().join("docker-config"))
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }
}

impl Drop for RefEngine {
    fn drop(&mut self) {
        // SIGTERM: dockerd stops the containerd it started, then exits.
        // SAFETY: kill(2) on our own child's pid.
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn round_trip_through_the_reference_engine() {
    if skip() {
        return;
    }
    if ![
        "/usr/bin/dockerd",
        "/usr/sbin/dockerd",
        "/usr/local/bin/dockerd",
    ]
    .iter()
    .any(|p| Path::new(p).is_file())
    {
        eprintln!("skipping: the reference engine (dockerd) is not installed");
        return;
    }
    let Some(reference) = RefEngine::start() else {
        eprintln!("skipping: the reference engine (dockerd) would not start");
        return;
    };
    let d = Daemon::start();
    d.load("busybox.tar");
    d.load("layers-test.oci.tar");
    let bb = image_id(&d, "busybox");
    let lt = image_id(&d, "layers-test:1");
    let ours = d.dir.path().join("ours.tar");
    d.berth(&["save", "-o", path(&ours), "busybox", "layers-test:1"])
        .ok();

    // Berth's archive into dockerd: same ids.
    let out = reference.docker(&["load", "-i", path(&ours)]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for (name, id) in [("busybox", &bb), ("layers-test:1", &lt)] {
        let out = reference.docker(&["image", "inspect", "-f", "{{.Id}}", name]);
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), id);
    }
    // skopeo reads it too, where installed.
    if Path::new("/usr/bin/skopeo").is_file() {
        let out = Command::new("/usr/bin/skopeo")
            .args([
                "inspect",
                &format!("docker-archive:{}:layers-test:1", path(&ours)),
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["Layers"].as_array().unwrap().len(), 4, "{v}");
    }

    // dockerd's archive back into a fresh Berth: same ids, and it runs.
    let theirs = reference.dir.path().join("theirs.tar");
    let out = reference.docker(&["save", "-o", path(&theirs), "busybox", "layers-test:1"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    d.docker(&["rmi", "busybox", "layers-test:1"]).ok();
    assert!(store_dir(&d, "layers").is_empty());
    d.docker(&["load", "-i", path(&theirs)]).ok();
    assert_eq!(image_id(&d, "busybox"), bb);
    assert_eq!(image_id(&d, "layers-test:1"), lt);
    let out = d.docker(&[
        "run",
        "--rm",
        "--entrypoint",
        "cat",
        "layers-test:1",
        "/opt/keep/file",
    ]);
    assert_eq!(out.code(), 0, "{}", out.stderr());

    // And Berth's save of what came from dockerd loads into dockerd again.
    let again = d.dir.path().join("again.tar");
    d.docker(&["save", "-o", path(&again), "layers-test:1"])
        .ok();
    let out = reference.docker(&["rmi", "-f", "layers-test:1"]);
    assert!(out.status.success());
    let out = reference.docker(&["load", "-i", path(&again)]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn save_aborts_on_a_corrupt_layer() {
    if skip() {
        return;
    }
    let d = Daemon::start();
    d.load("busybox.tar");
    let diff = d.docker(&[
        "image",
        "inspect",
        "-f",
        "{{index .RootFS.Layers 0}}",
        "busybox",
    ]);
    diff.ok();
    let blob = d
        .dir
        .path()
        .join("root/image/blobs/sha256")
        .join(&diff.stdout().trim()[7..]);
    // Flip one byte in the middle of the stored layer tar: same length, wrong digest.
    let mut data = std::fs::read(&blob).unwrap();
    let mid = data.len() / 2;
    data[mid] ^= 0xff;
    std::fs::write(&blob, &data).unwrap();

    let out_file = d.dir.path().join("bad.tar");
    let out = d.berth(&["save", "-o", path(&out_file), "busybox"]);
    assert_eq!(out.code(), 1, "{} {}", out.stdout(), out.stderr());
    assert!(!out_file.exists(), "a bad archive was left behind");
    let leftovers: Vec<_> = std::fs::read_dir(d.dir.path())
        .unwrap()
        .filter_map(|e| {
            let n = e.unwrap().file_name().to_string_lossy().into_owned();
            n.contains("berth-save").then_some(n)
        })
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // Streamed to stdout, the transfer breaks off: never a complete-looking archive.
    let out = d.berth(&["save", "busybox"]);
    assert_eq!(out.code(), 1);
    assert!(
        out.out.stdout.len() < data.len(),
        "{}",
        out.out.stdout.len()
    );
    assert!(d.log().contains("corrupt"), "{}", d.log());
}

#[test]
fn image_inspect_shows_dockers_fields() {
    if skip() {
        return;
    }
    let d = Daemon::start();
    d.load("busybox.tar");
    d.load("layers-test.oci.tar");
    let out = d.docker(&["image", "inspect", "busybox", "layers-test:1"]);
    out.ok();
    let v: Value = serde_json::from_str(&out.stdout()).unwrap();
    let (bb, lt) = (&v[0], &v[1]);
    // Values dockerd 20.10 shows for the same fixtures.
    assert_eq!(bb["Comment"], "Imported from -");
    assert_eq!(bb["Size"], 1982472);
    assert_eq!(lt["Size"], 1982841, "symlinks count, hard links once");
    assert_eq!(lt["Config"]["User"], "app");
    assert_eq!(lt["Config"]["StopSignal"], "SIGTERM");
    // API 1.50 (the docker CLI's): no container-only `Config` fields, no `Container`,
    // `ContainerConfig` (gone in 1.45) or `VirtualSize` (gone in 1.44), as dockerd 28.
    for gone in ["Hostname", "AttachStdin", "Image"] {
        assert!(lt["Config"].get(gone).is_none(), "{gone}: {}", lt["Config"]);
    }
    for gone in ["Container", "ContainerConfig", "VirtualSize"] {
        assert!(lt.get(gone).is_none(), "{gone}");
    }
    assert_eq!(lt["Config"]["Entrypoint"].as_array().map(Vec::len), Some(1));
    assert!(lt.get("Variant").is_none(), "omitted when empty");
    // API 1.41 (dockerd 20.10's): all of them.
    let old = body(
        &d.raw("GET", "/v1.41/images/layers-test:1/json", "")
            .unwrap(),
    );
    assert_eq!(old["Config"]["Hostname"], "");
    assert_eq!(old["Config"]["AttachStdin"], false);
    assert_eq!(old["Config"]["User"], "app");
    assert_eq!(old["Container"], "");
    assert!(old["ContainerConfig"].is_object());
    assert_eq!(old["VirtualSize"], old["Size"]);
    assert_eq!(lt["RootFS"]["Type"], "layers");
    assert_eq!(lt["RootFS"]["Layers"].as_array().unwrap().len(), 4);
    assert_eq!(
        (lt["Os"].as_str(), lt["Architecture"].as_str()),
        (Some("linux"), Some("amd64"))
    );
    let upper = lt["GraphDriver"]["Data"]["UpperDir"].as_str().unwrap();
    assert!(
        Path::new(upper).join("usr/local/bin/entry.sh").is_file(),
        "{upper}"
    );
    let lower = lt["GraphDriver"]["Data"]["LowerDir"].as_str().unwrap();
    assert_eq!(lower.split(':').count(), 3);
    let out = d.docker(&[
        "image",
        "inspect",
        "-f",
        "{{.Config.WorkingDir}}|{{.DockerVersion}}",
        "layers-test:1",
    ]);
    out.ok();
    assert_eq!(out.stdout(), "/home/app|\n");
}

/// `berth load -i DIR` reads an OCI image layout directory (the CLI sends it as a tar).
#[test]
fn load_an_oci_layout_directory() {
    if skip() {
        return;
    }
    let d = Daemon::start();
    let dir = tempfile::tempdir().unwrap();
    let f = std::fs::File::open(image("layers-test.oci.tar")).unwrap();
    tar::Archive::new(f).unpack(dir.path()).unwrap();
    assert!(dir.path().join("index.json").is_file());
    let out = d.berth(&["load", "-i", path(dir.path())]);
    out.ok();
    assert!(out.stdout().starts_with("Loaded image"), "{}", out.stdout());
    let id = out.stdout().trim().rsplit(' ').next().unwrap().to_string();
    let run = d.berth(&["run", "--rm", &id, "x", "y"]);
    run.ok();
    assert_eq!(
        run.stdout(),
        "entry: hello from layers user=1234 cwd=/home/app args=x y\n"
    );
    // A directory that is no image layout is refused with the daemon's message.
    let empty = tempfile::tempdir().unwrap();
    let out = d.berth(&["load", "-i", path(empty.path())]);
    assert_ne!(out.code(), 0);
    assert!(out.stderr().contains("index.json"), "{}", out.stderr());
}
