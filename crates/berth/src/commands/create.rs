//! `berth create` and the flags it shares with `run` ([`CreateOpts`]), turned into the
//! typed body of `POST /containers/create` ([`create_request`]) as the docker CLI builds
//! it: `Config`, `HostConfig` (limits, mounts, security, logging...) and the health check;
//! the network flags and `NetworkingConfig` are [`super::netflags`]'.

use std::collections::BTreeMap;

use berth_client::Client;
use berth_client::models::{
    ContainerConfig, CreateRequest, DeviceMapping, HealthConfig, HostConfig, LogConfig, Mount,
    Resources, RestartPolicy, TmpfsOptions, Ulimit,
};
use clap::Args;

use super::netflags::{NetworkFlags, for_version};
use crate::exit::{CmdResult, Exit, fail};
use crate::stream::console_size;
use crate::units::{parse_bytes, parse_bytes_or_unlimited};

/// Flags shared by `create` and `run`.
#[derive(Args, Debug, Clone, Default)]
pub struct CreateOpts {
    /// Print help.
    #[arg(long, action = clap::ArgAction::Help)]
    pub help: Option<bool>,
    /// Assign a name to the container.
    #[arg(long)]
    pub name: Option<String>,
    /// Keep STDIN open even if not attached.
    #[arg(short = 'i', long)]
    pub interactive: bool,
    /// Allocate a pseudo-TTY.
    #[arg(short = 't', long)]
    pub tty: bool,
    /// Set environment variables.
    #[arg(short = 'e', long = "env")]
    pub env: Vec<String>,
    /// Read a file of environment variables.
    #[arg(long = "env-file")]
    pub env_file: Vec<String>,
    /// Overwrite the default ENTRYPOINT of the image.
    #[arg(long)]
    pub entrypoint: Option<String>,
    /// Working directory inside the container.
    #[arg(short = 'w', long = "workdir")]
    pub workdir: Option<String>,
    /// Username or UID (format: <name|uid>[:<group|gid>]).
    #[arg(short = 'u', long)]
    pub user: Option<String>,
    /// Bind mount a volume (NAME|SRC:DST[:OPTIONS], or DST alone for an anonymous one).
    #[arg(short = 'v', long = "volume")]
    pub volumes: Vec<String>,
    /// Mount volumes from the specified container(s) (NAME[:ro|rw]).
    #[arg(long = "volumes-from")]
    pub volumes_from: Vec<String>,
    /// Optional volume driver for the container.
    #[arg(long = "volume-driver")]
    pub volume_driver: Option<String>,
    /// Logging driver for the container (json-file, local, none).
    #[arg(long = "log-driver")]
    pub log_driver: Option<String>,
    /// Log driver options (KEY=VALUE).
    #[arg(long = "log-opt")]
    pub log_opt: Vec<String>,
    /// Mount a tmpfs directory (PATH[:OPTIONS], e.g. /run:size=64m).
    #[arg(long)]
    pub tmpfs: Vec<String>,
    /// Attach a filesystem mount (type=volume|bind|tmpfs,source=SRC,target=DST[,readonly]
    /// [,volume-nocopy][,volume-label=K=V][,volume-driver=D][,volume-opt=K=V]
    /// [,tmpfs-size=N][,tmpfs-mode=OCTAL]).
    #[arg(long)]
    pub mount: Vec<String>,
    /// Signal to stop the container.
    #[arg(long = "stop-signal")]
    pub stop_signal: Option<String>,
    /// Timeout (in seconds) to stop a container.
    #[arg(long = "stop-timeout")]
    pub stop_timeout: Option<i64>,
    /// Set metadata on a container.
    #[arg(short = 'l', long = "label")]
    pub labels: Vec<String>,
    /// Run an init inside the container.
    #[arg(long)]
    pub init: bool,
    /// Command to run to check health.
    #[arg(long = "health-cmd")]
    pub health_cmd: Option<String>,
    /// Time between running the check (ms|s|m|h).
    #[arg(long = "health-interval")]
    pub health_interval: Option<String>,
    /// Maximum time to allow one check to run (ms|s|m|h).
    #[arg(long = "health-timeout")]
    pub health_timeout: Option<String>,
    /// Start period for the container to initialize before counting retries (ms|s|m|h).
    #[arg(long = "health-start-period")]
    pub health_start_period: Option<String>,
    /// Consecutive failures needed to report unhealthy.
    #[arg(long = "health-retries")]
    pub health_retries: Option<i64>,
    /// Disable any container-specified HEALTHCHECK.
    #[arg(long = "no-healthcheck")]
    pub no_healthcheck: bool,
    /// Give extended privileges to this container.
    #[arg(long)]
    pub privileged: bool,
    /// Add Linux capabilities.
    #[arg(long = "cap-add")]
    pub cap_add: Vec<String>,
    /// Drop Linux capabilities.
    #[arg(long = "cap-drop")]
    pub cap_drop: Vec<String>,
    /// Security options.
    #[arg(long = "security-opt")]
    pub security_opt: Vec<String>,
    /// Runtime to use for this container.
    #[arg(long)]
    pub runtime: Option<String>,
    /// Restart policy to apply when a container exits.
    #[arg(long)]
    pub restart: Option<String>,
    /// Mount the container's root filesystem as read only.
    #[arg(long = "read-only")]
    pub read_only: bool,
    /// Automatically remove the container when it exits.
    #[arg(long)]
    pub rm: bool,
    #[command(flatten)]
    pub resources: ResourceOpts,
    #[command(flatten)]
    pub net: NetworkFlags,
    /// Disable OOM Killer.
    #[arg(long = "oom-kill-disable")]
    pub oom_kill_disable: bool,
    /// Ulimit options (name=soft[:hard]).
    #[arg(long = "ulimit")]
    pub ulimits: Vec<String>,
    /// Size of /dev/shm.
    #[arg(long = "shm-size")]
    pub shm_size: Option<String>,
    /// Sysctl options.
    #[arg(long = "sysctl")]
    pub sysctls: Vec<String>,
    /// Add additional groups to join.
    #[arg(long = "group-add")]
    pub group_add: Vec<String>,
    /// Add a host device to the container (HOST[:CONTAINER[:PERMS]]).
    #[arg(long = "device")]
    pub devices: Vec<String>,
    /// PID namespace to use (host, container:NAME).
    #[arg(long)]
    pub pid: Option<String>,
    /// IPC mode to use (private, shareable, host, container:NAME).
    #[arg(long)]
    pub ipc: Option<String>,
    /// UTS namespace to use (host).
    #[arg(long)]
    pub uts: Option<String>,
    /// IMAGE [COMMAND] [ARG...]: one list, so that flag parsing stops at the image, as
    /// docker's does (`run busybox sh -c ...` must not read `-c` as `--cpu-shares`).
    #[arg(
        value_name = "IMAGE [COMMAND] [ARG...]",
        trailing_var_arg = true,
        allow_hyphen_values = true,
        required = true
    )]
    pub image_and_args: Vec<String>,
}

