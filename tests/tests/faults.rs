//! Faults lose nothing and leave nothing behind. berthd is killed with SIGKILL at chosen
//! points of create, start, exit, stop, kill, exec, rm, load, commit, rename and restart
//! (its `BERTH_FAULT` hook) and at random moments of a random workload, shims are killed,
//! the data root fills up; after each, a daemon restarted on the same roots must show
//! every acknowledged operation, nothing half-made, and nothing running or left behind
//! that no record owns (`berth_e2e::faults::check`).
//!
//! The random test is seeded and prints its seed; replay or run longer with
//! `BERTH_FAULT_SEED=N BERTH_FAULT_ITERATIONS=500 cargo test -p berth-e2e --test faults
//! random -- --nocapture`.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use berth_e2e::faults::{Rng, api, containers, images, seed, settle, shim_procs};
use berth_e2e::{Daemon, eventually, image, unique};

/// A container that runs until stopped, and stops at once on SIGTERM (`wait` returns when
/// a trapped signal comes).
const LOOP: &str = r#"["sh","-c","trap 'exit 0' TERM; while :; do sleep 1 & wait $!; done"]"#;

fn create_body(cmd: &str, policy: &str) -> String {
    format!(
        r#"{{"Image":"busybox","Cmd":{cmd},"HostConfig":{{"RestartPolicy":{{"Name":"{policy}"}}}}}}"#
    )
}

