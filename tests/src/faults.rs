//! The fault harness's view of a daemon: what its API says (containers, images) and what
//! really is on the host (processes, shims, cgroups, mounts, directories), and the
//! invariants that must hold between the two after any crash and restart
//! ([`check`], [`settle`]). Used by `tests/tests/faults.rs`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::{Daemon, cgroup_roots};

/// berthd's fault points (its `BERTH_FAULT`), as the engine lists them.
pub use berth_engine::fault::POINTS;

/// `GET`/`POST`/`DELETE` through the API: status and body (chunked bodies decoded). None
/// when the daemon does not answer.
pub fn api(d: &Daemon, method: &str, path: &str, body: &str) -> Option<(u16, String)> {
    let resp = d.raw(method, path, body)?;
    let (head, body) = resp.split_once("\r\n\r\n")?;
    let status: u16 = head.split_whitespace().nth(1)?.parse().ok()?;
    let chunked = head.lines().any(|l| {
        l.to_ascii_lowercase()
            .starts_with("transfer-encoding: chunked")
    });
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_string()
    };
    Some((status, body))
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].strip_prefix("\r\n").unwrap_or(&rest[n..]);
    }
    out
}

/// `api` whose answer must be JSON with status 200.
pub fn api_json(d: &Daemon, path: &str) -> Result<Value, String> {
    let (status, body) = api(d, "GET", path, "").ok_or(format!("GET {path}: no answer"))?;
    if status != 200 {
        return Err(format!("GET {path}: {status} {body}"));
    }
    serde_json::from_str(&body).map_err(|e| format!("GET {path}: {e}: {body}"))
}

/// One container as `inspect` shows it.
#[derive(Debug, Clone)]
pub struct Container {
    pub id: String,
    /// Without the leading `/`.
    pub name: String,
    pub status: String,
    pub running: bool,
    pub paused: bool,
    pub restarting: bool,
    pub pid: i64,
    pub exit_code: i64,
    pub error: String,
    pub started_at: String,
    pub restart_count: i64,
}

impl Container {
    /// Whether it ever ran.
    pub fn started(&self) -> bool {
        !self.started_at.starts_with("0001-")
    }
}

/// Every container, by id.
pub fn containers(d: &Daemon) -> Result<BTreeMap<String, Container>, String> {
    let list = api_json(d, "/containers/json?all=1")?;
    let mut out = BTreeMap::new();
    for c in list.as_array().ok_or("container list is not an array")? {
        let id = c["Id"].as_str().ok_or("container without Id")?;
        let v = match api_json(d, &format!("/containers/{id}/json")) {
            Ok(v) => v,
            // Removed between the list and the inspect (a restart policy, --rm).
            Err(e) if e.contains(" 404 ") => continue,
            Err(e) => return Err(e),
        };
        let s = &v["State"];
        out.insert(
            id.to_string(),
            Container {
                id: id.to_string(),
                name: v["Name"]
                    .as_str()
                    .unwrap_or("")
                    .trim_start_matches('/')
                    .into(),
                status: s["Status"].as_str().unwrap_or("").into(),
                running: s["Running"].as_bool().unwrap_or(false),
                paused: s["Paused"].as_bool().unwrap_or(false),
                restarting: s["Restarting"].as_bool().unwrap_or(false),
                pid: s["Pid"].as_i64().unwrap_or(0),
                exit_code: s["ExitCode"].as_i64().unwrap_or(0),
                error: s["Error"].as_str().unwrap_or("").into(),
                started_at: s["StartedAt"].as_str().unwrap_or("").into(),
                restart_count: v["RestartCount"].as_i64().unwrap_or(0),
            },
        );
    }
    Ok(out)
}