/// The limits `create`, `run` and `update` share.
#[derive(Args, Debug, Clone, Default)]
pub struct ResourceOpts {
    /// Memory limit.
    #[arg(short = 'm', long)]
    pub memory: Option<String>,
    /// Swap limit equal to memory plus swap: -1 to enable unlimited swap.
    #[arg(long = "memory-swap", allow_hyphen_values = true)]
    pub memory_swap: Option<String>,
    /// Memory soft limit.
    #[arg(long = "memory-reservation")]
    pub memory_reservation: Option<String>,
    /// Number of CPUs.
    #[arg(long)]
    pub cpus: Option<f64>,
    /// CPU shares (relative weight).
    #[arg(short = 'c', long = "cpu-shares")]
    pub cpu_shares: Option<i64>,
    /// Limit CPU CFS quota (microseconds).
    #[arg(long = "cpu-quota")]
    pub cpu_quota: Option<i64>,
    /// Limit CPU CFS period (microseconds).
    #[arg(long = "cpu-period")]
    pub cpu_period: Option<i64>,
    /// CPUs in which to allow execution (0-3, 0,1).
    #[arg(long = "cpuset-cpus")]
    pub cpuset_cpus: Option<String>,
    /// MEMs in which to allow execution (0-3, 0,1).
    #[arg(long = "cpuset-mems")]
    pub cpuset_mems: Option<String>,
    /// Tune container pids limit (-1 for unlimited).
    #[arg(long = "pids-limit", allow_hyphen_values = true)]
    pub pids_limit: Option<i64>,
    /// Block IO (relative weight), between 10 and 1000.
    #[arg(long = "blkio-weight")]
    pub blkio_weight: Option<u16>,
}