/// `POST /containers/create`: the id when created.
fn create(d: &Daemon, name: &str, cmd: &str) -> String {
    let (status, body) = api(
        d,
        "POST",
        &format!("/containers/create?name={name}"),
        &create_body(cmd, ""),
    )
    .expect("create answered");
    assert_eq!(status, 201, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    v["Id"].as_str().unwrap().to_string()
}

fn post(d: &Daemon, path: &str) -> Option<u16> {
    api(d, "POST", path, "").map(|(s, _)| s)
}

fn state(d: &Daemon, id: &str) -> Option<berth_e2e::faults::Container> {
    containers(d).unwrap().remove(id)
}

/// Restart the daemon with fault point `point` armed (after a SIGKILL: one more crash).
/// False when it died at that point already, while it recovered.
fn arm(d: &mut Daemon, point: &str) -> bool {
    d.kill9();
    d.set_env("BERTH_FAULT", Some(point));
    d.try_restart()
}

/// The daemon must have died at `point`; start it again unarmed and wait until every
/// invariant holds.
fn crashed_at(d: &mut Daemon, point: &str) {
    assert!(d.wait_down(60), "berthd did not reach fault point {point}");
    let name = point.split('@').next().unwrap();
    assert!(
        d.log().contains(&format!("fault point {name} reached")),
        "berthd died elsewhere than at {point}:\n{}",
        d.log()
    );
    d.set_env("BERTH_FAULT", None);
    d.restart();
    settled(d, &format!("after a crash at {point}"));
}

#[track_caller]
fn settled(d: &Daemon, when: &str) {
    settled_as(d, when, true);
}

/// [`settled`], `restarted` as [`settle`] takes it.
#[track_caller]
fn settled_as(d: &Daemon, when: &str, restarted: bool) {
    if let Err(e) = settle(d, 30, restarted) {
        panic!(
            "{when}:\n{e}\n--- berthd log (tail):\n{}",
            tail(&d.log(), 40)
        );
    }
}

/// [`settled`], showing what the workload did when it fails.
#[track_caller]
fn settled_with(d: &Daemon, ctx: &str, log: &std::sync::Mutex<Vec<String>>, restarted: bool) {
    if let Err(e) = settle(d, 30, restarted) {
        panic!(
            "{ctx}:\n{e}\n--- operations:\n{}\n--- berthd log (tail):\n{}",
            log.lock().unwrap().join("\n"),
            tail(&d.log(), 80)
        );
    }
}

fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Remove every container (each must go, whatever a crash left of it) and check that
/// nothing is left.
fn remove_all(d: &Daemon) {
    for id in containers(d).unwrap().keys() {
        let r = api(d, "DELETE", &format!("/containers/{id}?force=1"), "");
        assert!(
            matches!(r, Some((204 | 404, _))),
            "rm -f {id}: {r:?}\n{}",
            tail(&d.log(), 30)
        );
    }
    settled(d, "after removing every container");
    assert!(containers(d).unwrap().is_empty());
    assert!(shim_procs(&d.exec_root()).is_empty());
}

// ---------------------------------------------------------------------------------------
// Item 1: a killed shim takes its container with it.

/// `kill -9` of a container's shim: the container is recorded as killed (137) with the
/// reason in `State.Error`, nothing of it runs on (also a process outside its pid
/// namespace), `start` runs one copy, and a restart policy brings back exactly one.
#[test]
fn killed_shim_takes_its_container() {
    let Some(d) = Daemon::with_busybox() else {
        return;
    };
    let plain = create(&d, &unique("shim-plain"), LOOP);
    // With the host's pid namespace, the container's processes do not die with its init.
    let (status, body) = api(
        &d,
        "POST",
        &format!("/containers/create?name={}", unique("shim-hostpid")),
        r#"{"Image":"busybox","Cmd":["sh","-c","sleep 1001 & sleep 1002"],"HostConfig":{"PidMode":"host"}}"#,
    )
    .unwrap();
    assert_eq!(status, 201, "{body}");
    let hostpid = serde_json::from_str::<serde_json::Value>(&body).unwrap()["Id"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, body) = api(
        &d,
        "POST",
        &format!("/containers/create?name={}", unique("shim-always")),
        &create_body(LOOP, "always"),
    )
    .unwrap();
    assert_eq!(status, 201, "{body}");
    let always = serde_json::from_str::<serde_json::Value>(&body).unwrap()["Id"]
        .as_str()
        .unwrap()
        .to_string();
    for id in [&plain, &hostpid, &always] {
        assert_eq!(post(&d, &format!("/containers/{id}/start")), Some(204));
    }
    settled(&d, "after the starts");
    let shim_of = |id: &str| {
        shim_procs(&d.exec_root())
            .into_iter()
            .find(|s| s.id == id)
            .unwrap_or_else(|| panic!("no shim for {id}"))
            .pid
    };
    let always_pid = state(&d, &always).unwrap().pid;
    for id in [&plain, &hostpid, &always] {
        // SAFETY: kill has no memory-safety preconditions.
        unsafe { libc::kill(shim_of(id), libc::SIGKILL) };
    }
    for id in [&plain, &hostpid] {
        assert!(
            eventually(20, || state(&d, id).is_some_and(|c| !c.running)),
            "{:?}",
            state(&d, id)
        );
        let c = state(&d, id).unwrap();
        assert_eq!((c.status.as_str(), c.exit_code), ("exited", 137), "{c:?}");
        assert!(c.error.contains("shim"), "State.Error: {:?}", c.error);
    }
    // The restart policy: one new copy, the old one gone.
    assert!(
        eventually(20, || state(&d, &always).is_some_and(|c| c.running
            && c.restart_count == 1
            && c.pid != always_pid)),
        "{:?}",
        state(&d, &always)
    );
    settled(&d, "after the shims were killed");
    assert!(!berth_e2e::faults::alive(always_pid as i32));
    // stop of the stopped one says so; start runs exactly one copy.
    assert_eq!(post(&d, &format!("/containers/{plain}/stop")), Some(304));
    assert_eq!(post(&d, &format!("/containers/{plain}/start")), Some(204));
    settled(&d, "after a start of a container whose shim was killed");
    remove_all(&d);
}

/// A shim killed while berthd is down: its container dies with it at once (the init's
/// parent-death signal), and the restarted daemon records it as killed.
#[test]
fn shim_killed_while_daemon_is_down() {
    let Some(mut d) = Daemon::with_busybox() else {
        return;
    };
    let id = create(&d, &unique("shim-down"), LOOP);
    assert_eq!(post(&d, &format!("/containers/{id}/start")), Some(204));
    let pid = state(&d, &id).unwrap().pid as i32;
    d.kill9();
    let shim = shim_procs(&d.exec_root())
        .into_iter()
        .find(|s| s.id == id)
        .unwrap();
    // SAFETY: kill has no memory-safety preconditions.
    unsafe { libc::kill(shim.pid, libc::SIGKILL) };
    assert!(
        eventually(10, || !berth_e2e::faults::alive(pid)),
        "the container's process outlived its shim"
    );
    d.restart();
    settled(&d, "after the restart");
    let c = state(&d, &id).unwrap();
    assert_eq!((c.status.as_str(), c.exit_code), ("exited", 137), "{c:?}");
    assert!(c.error.contains("shim"), "State.Error: {:?}", c.error);
    remove_all(&d);
}

// ---------------------------------------------------------------------------------------
// Item 2: a daemon killed during starts leaves no orphan shim.

/// Eight starts in flight when berthd dies (at the fourth that has its container created):
/// after a restart every record agrees with what runs, no shim is left unwatched, each
/// container can be removed without leaving anything, and starts run one copy each.
#[test]
fn daemon_killed_during_starts_leaves_no_orphans() {
    let Some(mut d) = Daemon::with_busybox() else {
        return;
    };
    let ids: Vec<String> = (0..8)
        .map(|i| create(&d, &unique(&format!("starts{i}-")), LOOP))
        .collect();
    assert!(arm(&mut d, "start.created@4"));
    std::thread::scope(|s| {
        for id in &ids {
            let d = &d;
            s.spawn(move || post(d, &format!("/containers/{id}/start")));
        }
    });
    crashed_at(&mut d, "start.created@4");
    // Half of them removed as they are, the others started (once each) and removed.
    for (i, id) in ids.iter().enumerate() {
        if i % 2 == 0 {
            let s = api(&d, "DELETE", &format!("/containers/{id}?force=1"), "");
            assert!(matches!(s, Some((204, _))), "{s:?}");
        } else {
            let s = post(&d, &format!("/containers/{id}/start"));
            assert!(matches!(s, Some(204 | 304)), "{s:?}");
        }
    }
    settled(&d, "after removing and starting them");
    remove_all(&d);
}

// ---------------------------------------------------------------------------------------
// Item 3: descriptors inherited by berthd reach no shim.

#[test]
fn inherited_descriptors_stay_out_of_shims() {
    if berth_e2e::skip_unless_root() {
        return;
    }
    let marker = tempfile::NamedTempFile::new().unwrap();
    let file = std::fs::File::create(marker.path()).unwrap();
    let d = Daemon::start_inheriting(251, file);
    d.load("busybox.tar");
    let id = create(&d, &unique("fds"), LOOP);
    assert_eq!(post(&d, &format!("/containers/{id}/start")), Some(204));
    let pid = state(&d, &id).unwrap().pid as i32;
    // berthd keeps it, close-on-exec.
    let berthd = d.pid().unwrap();
    let flags = std::fs::read_to_string(format!("/proc/{berthd}/fdinfo/251")).unwrap();
    let flags = flags
        .lines()
        .find_map(|l| l.strip_prefix("flags:"))
        .map(|f| u32::from_str_radix(f.trim(), 8).unwrap())
        .unwrap();
    assert_ne!(
        flags & libc::O_CLOEXEC as u32,
        0,
        "fd 251 of berthd: {flags:o}"
    );
    let shim = shim_procs(&d.exec_root())
        .into_iter()
        .find(|s| s.id == id)
        .unwrap();
    for p in [shim.pid, pid] {
        let fds: Vec<String> = std::fs::read_dir(format!("/proc/{p}/fd"))
            .unwrap()
            .flatten()
            .map(|e| {
                let target = std::fs::read_link(e.path()).unwrap_or_default();
                format!(
                    "{} -> {}",
                    e.file_name().to_string_lossy(),
                    target.display()
                )
            })
            .collect();
        assert!(
            !fds.iter()
                .any(|f| f.starts_with("251 ") || f.contains(&*marker.path().to_string_lossy())),
            "process {p} holds the inherited descriptor: {fds:?}"
        );
    }
    remove_all(&d);
}

// ---------------------------------------------------------------------------------------
// Found by the harness.

/// `kill` of a container between two runs of its restart policy: as dockerd, 204 and the
/// restart called off, also after a crash (the random harness had it answer 409 and the
/// policy start it again).
#[test]
fn kill_calls_off_a_pending_restart() {
    let Some(mut d) = Daemon::with_busybox() else {
        return;
    };
    let (status, body) = api(
        &d,
        "POST",
        &format!("/containers/create?name={}", unique("restarting")),
        &create_body(r#"["sh","-c","exit 1"]"#, "always"),
    )
    .unwrap();
    assert_eq!(status, 201, "{body}");
    let id = serde_json::from_str::<serde_json::Value>(&body).unwrap()["Id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(post(&d, &format!("/containers/{id}/start")), Some(204));
    // The back-off doubles: by the third restart it waits 400 ms.
    assert!(eventually(20, || state(&d, &id)
        .is_some_and(|c| c.restarting && c.restart_count >= 3)));
    assert_eq!(post(&d, &format!("/containers/{id}/kill")), Some(204));
    let count = state(&d, &id).unwrap().restart_count;
    d.kill9();
    d.restart();
    std::thread::sleep(Duration::from_millis(1500));
    let c = state(&d, &id).unwrap();
    assert_eq!(
        (c.status.as_str(), c.restart_count),
        ("exited", count),
        "{c:?}"
    );
    remove_all(&d);
}

// ---------------------------------------------------------------------------------------
// The harness: chosen points.

/// What a scenario left to check after the restart.
enum After {
    /// The container (by id) runs, or does not.
    Running(String, bool),
    /// The container exited with this code.
    Exited(String, i64),
    /// The container (by id) is gone.
    Gone(String),
    /// The container (by id) has this name.
    Named(String, String),
    /// An image with this tag exists.
    Image(String),
    /// Nothing beyond the invariants.
    Nothing,
}

/// Prepare, arm `point`, trigger it, restart, check.
fn scenario(d: &mut Daemon, point: &str) {
    let name = unique("pt");
    let after = match point {
        "create.files" | "create.recorded" => {
            assert!(arm(d, point));
            let r = api(
                d,
                "POST",
                &format!("/containers/create?name={name}"),
                &create_body(LOOP, ""),
            );
            assert!(r.is_none(), "answered: {r:?}");
            crashed_at(d, point);
            After::Nothing
        }
        "start.bundle" | "start.created" | "start.exec" | "start.recorded" => {
            let id = create(d, &name, LOOP);
            assert!(arm(d, point));
            assert_eq!(post(d, &format!("/containers/{id}/start")), None);
            crashed_at(d, point);
            let running = matches!(point, "start.exec" | "start.recorded");
            After::Running(id, running)
        }
        "exit.reported" => {
            let id = create(d, &name, r#"["sh","-c","sleep 0.2; exit 3"]"#);
            assert!(arm(d, point));
            assert_eq!(post(d, &format!("/containers/{id}/start")), Some(204));
            crashed_at(d, point);
            After::Exited(id, 3)
        }
        "stop.signalled" | "kill.signalled" => {
            let id = create(d, &name, LOOP);
            assert_eq!(post(d, &format!("/containers/{id}/start")), Some(204));
            assert!(arm(d, point));
            let verb = if point == "stop.signalled" {
                "stop"
            } else {
                "kill"
            };
            assert_eq!(post(d, &format!("/containers/{id}/{verb}")), None);
            crashed_at(d, point);
            After::Exited(id, if verb == "stop" { 0 } else { 137 })
        }
        "exec.started" => {
            let id = create(d, &name, LOOP);
            assert_eq!(post(d, &format!("/containers/{id}/start")), Some(204));
            assert!(arm(d, point));
            let (status, body) = api(
                d,
                "POST",
                &format!("/containers/{id}/exec"),
                r#"{"Cmd":["sleep","1000"]}"#,
            )
            .unwrap();
            assert_eq!(status, 201, "{body}");
            let exec: serde_json::Value = serde_json::from_str(&body).unwrap();
            let exec = exec["Id"].as_str().unwrap();
            let r = api(
                d,
                "POST",
                &format!("/exec/{exec}/start"),
                r#"{"Detach":true}"#,
            );
            assert!(r.is_none(), "answered: {r:?}");
            crashed_at(d, point);
            After::Running(id, true)
        }
        "remove.ended" | "remove.renamed" | "remove.unrecorded" => {
            let id = create(d, &name, LOOP);
            assert_eq!(post(d, &format!("/containers/{id}/start")), Some(204));
            assert!(arm(d, point));
            let r = api(d, "DELETE", &format!("/containers/{id}?force=1"), "");
            assert!(r.is_none(), "answered: {r:?}");
            crashed_at(d, point);
            if point == "remove.ended" {
                After::Nothing
            } else {
                After::Gone(id)
            }
        }
        "load.stored" => {
            assert!(arm(d, point));
            let path = image("layers-test.docker.tar");
            let out = d.berth(&["load", "-i", path.to_str().unwrap()]);
            assert_ne!(out.code(), 0, "{}", out.stdout());
            crashed_at(d, point);
            After::Image("layers-test:1".into())
        }
        "commit.frozen" | "commit.stored" => {
            let id = create(d, &name, LOOP);
            assert_eq!(post(d, &format!("/containers/{id}/start")), Some(204));
            assert!(arm(d, point));
            let tag = unique("committed");
            let r = post(d, &format!("/commit?container={id}&repo={tag}&tag=v1"));
            assert_eq!(r, None);
            crashed_at(d, point);
            if point == "commit.stored" {
                After::Image(format!("{tag}:v1"))
            } else {
                After::Running(id, true)
            }
        }
        "rename.saved" => {
            let id = create(d, &name, LOOP);
            assert!(arm(d, point));
            let new = unique("renamed");
            assert_eq!(
                post(d, &format!("/containers/{id}/rename?name={new}")),
                None
            );
            crashed_at(d, point);
            // The new name was committed durably before the crash.
            After::Named(id, new)
        }
        other => panic!("no scenario for fault point {other}"),
    };
    match after {
        After::Running(id, running) => {
            let c = state(d, &id).unwrap();
            assert_eq!(c.running, running, "after {point}: {c:?}");
            assert!(!c.paused, "after {point}: {c:?}");
        }
        After::Exited(id, code) => {
            // A signal sent before the crash may still be on its way (the shell traps
            // TERM once its `sleep 1` ends).
            eventually(10, || state(d, &id).is_some_and(|c| !c.running));
            let c = state(d, &id).unwrap();
            assert_eq!(
                (c.running, c.exit_code),
                (false, code),
                "after {point}: {c:?}"
            );
        }
        After::Gone(id) => assert!(state(d, &id).is_none(), "after {point}"),
        After::Named(id, name) => {
            assert_eq!(state(d, &id).unwrap().name, name, "after {point}");
        }
        After::Image(tag) => {
            assert!(
                images(d).unwrap().values().flatten().any(|t| *t == tag),
                "after {point}: no {tag}"
            );
        }
        After::Nothing => {}
    }
    // Whatever the crash left can be started, stopped and removed.
    for (id, c) in containers(d).unwrap() {
        if !c.running {
            let s = post(d, &format!("/containers/{id}/start"));
            assert_eq!(s, Some(204), "start after {point}: {c:?}");
        }
        let s = post(d, &format!("/containers/{id}/stop?t=5"));
        assert_eq!(s, Some(204), "stop after {point}");
    }
    remove_all(d);
}

/// Every fault point of berthd, one crash each, on one daemon.
#[test]
fn crash_at_each_fault_point() {
    let Some(mut d) = Daemon::with_busybox() else {
        return;
    };
    for point in berth_e2e::faults::POINTS {
        eprintln!("fault point {point}");
        scenario(&mut d, point);
    }
}

/// `restart` is a stop and a start: crashes in its start half leave the container stopped
/// (the start was not answered) with nothing of the new run.
#[test]
fn crash_during_restart() {
    let Some(mut d) = Daemon::with_busybox() else {
        return;
    };
    for point in ["start.bundle", "start.created", "start.exec"] {
        let id = create(&d, &unique("restart"), LOOP);
        assert_eq!(post(&d, &format!("/containers/{id}/start")), Some(204));
        assert!(arm(&mut d, point));
        assert_eq!(post(&d, &format!("/containers/{id}/restart?t=5")), None);
        crashed_at(&mut d, point);
        let c = state(&d, &id).unwrap();
        assert_eq!(c.running, point == "start.exec", "after {point}: {c:?}");
        remove_all(&d);
    }
}

// ---------------------------------------------------------------------------------------
// The harness: random faults.

/// What a worker knows of one of its containers from the answers it got (None: an
/// operation on it was cut by the crash, either outcome is fine).
#[derive(Debug, Clone)]
struct Model {
    id: String,
    name: Option<String>,
    exists: Option<bool>,
    running: Option<bool>,
}

#[derive(Debug, Clone, Copy)]
enum Op {
    Create,
    Start,
    Stop,
    Kill,
    Restart,
    Exec,
    Rm,
    Rename,
    Commit,
    Load,
}

const OPS: &[Op] = &[
    Op::Create,
    Op::Create,
    Op::Start,
    Op::Start,
    Op::Stop,
    Op::Kill,
    Op::Restart,
    Op::Exec,
    Op::Rm,
    Op::Rename,
    Op::Commit,
    Op::Load,
];

/// One worker's run of random operations on its own containers until the daemon stops
/// answering (or `ops` are done). Returns what it knows, and images it got acknowledged.
/// What a worker accepts besides success.
#[derive(Debug, Clone, Copy)]
struct Tolerate {
    /// The data root is full: an operation may fail saying `no space left on device`.
    full_disk: bool,
    /// A shim is killed meanwhile: an operation on its container may fail (its shim went
    /// away under it).
    shim_kills: bool,
}

/// An answer other than the expected ones: a failure `tol` allows was a refusal (it is
/// answered; the caller forgets what it knew of the container); anything else is a bug.
fn refused(tol: Tolerate, status: u16, body: &str, what: &str) -> bool {
    let enospc = body.to_lowercase().contains("no space left on device");
    if status == 500 && (tol.full_disk && enospc || tol.shim_kills) {
        return true;
    }
    panic!("{what}: {status} {body}")
}

fn worker(
    d: &Daemon,
    mut rng: Rng,
    models: &mut Vec<Model>,
    ops: usize,
    log: &std::sync::Mutex<Vec<String>>,
    tol: Tolerate,
) -> Vec<String> {
    let mut acked_images = Vec::new();
    for _ in 0..ops {
        let live: Vec<usize> = (0..models.len())
            .filter(|&i| models[i].exists == Some(true))
            .collect();
        let op = if live.is_empty() {
            Op::Create
        } else {
            *rng.pick(OPS)
        };
        let target = (!live.is_empty()).then(|| *rng.pick(&live));
        let path_of = |i: usize, rest: &str| format!("/containers/{}/{rest}", models[i].id);
        let answered = match (op, target) {
            (Op::Create, _) | (_, None) => {
                let name = unique("rnd");
                let policy = *rng.pick(&["", "", "unless-stopped", "always"]);
                match api(
                    d,
                    "POST",
                    &format!("/containers/create?name={name}"),
                    &create_body(LOOP, policy),
                ) {
                    Some((201, body)) => {
                        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
                        models.push(Model {
                            id: v["Id"].as_str().unwrap().to_string(),
                            name: Some(name),
                            exists: Some(true),
                            running: Some(false),
                        });
                        true
                    }
                    Some((s, b)) => refused(tol, s, &b, "create"),
                    None => false,
                }
            }
            (Op::Start | Op::Restart, Some(i)) => {
                let path = if matches!(op, Op::Start) {
                    path_of(i, "start")
                } else {
                    path_of(i, "restart?t=5")
                };
                match api(d, "POST", &path, "") {
                    Some((204, _)) => {
                        models[i].running = Some(true);
                        true
                    }
                    // Already running: unless it was known to run, a signal sent before a
                    // crash may still end it.
                    Some((304, _)) => {
                        models[i].running = models[i].running.filter(|r| *r);
                        true
                    }
                    Some((s, b)) => {
                        models[i].running = None;
                        refused(tol, s, &b, &path)
                    }
                    None => {
                        models[i].running = None;
                        false
                    }
                }
            }
            (Op::Stop | Op::Kill, Some(i)) => {
                let path = if matches!(op, Op::Stop) {
                    path_of(i, "stop?t=5")
                } else {
                    path_of(i, "kill")
                };
                match api(d, "POST", &path, "") {
                    // 409: kill of a container that is not running.
                    Some((204 | 304 | 409, _)) => {
                        models[i].running = Some(false);
                        true
                    }
                    Some((s, b)) => {
                        models[i].running = None;
                        refused(tol, s, &b, &path)
                    }
                    None => {
                        models[i].running = None;
                        false
                    }
                }
            }
            (Op::Exec, Some(i)) => {
                match api(
                    d,
                    "POST",
                    &path_of(i, "exec"),
                    r#"{"Cmd":["sh","-c","sleep 1000"]}"#,
                ) {
                    Some((201, body)) => {
                        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
                        let exec = v["Id"].as_str().unwrap();
                        api(
                            d,
                            "POST",
                            &format!("/exec/{exec}/start"),
                            r#"{"Detach":true}"#,
                        )
                        .is_some()
                    }
                    // 409: not running.
                    Some((409, _)) => true,
                    Some((s, b)) => refused(tol, s, &b, "exec"),
                    None => false,
                }
            }
            (Op::Rm, Some(i)) => match api(
                d,
                "DELETE",
                &format!("/containers/{}?force=1", models[i].id),
                "",
            ) {
                Some((204, _)) => {
                    models[i].exists = Some(false);
                    models[i].running = Some(false);
                    true
                }
                Some((s, b)) => refused(tol, s, &b, "rm"),
                None => {
                    models[i].exists = None;
                    models[i].running = None;
                    false
                }
            },
            (Op::Rename, Some(i)) => {
                let new = unique("rnd-re");
                match api(d, "POST", &path_of(i, &format!("rename?name={new}")), "") {
                    Some((204, _)) => {
                        models[i].name = Some(new);
                        true
                    }
                    Some((s, b)) => refused(tol, s, &b, "rename"),
                    None => {
                        models[i].name = None;
                        false
                    }
                }
            }
            (Op::Commit, Some(i)) => {
                let tag = unique("rnd-img");
                match api(
                    d,
                    "POST",
                    &format!("/commit?container={}&repo={tag}&tag=v1", models[i].id),
                    "",
                ) {
                    Some((201, _)) => {
                        acked_images.push(format!("{tag}:v1"));
                        true
                    }
                    Some((s, b)) => refused(tol, s, &b, "commit"),
                    None => false,
                }
            }
            (Op::Load, _) => {
                let path = image("layers-test.docker.tar");
                let out = d.berth(&["load", "-i", path.to_str().unwrap()]);
                if out.code() == 0 {
                    acked_images.push("layers-test:1".into());
                    true
                } else {
                    tol.full_disk
                        && out
                            .stderr()
                            .to_lowercase()
                            .contains("no space left on device")
                }
            }
        };
        let line = match target {
            Some(i) if !matches!(op, Op::Create) => format!(
                "{op:?} {} -> answered={answered} model={:?}",
                &models[i].id[..12],
                models[i]
            ),
            _ => format!("{op:?} -> answered={answered} {:?}", models.last()),
        };
        log.lock().unwrap().push(line);
        if !answered {
            break;
        }
    }
    acked_images
}

/// Every acknowledged operation holds: what does not.
fn check_models(d: &Daemon, models: &[Model], acked_images: &[String]) -> Vec<String> {
    let mut bad = Vec::new();
    let cs = containers(d).unwrap();
    for m in models {
        let c = cs.get(&m.id);
        match (m.exists, c) {
            (Some(true), None) => bad.push(format!("acknowledged container gone: {m:?}")),
            (Some(false), Some(c)) => bad.push(format!("removed container back: {c:?}")),
            _ => {}
        }
        let Some(c) = c else { continue };
        if m.name.as_ref().is_some_and(|n| *n != c.name) {
            bad.push(format!("renamed container lost its name: {m:?} is {c:?}"));
        }
        if m.running.is_some_and(|r| r != c.running) {
            bad.push(format!("{m:?} is {c:?}"));
        }
    }
    let tags: Vec<String> = images(d).unwrap().into_values().flatten().collect();
    for t in acked_images {
        if !tags.contains(t) {
            bad.push(format!("acknowledged image {t} is gone"));
        }
    }
    bad
}

/// Random workloads from up to three clients, berthd killed after a random delay (or at a
/// random fault point, or a random shim killed instead), then restarted and checked.
#[test]
fn random_faults() {
    let Some(mut d) = Daemon::with_busybox() else {
        return;
    };
    let seed = seed();
    let iterations: usize = std::env::var("BERTH_FAULT_ITERATIONS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(8);
    eprintln!("random_faults: BERTH_FAULT_SEED={seed} BERTH_FAULT_ITERATIONS={iterations}");
    let mut run = RandomRun::new(seed);
    run.iterations(&mut d, iterations, false);
    remove_all(&d);
}

/// The random workload on a full data root: every operation either works or fails saying
/// `no space left on device` and changes nothing, crashes change nothing either; once
/// space is freed, the same workload runs as usual.
#[test]
fn random_faults_on_a_full_disk() {
    if berth_e2e::skip_unless_root() {
        return;
    }
    let mut d = Daemon::start_on_small_disk(96 << 20);
    d.load("busybox.tar");
    let seed = seed();
    // A quarter of the random run's iterations (4 by default) on the full disk.
    let iterations: usize = std::env::var("BERTH_FAULT_ITERATIONS")
        .ok()
        .and_then(|s| s.parse::<usize>().ok())
        .map_or(4, |n| (n / 4).max(1));
    eprintln!("random_faults_on_a_full_disk: BERTH_FAULT_SEED={seed} ({iterations} iterations)");
    let mut run = RandomRun::new(seed);
    // Containers to work on while there is room.
    run.iterations(&mut d, 1, false);
    let filler = d.data_root().join("filler");
    fill(&filler);
    run.iterations(&mut d, iterations, true);
    std::fs::remove_file(&filler).unwrap();
    run.iterations(&mut d, 2, false);
    remove_all(&d);
}

/// The state of a random run across its iterations.
struct RandomRun {
    seed: u64,
    rng: Rng,
    done: usize,
    models: Vec<Vec<Model>>,
    acked_images: Vec<String>,
}

impl RandomRun {
    fn new(seed: u64) -> RandomRun {
        RandomRun {
            seed,
            rng: Rng::new(seed),
            done: 0,
            models: vec![Vec::new(); 3],
            acked_images: Vec::new(),
        }
    }

    /// `n` iterations: a workload, a fault, a restart, the checks.
    fn iterations(&mut self, d: &mut Daemon, n: usize, full_disk: bool) {
        for _ in 0..n {
            self.iteration(d, full_disk);
            self.done += 1;
        }
    }

    fn iteration(&mut self, d: &mut Daemon, full_disk: bool) {
        let (seed, it) = (self.seed, self.done);
        let rng = &mut self.rng;
        let models = &mut self.models;
        let acked_images = &mut self.acked_images;
        let workers = models.len();
        let mut ctx = format!("iteration {it} of seed {seed}");
        // A fault point armed at random, or none (a kill from outside instead).
        let armed = rng.below(3) == 0;
        if armed {
            let point = *rng.pick(berth_e2e::faults::POINTS);
            let at = 1 + rng.below(3);
            ctx = format!("{ctx} ({point}@{at})");
            if !arm(d, &format!("{point}@{at}")) {
                // It died at the point while recovering: a crash in recovery, checked
                // like any other.
                d.set_env("BERTH_FAULT", None);
                d.restart();
                settled(d, &ctx);
                return;
            }
        }
        let kill_shim = !armed && rng.below(4) == 0;
        let delay = Duration::from_millis(rng.below(800));
        let seeds: Vec<u64> = (0..workers).map(|_| rng.next_u64()).collect();
        let ops = 3 + rng.below(10) as usize;
        let pid = d.pid().unwrap() as i32;
        let mut got = Vec::new();
        let log = std::sync::Mutex::new(vec![format!(
            "{ctx}: armed={armed} kill_shim={kill_shim} delay={delay:?} ops={ops}"
        )]);
        std::thread::scope(|s| {
            let d = &*d;
            let log = &log;
            let handles: Vec<_> = models
                .iter_mut()
                .zip(&seeds)
                .map(|(m, seed)| {
                    let tol = Tolerate {
                        full_disk,
                        shim_kills: kill_shim,
                    };
                    s.spawn(move || worker(d, Rng::new(*seed), m, ops, log, tol))
                })
                .collect();
            std::thread::sleep(delay);
            if kill_shim {
                let shims = shim_procs(&d.exec_root());
                if let Some(sh) = shims.first() {
                    // SAFETY: kill has no memory-safety preconditions.
                    unsafe { libc::kill(sh.pid, libc::SIGKILL) };
                }
            } else if !armed {
                // SAFETY: kill has no memory-safety preconditions.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
            for h in handles {
                got.extend(h.join().unwrap_or_else(|_| {
                    panic!(
                        "{ctx}: a worker failed\n--- operations:\n{}\n--- berthd log (tail):\n{}",
                        log.lock().unwrap().join("\n"),
                        tail(&d.log(), 60)
                    )
                }));
            }
        });
        acked_images.extend(got);
        if kill_shim {
            // A killed shim takes its container: whatever a worker believed of it no
            // longer holds.
            for m in models.iter_mut().flatten() {
                m.running = None;
            }
            settled_with(d, &ctx, &log, !full_disk);
        } else {
            if armed && !d.wait_down(1) {
                // The point was not reached: kill it from outside.
                d.kill9();
            }
            d.kill9();
            d.set_env("BERTH_FAULT", None);
            d.restart();
            settled_with(d, &ctx, &log, true);
        }
        let all: Vec<Model> = models.iter().flatten().cloned().collect();
        let bad = check_models(d, &all, acked_images);
        assert!(
            bad.is_empty(),
            "{ctx}:\n{}\n--- operations:\n{}\n--- berthd log (tail):\n{}",
            bad.join("\n"),
            log.lock().unwrap().join("\n"),
            tail(&d.log(), 60)
        );
        // Keep the number of containers bounded: forget removed ones, remove some.
        for m in models.iter_mut() {
            m.retain(|m| m.exists != Some(false));
            while m.len() > 4 {
                let gone = m.remove(0);
                let r = api(d, "DELETE", &format!("/containers/{}?force=1", gone.id), "");
                assert!(matches!(r, Some((204 | 404, _))), "{ctx}: {r:?}");
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// A full disk.

fn fill(path: &std::path::Path) -> u64 {
    use std::io::Write;
    let mut f = std::fs::File::create(path).unwrap();
    let chunk = vec![0xa5u8; 64 * 1024];
    let mut written = 0;
    while f.write_all(&chunk).is_ok() {
        written += chunk.len() as u64;
    }
    // The last pages, byte by byte.
    while f.write_all(&[0]).is_ok() {
        written += 1;
    }
    let _ = f.sync_all();
    written
}

/// On a full data root, operations fail with a clear `no space left on device` and change
/// nothing; a crash then changes nothing either; once space is freed everything works.
#[test]
fn full_disk() {
    if berth_e2e::skip_unless_root() {
        return;
    }
    let mut d = Daemon::start_on_small_disk(64 << 20);
    d.load("busybox.tar");
    let running = create(&d, &unique("disk-run"), LOOP);
    assert_eq!(post(&d, &format!("/containers/{running}/start")), Some(204));
    let stopped = create(&d, &unique("disk-stopped"), LOOP);
    let spare = create(&d, &unique("disk-spare"), LOOP);
    let filler = d.data_root().join("filler");
    fill(&filler);
    let enospc = |what: &str, text: &str| {
        assert!(
            text.to_lowercase().contains("no space left on device"),
            "{what}: {text}"
        );
    };
    let path = image("layers-test.docker.tar");
    let out = d.berth(&["load", "-i", path.to_str().unwrap()]);
    assert_ne!(out.code(), 0);
    enospc("load", &format!("{}{}", out.stdout(), out.stderr()));
    let (status, body) = api(
        &d,
        "POST",
        &format!("/containers/create?name={}", unique("disk-new")),
        &create_body(LOOP, ""),
    )
    .unwrap();
    assert_eq!(status, 500, "{body}");
    enospc("create", &body);
    let (status, body) = api(
        &d,
        "POST",
        &format!("/commit?container={running}&repo={}", unique("disk-img")),
        "",
    )
    .unwrap();
    assert_eq!(status, 500, "{body}");
    enospc("commit", &body);
    // Renames commit the record durably: once the metadata store's file has to grow, the
    // disk refuses it.
    let mut refused = None;
    for _ in 0..500 {
        let r = api(
            &d,
            "POST",
            &format!("/containers/{stopped}/rename?name={}", unique("disk-re")),
            "",
        )
        .unwrap();
        if r.0 != 204 {
            refused = Some(r);
            break;
        }
    }
    let (status, body) = refused.expect("500 renames on a full disk all worked");
    assert_eq!(status, 500, "{body}");
    enospc("rename", &body);
    // Tags commit the image store's records, with nothing else to write.
    let mut refused = None;
    for i in 0..500 {
        let r = api(
            &d,
            "POST",
            &format!("/images/busybox/tag?repo=disk-tag&tag=t{i}"),
            "",
        )
        .unwrap();
        if r.0 != 201 {
            refused = Some(r);
            break;
        }
    }
    let (status, body) = refused.expect("500 tags on a full disk all worked");
    assert_eq!(status, 500, "{body}");
    enospc("tag", &body);
    // A start whose record cannot be written: the container runs (and is watched) or the
    // start fails and it does not run.
    let started = api(&d, "POST", &format!("/containers/{spare}/start"), "").unwrap();
    settled_as(&d, "after failures on a full disk", false);
    let c = state(&d, &spare).unwrap();
    assert_eq!(c.running, started.0 == 204, "{started:?}: {c:?}");
    // Space again, without a restart: the metadata stores work again (redb latches an I/O
    // error until the database is opened again).
    std::fs::remove_file(&filler).unwrap();
    let renamed = unique("disk-re");
    let r = api(
        &d,
        "POST",
        &format!("/containers/{stopped}/rename?name={renamed}"),
        "",
    );
    assert!(matches!(r, Some((204, _))), "{r:?}");
    let r = api(
        &d,
        "POST",
        "/images/busybox/tag?repo=disk-tag&tag=after",
        "",
    );
    assert!(matches!(r, Some((201, _))), "{r:?}");
    // A crash on the full disk, and a restart on it.
    fill(&filler);
    d.kill9();
    d.restart();
    settled(&d, "after a restart on a full disk");
    assert!(state(&d, &running).unwrap().running);
    // Space again: everything works.
    std::fs::remove_file(&filler).unwrap();
    let out = d.berth(&["load", "-i", path.to_str().unwrap()]);
    out.ok();
    assert_eq!(post(&d, &format!("/containers/{stopped}/start")), Some(204));
    let out = d.berth(&["run", "--rm", "busybox", "echo", "fine"]);
    out.ok();
    assert_eq!(out.stdout(), "fine\n");
    let (status, body) = api(
        &d,
        "POST",
        &format!("/commit?container={running}&repo={}", unique("disk-img")),
        "",
    )
    .unwrap();
    assert_eq!(status, 201, "{body}");
    settled(&d, "after space was freed");
    remove_all(&d);
}