/// Image ids (`sha256:...`) with their tags.
pub fn images(d: &Daemon) -> Result<BTreeMap<String, Vec<String>>, String> {
    let list = api_json(d, "/images/json?all=1")?;
    let mut out = BTreeMap::new();
    for i in list.as_array().ok_or("image list is not an array")? {
        let id = i["Id"].as_str().ok_or("image without Id")?.to_string();
        let tags = i["RepoTags"]
            .as_array()
            .map(|t| {
                t.iter()
                    .filter_map(|t| t.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        out.insert(id, tags);
    }
    Ok(out)
}

/// A process of the host that runs `berth-shim BUNDLE` for a bundle of `exec_root`.
#[derive(Debug, Clone)]
pub struct ShimProc {
    pub pid: i32,
    pub parent: i32,
    pub id: String,
}

/// Every shim process (and shim child that has not exec'd yet) of `exec_root`.
pub fn shim_procs(exec_root: &Path) -> Vec<ShimProc> {
    let mut out = Vec::new();
    for (pid, argv) in processes() {
        let [prog, bundle] = argv.as_slice() else {
            continue;
        };
        let bundle = Path::new(bundle);
        if !prog.ends_with("berth-shim") || bundle.parent() != Some(exec_root) {
            continue;
        }
        let parent = parent_of(pid).unwrap_or(0);
        out.push(ShimProc {
            pid,
            parent,
            id: bundle
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        });
    }
    out
}

/// Every live process (zombies have no command line) and its arguments.
fn processes() -> Vec<(i32, Vec<String>)> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(|pid| {
            let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
            let argv: Vec<String> = raw
                .split(|&b| b == 0)
                .filter(|a| !a.is_empty())
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect();
            (!argv.is_empty()).then_some((pid, argv))
        })
        .collect()
}

fn parent_of(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat[stat.rfind(')')? + 1..]
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Whether `pid` is a live process (not a zombie).
pub fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        s.rfind(')')
            .and_then(|i| s[i + 1..].split_whitespace().next().map(|st| st != "Z"))
            .unwrap_or(false)
    })
}

/// The container cgroup directories under the daemon's cgroup parent, in every hierarchy
/// (v1 controllers, the v2 root): `(hierarchy, id)` -> directory.
pub fn cgroup_dirs(d: &Daemon) -> BTreeMap<(PathBuf, String), PathBuf> {
    let mut out = BTreeMap::new();
    for root in cgroup_roots() {
        let Ok(dir) = std::fs::read_dir(root.join(&d.cgroup_parent)) else {
            continue;
        };
        for e in dir.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                let id = e.file_name().to_string_lossy().into_owned();
                out.insert((root.clone(), id), e.path());
            }
        }
    }
    out
}

fn procs_of(cgroup: &Path) -> Vec<i32> {
    std::fs::read_to_string(cgroup.join("cgroup.procs"))
        .map(|s| s.lines().filter_map(|l| l.trim().parse().ok()).collect())
        .unwrap_or_default()
}

fn is_container_id(name: &str) -> bool {
    name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit())
}