impl ResourceOpts {
    /// The limits as Docker's `Resources` (0 or unset: not set), a bad size failing with
    /// `code`.
    pub fn resources(&self, code: i32) -> Result<Resources, Exit> {
        let bytes = |v: &Option<String>, parse: fn(&str) -> Result<i64, String>| {
            v.as_deref()
                .map(parse)
                .transpose()
                .map(Option::unwrap_or_default)
                .map_err(|e| fail(code, e))
        };
        Ok(Resources {
            memory: bytes(&self.memory, parse_bytes)?,
            memory_swap: bytes(&self.memory_swap, parse_bytes_or_unlimited)?,
            memory_reservation: bytes(&self.memory_reservation, parse_bytes)?,
            nano_cpus: self.cpus.map_or(0, |c| (c * 1e9).round() as i64),
            cpu_shares: self.cpu_shares.unwrap_or_default(),
            cpu_quota: self.cpu_quota.unwrap_or_default(),
            cpu_period: self.cpu_period.unwrap_or_default(),
            cpuset_cpus: self.cpuset_cpus.clone().unwrap_or_default(),
            cpuset_mems: self.cpuset_mems.clone().unwrap_or_default(),
            pids_limit: self.pids_limit,
            blkio_weight: self.blkio_weight.unwrap_or_default(),
            ..Resources::default()
        })
    }
}

impl CreateOpts {
    pub fn image(&self) -> &str {
        self.image_and_args.first().map_or("", String::as_str)
    }

    pub fn args(&self) -> &[String] {
        self.image_and_args.get(1..).unwrap_or(&[])
    }
}

/// `Some(list)` unless empty (Go's nil slice, `null` in the request).
fn some(list: &[String]) -> Option<Vec<String>> {
    (!list.is_empty()).then(|| list.to_vec())
}

/// `KEY=VALUE` flags as a map (`KEY` alone: an empty value).
fn key_values(flags: &[String]) -> BTreeMap<String, String> {
    flags
        .iter()
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (k.to_string(), v.to_string())
        })
        .collect()
}

fn read_env_file(path: &str) -> Result<Vec<String>, Exit> {
    let text = std::fs::read_to_string(path).map_err(|e| fail(125, format!("open {path}: {e}")))?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(expand_env)
        .collect())
}

/// `KEY=VAL` as is; `KEY` takes the value from our environment (dropped if unset).
pub fn expand_env(e: &str) -> Option<String> {
    if e.contains('=') {
        Some(e.to_string())
    } else {
        std::env::var(e).ok().map(|v| format!("{e}={v}"))
    }
}

/// `--security-opt`s as the docker CLI sends them: `seccomp=FILE` becomes
/// `seccomp=<the file's JSON>` (read here, so the daemon never opens client paths).
fn security_opts(opts: &[String]) -> Result<Vec<String>, Exit> {
    let mut out = Vec::with_capacity(opts.len());
    for o in opts {
        let (k, v) = o
            .split_once('=')
            .or_else(|| o.split_once(':'))
            .unwrap_or((o, ""));
        if k != "seccomp" || matches!(v, "builtin" | "unconfined") {
            out.push(o.clone());
            continue;
        }
        let text = std::fs::read_to_string(v)
            .map_err(|e| fail(125, format!("opening seccomp profile ({v}) failed: {e}")))?;
        let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
            fail(
                125,
                format!("compacting json for seccomp profile ({v}) failed: {e}"),
            )
        })?;
        out.push(format!("seccomp={json}"));
    }
    Ok(out)
}

/// One `--mount` as the docker CLI reads it (comma-separated `key=value`; `readonly`
/// alone means true), with its checks and messages. Options the daemon does not act on
/// (`volume-subpath`, non-recursive binds...) are sent and refused there, by name.
fn mount_spec(spec: &str) -> Result<Mount, Exit> {
    let bad = |why: String| {
        fail(
            125,
            format!("invalid argument \"{spec}\" for \"--mount\" flag: {why}"),
        )
    };
    let mut m = Mount {
        r#type: "volume".into(),
        ..Mount::default()
    };
    let mut recursive: Option<String> = None;
    let mut non_recursive = false;
    for field in spec.split(',').filter(|f| !f.is_empty()) {
        let (key, value) = match field.split_once('=') {
            Some((k, v)) => (k.to_ascii_lowercase(), Some(v)),
            None => (field.to_ascii_lowercase(), None),
        };
        let truth = |v: Option<&str>| match v.map(str::to_ascii_lowercase).as_deref() {
            None | Some("1") | Some("true") => Ok(true),
            Some("0") | Some("false") => Ok(false),
            Some(other) => Err(bad(format!("invalid value for {key}: {other}"))),
        };
        let need = |v: Option<&str>| {
            v.map(str::to_string)
                .ok_or_else(|| bad(format!("invalid field '{field}' must be a key=value pair")))
        };
        // `volume-label=k=v` and `volume-opt=k=v`: a value without `=` is a key with an
        // empty value, as the docker CLI reads it.
        let pair = |v: Option<&str>| {
            need(v).map(|v| match v.split_once('=') {
                Some((k, v)) => (k.to_string(), v.to_string()),
                None => (v, String::new()),
            })
        };
        match key.as_str() {
            "type" => m.r#type = need(value)?,
            "source" | "src" => m.source = need(value)?,
            "target" | "destination" | "dst" => m.target = need(value)?,
            "readonly" | "ro" => m.read_only = truth(value)?,
            "consistency" => m.consistency = need(value)?,
            "bind-propagation" => {
                m.bind_options.get_or_insert_default().propagation = need(value)?;
            }
            "bind-nonrecursive" => {
                non_recursive = truth(value)?;
                m.bind_options.get_or_insert_default();
            }
            "bind-recursive" => {
                let v = need(value)?;
                if !["enabled", "disabled", "writable", "readonly"].contains(&v.as_str()) {
                    return Err(bad(format!(
                        "invalid value for {key}: {v} (must be \"enabled\", \"disabled\", \"writable\", or \"readonly\")"
                    )));
                }
                recursive = Some(v);
                m.bind_options.get_or_insert_default();
            }
            "volume-subpath" => m.volume_options.get_or_insert_default().subpath = need(value)?,
            "volume-nocopy" => m.volume_options.get_or_insert_default().no_copy = truth(value)?,
            "volume-label" => {
                let (k, v) = pair(value)?;
                let o = m.volume_options.get_or_insert_default();
                o.labels.get_or_insert_default().insert(k, v);
            }
            "volume-driver" => {
                let name = need(value)?;
                let o = m.volume_options.get_or_insert_default();
                o.driver_config.get_or_insert_default().name = name;
            }
            "volume-opt" => {
                let (k, v) = pair(value)?;
                let o = m.volume_options.get_or_insert_default();
                let d = o.driver_config.get_or_insert_default();
                d.options.get_or_insert_default().insert(k, v);
            }
            "tmpfs-size" => {
                let n = parse_bytes(&need(value)?).map_err(bad)?;
                m.tmpfs_options
                    .get_or_insert_with(TmpfsOptions::default)
                    .size_bytes = n;
            }
            "tmpfs-mode" => {
                let v = need(value)?;
                let mode = i64::from_str_radix(&v, 8)
                    .map_err(|_| bad(format!("invalid value for {key}: {v}")))?;
                m.tmpfs_options
                    .get_or_insert_with(TmpfsOptions::default)
                    .mode = mode;
            }
            _ => return Err(bad(format!("unexpected key '{key}' in '{field}'"))),
        }
    }
    if m.target.is_empty() {
        return Err(bad("target is required".into()));
    }
    for (set, kind) in [
        (m.bind_options.is_some(), "bind"),
        (m.volume_options.is_some(), "volume"),
        (m.tmpfs_options.is_some(), "tmpfs"),
    ] {
        if set && m.r#type != kind {
            return Err(bad(format!(
                "cannot mix '{kind}-*' options with mount type '{}'",
                m.r#type
            )));
        }
    }
    if let Some(o) = m.bind_options.as_mut() {
        match recursive.as_deref() {
            Some("disabled") => o.non_recursive = true,
            Some(r @ ("writable" | "readonly")) => {
                if !m.read_only {
                    return Err(bad(format!(
                        "option 'bind-recursive={r}' requires 'readonly' to be specified in conjunction"
                    )));
                }
                if r == "writable" {
                    o.read_only_non_recursive = true;
                } else {
                    if o.propagation != "rprivate" {
                        return Err(bad(
                            "option 'bind-recursive=readonly' requires 'bind-propagation=rprivate' to be specified in conjunction".into(),
                        ));
                    }
                    o.read_only_force_recursive = true;
                }
            }
            _ => {}
        }
        o.non_recursive |= non_recursive;
    }
    Ok(m)
}