fn dir_names(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// One pass over every invariant; the problems found (empty: all hold). `restarted`: the
/// daemon was just started, so the image store swept what failed operations and crashes
/// left (`image/tmp` is empty and every layer is used); a running daemon may hold the
/// leftovers of a failed operation until then.
pub fn check(d: &Daemon, restarted: bool) -> Result<Vec<String>, String> {
    let cs = containers(d)?;
    let mut bad = Vec::new();
    let data = d.data_root();
    let exec = d.exec_root();

    // Records and their directories.
    for c in cs.values() {
        if !data.join("containers").join(&c.id).is_dir() {
            bad.push(format!("container {} ({}) has no directory", c.id, c.name));
        }
    }
    for name in dir_names(&data.join("containers")) {
        if !cs.contains_key(&name) {
            bad.push(format!("containers/{name} has no record"));
        }
    }
    for name in dir_names(&exec).into_iter().filter(|n| is_container_id(n)) {
        if !cs.contains_key(&name) {
            bad.push(format!("bundle {name} has no record"));
        }
    }

    // Shims: one per running container, none for others.
    let shims = shim_procs(&exec);
    let shim_pids: BTreeSet<i32> = shims.iter().map(|s| s.pid).collect();
    let mut per_id: BTreeMap<&str, usize> = BTreeMap::new();
    for s in &shims {
        // A shim's children that have not exec'd yet carry its command line too.
        if !shim_pids.contains(&s.parent) {
            *per_id.entry(s.id.as_str()).or_default() += 1;
        }
    }
    for (id, n) in &per_id {
        match cs.get(*id) {
            None => bad.push(format!("shim of {id} runs without a record ({n} of them)")),
            Some(c) if !c.running => bad.push(format!(
                "shim of {id} ({}) runs, but its record says {}",
                c.name, c.status
            )),
            Some(c) if *n > 1 => bad.push(format!("{n} shims run for {id} ({})", c.name)),
            Some(_) => {}
        }
    }

    // cgroups: only running containers have one, and their process is in it.
    let cgroups = cgroup_dirs(d);
    for ((root, id), dir) in &cgroups {
        match cs.get(id) {
            None => bad.push(format!("cgroup {} has no record", dir.display())),
            Some(c) if !c.running => {
                let procs = procs_of(dir);
                bad.push(format!(
                    "cgroup {} of {} ({}) is there with processes {procs:?}",
                    dir.display(),
                    c.name,
                    c.status
                ));
            }
            Some(c) => {
                if root.ends_with("freezer") {
                    let state =
                        std::fs::read_to_string(dir.join("freezer.state")).unwrap_or_default();
                    let frozen = state.trim() != "THAWED";
                    if frozen != c.paused {
                        bad.push(format!(
                            "{} is {} but its record says paused={}",
                            c.name,
                            state.trim(),
                            c.paused
                        ));
                    }
                }
            }
        }
    }
    for c in cs.values().filter(|c| c.running) {
        if c.pid <= 0 || !alive(c.pid as i32) {
            bad.push(format!(
                "{} is recorded running as pid {} which is gone",
                c.name, c.pid
            ));
            continue;
        }
        let own = std::fs::read_to_string(format!("/proc/{}/cgroup", c.pid)).unwrap_or_default();
        if !own.contains(&format!("/{}/{}", d.cgroup_parent, c.id)) {
            bad.push(format!(
                "{}'s pid {} is not in its cgroup: {own}",
                c.name, c.pid
            ));
        }
        if per_id.get(c.id.as_str()).copied().unwrap_or(0) != 1 {
            bad.push(format!("{} runs without its shim", c.name));
        }
    }

    // Nothing mounted on the host under the daemon's directories (a container's root is
    // mounted in its own mount namespace); the small disk's tmpfs is the data root itself.
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let top = d.dir.path();
    for m in mounts.lines().filter_map(|l| l.split(' ').nth(4)) {
        let p = Path::new(m);
        if p.starts_with(top) && p != data {
            bad.push(format!("{m} is mounted"));
        }
    }

    // Images: each with all its layers; no layer without an image or container using it.
    let mut used: BTreeSet<PathBuf> = BTreeSet::new();
    for id in images(d)?.keys() {
        let v = api_json(d, &format!("/images/{id}/json"))?;
        let g = &v["GraphDriver"]["Data"];
        let Some(upper) = g["UpperDir"].as_str() else {
            bad.push(format!("image {id} has no layers"));
            continue;
        };
        let lower = g["LowerDir"].as_str().unwrap_or("");
        for l in std::iter::once(upper).chain(lower.split(':').filter(|l| !l.is_empty())) {
            if !Path::new(l).is_dir() {
                bad.push(format!("image {id} misses its layer {l}"));
            }
            used.insert(PathBuf::from(l));
        }
    }
    for c in cs.values() {
        if let Ok(v) = api_json(d, &format!("/containers/{}/json", c.id)) {
            let lower = v["GraphDriver"]["Data"]["LowerDir"].as_str().unwrap_or("");
            used.extend(
                lower
                    .split(':')
                    .filter(|l| !l.is_empty())
                    .map(PathBuf::from),
            );
        }
    }
    if !restarted {
        return Ok(bad);
    }
    let layers = data.join("image").join("layers");
    for name in dir_names(&layers) {
        if !used.contains(&layers.join(&name)) {
            bad.push(format!("layer {name} is used by no image or container"));
        }
    }
    if !dir_names(&data.join("image").join("tmp")).is_empty() {
        bad.push(format!(
            "image/tmp holds {:?} after a start",
            dir_names(&data.join("image").join("tmp"))
        ));
    }
    Ok(bad)
}

/// [`check`] until every invariant holds (things settle: a shim finishes, a restart
/// policy starts a container), up to `secs`; the last problems otherwise.
pub fn settle(d: &Daemon, secs: u64, restarted: bool) -> Result<(), String> {
    let mut last = Vec::new();
    let ok = crate::eventually(secs, || match check(d, restarted) {
        Ok(bad) => {
            last = bad;
            last.is_empty()
        }
        Err(e) => {
            last = vec![e];
            false
        }
    });
    if ok { Ok(()) } else { Err(last.join("\n")) }
}

/// A small seeded generator (splitmix64): the same seed, the same run.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// One of `items`.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// A seed from the environment (`BERTH_FAULT_SEED`) or the clock.
pub fn seed() -> u64 {
    std::env::var("BERTH_FAULT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
        })
}