/// `--ulimit NAME=SOFT[:HARD]`.
fn ulimit(u: &str) -> Result<Ulimit, Exit> {
    let bad = || fail(125, format!("invalid ulimit argument: {u}"));
    let (name, vals) = u.split_once('=').ok_or_else(bad)?;
    let (soft, hard) = vals.split_once(':').unwrap_or((vals, vals));
    Ok(Ulimit {
        name: name.to_string(),
        soft: soft.parse().map_err(|_| bad())?,
        hard: hard.parse().map_err(|_| bad())?,
    })
}

/// `--device HOST[:CONTAINER[:PERMS]]`.
fn device(d: &str) -> DeviceMapping {
    let mut p = d.splitn(3, ':');
    let host = p.next().unwrap_or("");
    let inside = p.next().unwrap_or(host);
    DeviceMapping {
        path_on_host: host.into(),
        path_in_container: inside.into(),
        cgroup_permissions: p.next().unwrap_or("rwm").into(),
    }
}

/// `--restart NAME[:MAX_RETRIES]`.
pub fn restart_policy(r: &str) -> RestartPolicy {
    let (name, count) = r.split_once(':').unwrap_or((r, "0"));
    RestartPolicy {
        name: name.into(),
        maximum_retry_count: count.parse().unwrap_or(0),
    }
}

/// `--health-*` and `--no-healthcheck` as `Config.Healthcheck` (durations in
/// nanoseconds), with the docker CLI's checks.
fn healthcheck(o: &CreateOpts) -> Result<Option<HealthConfig>, Exit> {
    let given = o.health_cmd.is_some()
        || o.health_interval.is_some()
        || o.health_timeout.is_some()
        || o.health_start_period.is_some()
        || o.health_retries.is_some();
    if o.no_healthcheck {
        if given {
            return Err(fail(
                125,
                "--no-healthcheck conflicts with --health-* options",
            ));
        }
        return Ok(Some(HealthConfig {
            test: Some(vec!["NONE".into()]),
            ..HealthConfig::default()
        }));
    }
    if !given {
        return Ok(None);
    }
    let duration = |flag: &str, v: &Option<String>| -> Result<i64, Exit> {
        let Some(s) = v else { return Ok(0) };
        humantime::parse_duration(s)
            .map(|d| d.as_nanos() as i64)
            .map_err(|e| {
                fail(
                    125,
                    format!("invalid argument {s:?} for \"--{flag}\" flag: {e}"),
                )
            })
    };
    if o.health_retries.is_some_and(|r| r < 0) {
        return Err(fail(125, "--health-retries cannot be negative"));
    }
    Ok(Some(HealthConfig {
        test: o
            .health_cmd
            .as_deref()
            .filter(|c| !c.is_empty())
            .map(|cmd| vec!["CMD-SHELL".into(), cmd.into()]),
        interval: duration("health-interval", &o.health_interval)?,
        timeout: duration("health-timeout", &o.health_timeout)?,
        start_period: duration("health-start-period", &o.health_start_period)?,
        retries: o.health_retries.unwrap_or(0),
        ..HealthConfig::default()
    }))
}

/// The `HostConfig` of `opts`.
fn host_config(o: &CreateOpts) -> Result<HostConfig, Exit> {
    let mut resources = o.resources.resources(125)?;
    resources.oom_kill_disable = o.oom_kill_disable;
    resources.ulimits = (!o.ulimits.is_empty())
        .then(|| o.ulimits.iter().map(|u| ulimit(u)).collect())
        .transpose()?;
    resources.devices =
        (!o.devices.is_empty()).then(|| o.devices.iter().map(|d| device(d)).collect());
    let log_config = if o.log_driver.is_some() || !o.log_opt.is_empty() {
        let mut config = BTreeMap::new();
        for kv in &o.log_opt {
            let (k, v) = kv
                .split_once('=')
                .ok_or_else(|| fail(125, format!("invalid log opt: {kv}")))?;
            config.insert(k.to_string(), v.to_string());
        }
        LogConfig {
            r#type: o.log_driver.clone().unwrap_or_default(),
            config,
        }
    } else {
        LogConfig::default()
    };
    let mounts = o
        .mount
        .iter()
        .map(|m| mount_spec(m))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(HostConfig {
        // `-v /path` (no host side) is an anonymous volume: the docker CLI sends those as
        // `Config.Volumes` (see `create_request`).
        binds: some(
            &o.volumes
                .iter()
                .filter(|v| v.contains(':'))
                .cloned()
                .collect::<Vec<_>>(),
        ),
        volumes_from: some(&o.volumes_from),
        volume_driver: o.volume_driver.clone().unwrap_or_default(),
        log_config,
        restart_policy: o.restart.as_deref().map(restart_policy).unwrap_or_default(),
        auto_remove: o.rm,
        cap_add: some(&o.cap_add),
        cap_drop: some(&o.cap_drop),
        group_add: some(&o.group_add),
        ipc_mode: o.ipc.clone().unwrap_or_default(),
        pid_mode: o.pid.clone().unwrap_or_default(),
        privileged: o.privileged,
        readonly_rootfs: o.read_only,
        security_opt: some(&security_opts(&o.security_opt)?),
        tmpfs: (!o.tmpfs.is_empty()).then(|| {
            o.tmpfs
                .iter()
                .map(|t| {
                    let (path, opts) = t.split_once(':').unwrap_or((t, ""));
                    (path.to_string(), opts.to_string())
                })
                .collect()
        }),
        uts_mode: o.uts.clone().unwrap_or_default(),
        shm_size: o
            .shm_size
            .as_deref()
            .map(parse_bytes)
            .transpose()
            .map_err(|e| fail(125, e))?
            .unwrap_or_default(),
        sysctls: (!o.sysctls.is_empty()).then(|| key_values(&o.sysctls)),
        runtime: o.runtime.clone().unwrap_or_default(),
        // Like the docker CLI: a TTY starts at the size of ours, so the first thing the
        // process reads is right (resizes follow once it runs).
        console_size: console_size(o.tty).map_or([0, 0], |[h, w]| [h.into(), w.into()]),
        resources,
        mounts: (!mounts.is_empty()).then_some(mounts),
        init: o.init.then_some(true),
        ..HostConfig::default()
    })
}

/// A flag clap did not know lands in IMAGE (which takes hyphens so that the command's
/// own flags reach it): refused as pflag words it, rather than sent as an image name.
fn unknown_flag(image: &str) -> Result<(), Exit> {
    let message = if let Some(long) = image.strip_prefix("--").filter(|l| !l.is_empty()) {
        let name = long.split_once('=').map_or(long, |(n, _)| n);
        format!("unknown flag: --{name}")
    } else if let Some(c) = image.strip_prefix('-').and_then(|s| s.chars().next()) {
        format!("unknown shorthand flag: '{c}' in {image}")
    } else {
        return Ok(());
    };
    Err(fail(125, message))
}

/// The body of `POST /containers/create` for `opts`; `detach` (`run -d`) attaches no
/// stream, as the docker CLI.
pub fn create_request(o: &CreateOpts, detach: bool) -> Result<CreateRequest, Exit> {
    unknown_flag(o.image())?;
    let mut env = Vec::new();
    for f in &o.env_file {
        env.extend(read_env_file(f)?);
    }
    env.extend(o.env.iter().filter_map(|e| expand_env(e)));
    let mut config = ContainerConfig {
        user: o.user.clone().unwrap_or_default(),
        attach_stdin: o.interactive && !detach,
        attach_stdout: !detach,
        attach_stderr: !detach,
        tty: o.tty,
        open_stdin: o.interactive,
        stdin_once: o.interactive && !detach,
        env,
        cmd: some(o.args()),
        healthcheck: healthcheck(o)?
            .map(|h| serde_json::to_value(h).map_err(|e| fail(125, e.to_string())))
            .transpose()?,
        image: o.image().to_string(),
        working_dir: o.workdir.clone().unwrap_or_default(),
        entrypoint: o.entrypoint.as_ref().map(|ep| {
            if ep.is_empty() {
                Vec::new()
            } else {
                vec![ep.clone()]
            }
        }),
        labels: key_values(&o.labels),
        stop_signal: o.stop_signal.clone(),
        stop_timeout: o.stop_timeout,
        volumes: Some(
            o.volumes
                .iter()
                .filter(|v| !v.contains(':'))
                .map(|v| (v.clone(), serde_json::json!({})))
                .collect(),
        )
        .filter(|v: &BTreeMap<_, _>| !v.is_empty()),
        ..ContainerConfig::default()
    };
    let mut host_config = host_config(o)?;
    let networking = o.net.apply(&mut config, &mut host_config)?;
    Ok(CreateRequest {
        config,
        host_config,
        networking_config: Some(networking),
    })
}

/// Create the container; daemon errors exit 125 like docker's. Warnings go to stderr.
pub async fn create(c: &Client, o: &CreateOpts, detach: bool) -> Result<String, Exit> {
    let mut req = create_request(o, detach)?;
    for_version(&mut req, c.version())?;
    match c.container_create(&req, o.name.as_deref()).await {
        Ok(created) => {
            for w in &created.warnings {
                eprintln!("WARNING: {w}");
            }
            Ok(created.id)
        }
        Err(e) if e.is_not_found() && e.to_string().contains("No such image") => {
            let image = if o.image().contains(':') {
                o.image().to_string()
            } else {
                format!("{}:latest", o.image())
            };
            eprintln!("Unable to find image '{image}' locally");
            Err(fail(125, format!("berth: {e}.\nSee 'berth run --help'.")))
        }
        Err(e) => Err(fail(125, format!("berth: {e}.\nSee 'berth run --help'."))),
    }
}

/// `berth create [OPTIONS] IMAGE [COMMAND] [ARG...]`: prints the new container's id.
pub async fn create_cmd(c: &Client, o: CreateOpts) -> CmdResult {
    let id = create(c, &o, false).await?;
    println!("{id}");
    Ok(0)
}

#[cfg(test)]
pub(crate) mod tests;
