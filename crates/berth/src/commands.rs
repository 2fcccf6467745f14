//! The commands. Each returns the process exit code or an [`Exit`].

use berth_client::{Client, Error as ClientError, next_chunk};
use hyper::Method;
use serde_json::{Value, json};

use crate::format::{self, human_duration, human_size, table, truncate_command};
use crate::stream::{Ended, RawTerminal, is_tty, pump, term_size};
use crate::{CmdResult, CreateOpts, Exit};

pub(crate) fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

pub(crate) fn fail(code: i32, message: impl Into<String>) -> Exit {
    Exit {
        code,
        message: message.into(),
    }
}

/// Percent-encode a query value.
pub(crate) fn q(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Per-name commands: run `f` on each, print what it returns, keep going on errors
/// (exit 1 at the end), as docker does for `start a b c`.
async fn each<F, Fut>(names: &[String], f: F) -> CmdResult
where
    F: FnMut(String) -> Fut,
    Fut: std::future::Future<Output = Result<Option<String>, ClientError>>,
{
    each_with(names, 1, f).await
}

/// [`each`] with up to 50 names in flight at once, as the docker CLI runs `stop`, `kill`,
/// `rm`, `pause` and `unpause` of several containers; output stays in argument order.
async fn each_parallel<F, Fut>(names: &[String], f: F) -> CmdResult
where
    F: FnMut(String) -> Fut,
    Fut: std::future::Future<Output = Result<Option<String>, ClientError>>,
{
    each_with(names, 50, f).await
}

async fn each_with<F, Fut>(names: &[String], parallel: usize, f: F) -> CmdResult
where
    F: FnMut(String) -> Fut,
    Fut: std::future::Future<Output = Result<Option<String>, ClientError>>,
{
    use futures_util::StreamExt;
    let mut results = futures_util::stream::iter(names.iter().cloned())
        .map(f)
        .buffered(parallel);
    let mut code = 0;
    while let Some(r) = results.next().await {
        match r {
            Ok(Some(line)) => println!("{line}"),
            Ok(None) => {}
            Err(e) => {
                eprintln!("{e}");
                code = 1;
            }
        }
    }
    Ok(code)
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
fn expand_env(e: &str) -> Option<String> {
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
        let json: Value = serde_json::from_str(&text).map_err(|e| {
            fail(
                125,
                format!("compacting json for seccomp profile ({v}) failed: {e}"),
            )
        })?;
        out.push(format!("seccomp={json}"));
    }
    Ok(out)
}

/// The body of `POST /containers/create` for `opts`.
pub fn create_body(o: &CreateOpts) -> Result<Value, Exit> {
    let mut env = Vec::new();
    for f in &o.env_file {
        env.extend(read_env_file(f)?);
    }
    env.extend(o.env.iter().filter_map(|e| expand_env(e)));
    let labels: serde_json::Map<String, Value> = o
        .labels
        .iter()
        .map(|l| {
            let (k, v) = l.split_once('=').unwrap_or((l, ""));
            (k.to_string(), Value::String(v.to_string()))
        })
        .collect();
    let memory = match &o.memory {
        Some(m) => format::parse_bytes(m).map_err(|e| fail(125, e))?,
        None => 0,
    };
    let mut ports = serde_json::Map::new();
    let mut exposed = serde_json::Map::new();
    for p in &o.publish {
        let parts: Vec<&str> = p.split(':').collect();
        let (ip, host, cport) = match parts.as_slice() {
            [c] => ("", "", *c),
            [h, c] => ("", *h, *c),
            [i, h, c] => (*i, *h, *c),
            _ => return Err(fail(125, format!("invalid publish spec: {p}"))),
        };
        let cport = if cport.contains('/') {
            cport.to_string()
        } else {
            format!("{cport}/tcp")
        };
        exposed.insert(cport.clone(), json!({}));
        let list = ports.entry(cport).or_insert_with(|| json!([]));
        if let Some(a) = list.as_array_mut() {
            a.push(json!({"HostIp": ip, "HostPort": host}));
        }
    }
    let restart = o.restart.as_deref().map(|r| {
        let (name, count) = r.split_once(':').unwrap_or((r, "0"));
        json!({"Name": name, "MaximumRetryCount": count.parse::<i64>().unwrap_or(0)})
    });
    let mut tmpfs = serde_json::Map::new();
    for t in &o.tmpfs {
        let (path, opts) = t.split_once(':').unwrap_or((t, ""));
        tmpfs.insert(path.to_string(), json!(opts));
    }
    let mounts = o
        .mount
        .iter()
        .map(|m| mount_spec(m))
        .collect::<Result<Vec<_>, _>>()?;
    let mut host = json!({
        "Binds": o.volumes,
        "Tmpfs": tmpfs,
        "Mounts": mounts,
        "ExtraHosts": o.add_host,
        "Dns": o.dns,
        "DnsSearch": o.dns_search,
        "DnsOptions": o.dns_option,
        "NetworkMode": o.network.clone().unwrap_or_else(|| "default".into()),
        "PortBindings": ports,
        "AutoRemove": o.rm,
        "CapAdd": o.cap_add,
        "CapDrop": o.cap_drop,
        "Privileged": o.privileged,
        "ReadonlyRootfs": o.read_only,
        "SecurityOpt": security_opts(&o.security_opt)?,
        "Runtime": o.runtime.clone().unwrap_or_default(),
        "Memory": memory,
    });
    if let Some(p) = o.pids_limit {
        host["PidsLimit"] = json!(p);
    }
    if o.log_driver.is_some() || !o.log_opt.is_empty() {
        let mut config = serde_json::Map::new();
        for kv in &o.log_opt {
            let (k, v) = kv
                .split_once('=')
                .ok_or_else(|| fail(125, format!("invalid log opt: {kv}")))?;
            config.insert(k.to_string(), json!(v));
        }
        host["LogConfig"] = json!({
            "Type": o.log_driver.clone().unwrap_or_default(),
            "Config": config,
        });
    }
    let bytes = |v: &Option<String>| -> Result<Option<i64>, Exit> {
        match v.as_deref() {
            None => Ok(None),
            Some("-1") => Ok(Some(-1)),
            Some(s) => format::parse_bytes(s).map(Some).map_err(|e| fail(125, e)),
        }
    };
    if let Some(c) = o.cpus {
        host["NanoCpus"] = json!((c * 1e9).round() as i64);
    }
    for (key, v) in [
        ("CpuShares", o.cpu_shares),
        ("CpuQuota", o.cpu_quota),
        ("CpuPeriod", o.cpu_period),
        ("MemorySwap", bytes(&o.memory_swap)?),
        ("MemoryReservation", bytes(&o.memory_reservation)?),
        ("ShmSize", bytes(&o.shm_size)?),
        ("BlkioWeight", o.blkio_weight.map(i64::from)),
    ] {
        if let Some(v) = v {
            host[key] = json!(v);
        }
    }
    if let Some(c) = &o.cpuset_cpus {
        host["CpusetCpus"] = json!(c);
    }
    if let Some(m) = &o.cpuset_mems {
        host["CpusetMems"] = json!(m);
    }
    if o.oom_kill_disable {
        host["OomKillDisable"] = json!(true);
    }
    let mut ulimits = Vec::new();
    for u in &o.ulimits {
        let (name, vals) = u
            .split_once('=')
            .ok_or_else(|| fail(125, format!("invalid ulimit argument: {u}")))?;
        let (soft, hard) = vals.split_once(':').unwrap_or((vals, vals));
        let num = |v: &str| {
            v.parse::<i64>()
                .map_err(|_| fail(125, format!("invalid ulimit argument: {u}")))
        };
        ulimits.push(json!({"Name": name, "Soft": num(soft)?, "Hard": num(hard)?}));
    }
    if !ulimits.is_empty() {
        host["Ulimits"] = json!(ulimits);
    }
    if !o.sysctls.is_empty() {
        let m: serde_json::Map<String, Value> = o
            .sysctls
            .iter()
            .map(|kv| {
                let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
                (k.to_string(), json!(v))
            })
            .collect();
        host["Sysctls"] = Value::Object(m);
    }
    if !o.group_add.is_empty() {
        host["GroupAdd"] = json!(o.group_add);
    }
    if !o.devices.is_empty() {
        let list: Vec<Value> = o
            .devices
            .iter()
            .map(|d| {
                let mut p = d.splitn(3, ':');
                let host = p.next().unwrap_or("");
                let inside = p.next().unwrap_or(host);
                let perms = p.next().unwrap_or("rwm");
                json!({"PathOnHost": host, "PathInContainer": inside, "CgroupPermissions": perms})
            })
            .collect();
        host["Devices"] = json!(list);
    }
    for (key, v) in [
        ("PidMode", &o.pid),
        ("IpcMode", &o.ipc),
        ("UTSMode", &o.uts),
    ] {
        if let Some(v) = v {
            host[key] = json!(v);
        }
    }
    if o.init {
        host["Init"] = json!(true);
    }
    // Like the docker CLI: a TTY starts at the size of ours, so the first thing the
    // process reads is right (resizes follow once it runs).
    if let Some(size) = console_size(o.tty) {
        host["ConsoleSize"] = size;
    }
    if let Some(r) = restart {
        host["RestartPolicy"] = r;
    }
    let mut body = json!({
        "Hostname": o.hostname.clone().unwrap_or_default(),
        "User": o.user.clone().unwrap_or_default(),
        "AttachStdin": o.interactive,
        "AttachStdout": true,
        "AttachStderr": true,
        "Tty": o.tty,
        "OpenStdin": o.interactive,
        "StdinOnce": o.interactive,
        "Env": env,
        "Image": o.image(),
        "WorkingDir": o.workdir.clone().unwrap_or_default(),
        "Labels": labels,
        "ExposedPorts": exposed,
        "HostConfig": host,
    });
    if !o.args().is_empty() {
        body["Cmd"] = json!(o.args());
    }
    if let Some(hc) = healthcheck(o)? {
        body["Healthcheck"] = hc;
    }
    if let Some(ep) = &o.entrypoint {
        body["Entrypoint"] = if ep.is_empty() {
            json!([])
        } else {
            json!([ep])
        };
    }
    if let Some(s) = &o.stop_signal {
        body["StopSignal"] = json!(s);
    }
    if let Some(t) = o.stop_timeout {
        body["StopTimeout"] = json!(t);
    }
    Ok(body)
}

/// Create the container; daemon errors exit 125 like docker's.
async fn create(c: &Client, o: &CreateOpts) -> Result<String, Exit> {
    let body = create_body(o)?;
    let path = match &o.name {
        Some(n) => format!("/containers/create?name={}", q(n)),
        None => "/containers/create".to_string(),
    };
    match c.post(&path, &body).await {
        Ok(v) => {
            for w in v["Warnings"].as_array().into_iter().flatten() {
                if let Some(w) = w.as_str() {
                    eprintln!("WARNING: {w}");
                }
            }
            v["Id"]
                .as_str()
                .map(str::to_string)
                .ok_or_else(|| fail(125, "berth: daemon returned no container id"))
        }
        Err(ClientError::Api {
            status: 404,
            message,
        }) if message.starts_with("No such image") => {
            let image = if o.image().contains(':') {
                o.image().to_string()
            } else {
                format!("{}:latest", o.image())
            };
            eprintln!("Unable to find image '{image}' locally");
            Err(fail(
                125,
                format!("berth: Error response from daemon: {message}.\nSee 'berth run --help'."),
            ))
        }
        Err(e) => Err(fail(125, format!("berth: {e}.\nSee 'berth run --help'."))),
    }
}

pub async fn create_cmd(c: &Client, o: CreateOpts) -> CmdResult {
    let id = create(c, &o).await?;
    println!("{id}");
    Ok(0)
}

/// Exit code for a failed start, from the daemon's message.
fn start_failure_code(msg: &str) -> i32 {
    if msg.contains("executable file not found") || msg.contains("no such file or directory") {
        127
    } else if msg.contains("permission denied") {
        126
    } else {
        125
    }
}

/// `--sig-proxy` (without a TTY, as the docker CLI): the signals a user sends us (Ctrl-C,
/// `kill`) go to the container's process instead of ending the client.
fn proxy_signals(c: &Client, id: &str) {
    for num in [
        libc::SIGHUP,
        libc::SIGINT,
        libc::SIGQUIT,
        libc::SIGTERM,
        libc::SIGUSR1,
        libc::SIGUSR2,
    ] {
        let Ok(mut sig) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::from_raw(num))
        else {
            continue;
        };
        let c = c.clone();
        let path = format!("/containers/{id}/kill?signal={num}");
        tokio::spawn(async move {
            while sig.recv().await.is_some() {
                if let Err(e) = c.post(&path, &Value::Null).await {
                    eprintln!("berth: forwarding signal {num}: {e}");
                }
            }
        });
    }
}

/// `--health-*` and `--no-healthcheck` as `Config.Healthcheck` (durations in
/// nanoseconds), with the docker CLI's checks.
fn healthcheck(o: &CreateOpts) -> Result<Option<Value>, Exit> {
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
        return Ok(Some(json!({ "Test": ["NONE"] })));
    }
    if !given {
        return Ok(None);
    }
    let duration = |flag: &str, v: &Option<String>| -> Result<u128, Exit> {
        match v {
            None => Ok(0),
            Some(s) => humantime::parse_duration(s)
                .map(|d| d.as_nanos())
                .map_err(|e| {
                    fail(
                        125,
                        format!("invalid argument {s:?} for \"--{flag}\" flag: {e}"),
                    )
                }),
        }
    };
    let mut hc = json!({
        "Interval": duration("health-interval", &o.health_interval)?,
        "Timeout": duration("health-timeout", &o.health_timeout)?,
        "StartPeriod": duration("health-start-period", &o.health_start_period)?,
        "Retries": o.health_retries.unwrap_or(0),
    });
    if o.health_retries.is_some_and(|r| r < 0) {
        return Err(fail(125, "--health-retries cannot be negative"));
    }
    if let Some(cmd) = o.health_cmd.as_deref().filter(|c| !c.is_empty()) {
        hc["Test"] = json!(["CMD-SHELL", cmd]);
    }
    Ok(Some(hc))
}

/// With a TTY: our terminal's size as Docker's `ConsoleSize`, `[height, width]`.
fn console_size(tty: bool) -> Option<Value> {
    let (w, h) = term_size().filter(|_| tty)?;
    Some(json!([h, w]))
}

/// Send the terminal size now and on every SIGWINCH.
fn track_size(c: &Client, path: String) {
    let c = c.clone();
    tokio::spawn(async move {
        let mut sig =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::window_change()) {
                Ok(s) => s,
                Err(_) => return,
            };
        loop {
            if let Some((w, h)) = term_size() {
                let _ = c.post(&format!("{path}?h={h}&w={w}"), &Value::Null).await;
            }
            if sig.recv().await.is_none() {
                return;
            }
        }
    });
}

/// Hijack the container's stdio stream (stdout and stderr, stdin if asked).
async fn attach_stream(
    c: &Client,
    id: &str,
    stdin: bool,
) -> Result<berth_client::Hijacked, ClientError> {
    c.hijack(
        &format!(
            "/containers/{id}/attach?stream=1&stdin={}&stdout=1&stderr=1",
            u8::from(stdin)
        ),
        &Value::Null,
    )
    .await
}

pub async fn run(c: &Client, o: CreateOpts, detach: bool, sig_proxy: bool) -> CmdResult {
    let id = create(c, &o).await?;
    if detach {
        if let Err(e) = c
            .post(&format!("/containers/{id}/start"), &Value::Null)
            .await
        {
            let msg = e.to_string();
            return Err(fail(start_failure_code(&msg), format!("berth: {msg}.")));
        }
        println!("{id}");
        return Ok(0);
    }
    // Like the docker CLI: attach and wait first, then start.
    let attach = attach_stream(c, &id, o.interactive)
        .await
        .map_err(|e| fail(125, format!("berth: {e}")))?;
    let condition = if o.rm { "removed" } else { "next-exit" };
    let wait = c
        .post_stream(
            &format!("/containers/{id}/wait?condition={condition}"),
            &Value::Null,
        )
        .await
        .map_err(|e| fail(125, format!("berth: {e}")))?;
    let wait = tokio::spawn(async move {
        use http_body_util_shim::collect;
        collect(wait).await
    });
    let raw = if o.tty && o.interactive {
        RawTerminal::enable()
    } else {
        None
    };
    if let Err(e) = c
        .post(&format!("/containers/{id}/start"), &Value::Null)
        .await
    {
        drop(raw);
        let msg = e.to_string();
        return Err(fail(start_failure_code(&msg), format!("berth: {msg}.")));
    }
    if o.tty {
        track_size(c, format!("/containers/{id}/resize"));
    } else if sig_proxy {
        proxy_signals(c, &id);
    }
    let pumped = pump(attach, o.tty, o.interactive).await;
    drop(raw);
    if pumped? == Ended::Detached {
        return Ok(0);
    }
    let status = match wait.await {
        Ok(Ok(v)) => v,
        Ok(Err(e)) => return Err(fail(125, format!("berth: {e}"))),
        Err(e) => return Err(fail(125, format!("berth: {e}"))),
    };
    if let Some(m) = status["Error"]["Message"]
        .as_str()
        .filter(|m| !m.is_empty())
    {
        eprintln!("berth: Error waiting for container: {m}");
    }
    Ok(status["StatusCode"].as_i64().unwrap_or(125) as i32)
}

/// Collecting a streamed JSON response (the wait answer).
mod http_body_util_shim {
    use berth_client::next_chunk;
    use serde_json::Value;

    pub async fn collect(
        resp: hyper::Response<hyper::body::Incoming>,
    ) -> Result<Value, berth_client::Error> {
        let mut body = resp.into_body();
        let mut all = Vec::new();
        while let Some(chunk) = next_chunk(&mut body).await? {
            all.extend_from_slice(&chunk);
        }
        serde_json::from_slice(&all).map_err(|e| berth_client::Error::Decode(e.to_string()))
    }
}

pub async fn start(c: &Client, names: &[String], attach: bool, stdin: bool) -> CmdResult {
    if attach {
        let [name] = names else {
            return Err(fail(
                1,
                "berth: you cannot start and attach multiple containers at once",
            ));
        };
        let info: Value = c.get(&format!("/containers/{}/json", q(name))).await?;
        let tty = info["Config"]["Tty"].as_bool().unwrap_or(false);
        let id = info["Id"].as_str().unwrap_or(name).to_string();
        let stream = attach_stream(c, &id, stdin).await?;
        let wait = c
            .post_stream(
                &format!("/containers/{id}/wait?condition=next-exit"),
                &Value::Null,
            )
            .await?;
        let wait = tokio::spawn(http_body_util_shim::collect(wait));
        let raw = if tty && stdin {
            RawTerminal::enable()
        } else {
            None
        };
        c.post(&format!("/containers/{id}/start"), &Value::Null)
            .await?;
        if !tty {
            proxy_signals(c, &id);
        }
        pump(stream, tty, stdin).await?;
        drop(raw);
        let v = wait.await.map_err(|e| fail(1, e.to_string()))??;
        return Ok(v["StatusCode"].as_i64().unwrap_or(1) as i32);
    }
    each(names, |n| async move {
        c.post(&format!("/containers/{}/start", q(&n)), &Value::Null)
            .await?;
        Ok(Some(n))
    })
    .await
}

pub async fn stop(
    c: &Client,
    names: &[String],
    time: Option<i64>,
    signal: Option<&str>,
    verb: &str,
) -> CmdResult {
    let mut params = Vec::new();
    if let Some(t) = time {
        params.push(format!("t={t}"));
    }
    if let Some(s) = signal {
        params.push(format!("signal={}", q(s)));
    }
    let query = if params.is_empty() {
        String::new()
    } else {
        format!("?{}", params.join("&"))
    };
    // The docker CLI stops in parallel but restarts one after the other.
    let parallel = if verb == "stop" { 50 } else { 1 };
    each_with(names, parallel, |n| {
        let query = query.clone();
        async move {
            c.post(
                &format!("/containers/{}/{verb}{query}", q(&n)),
                &Value::Null,
            )
            .await?;
            Ok(Some(n))
        }
    })
    .await
}

pub async fn kill(c: &Client, names: &[String], signal: Option<&str>) -> CmdResult {
    let query = signal
        .map(|s| format!("?signal={}", q(s)))
        .unwrap_or_default();
    each_parallel(names, |n| {
        let query = query.clone();
        async move {
            c.post(&format!("/containers/{}/kill{query}", q(&n)), &Value::Null)
                .await?;
            Ok(Some(n))
        }
    })
    .await
}

pub async fn rm(c: &Client, names: &[String], force: bool, volumes: bool) -> CmdResult {
    each_parallel(names, |n| async move {
        c.delete(&format!(
            "/containers/{}?force={}&v={}",
            q(&n),
            u8::from(force),
            u8::from(volumes)
        ))
        .await?;
        Ok(Some(n))
    })
    .await
}

pub async fn wait(c: &Client, names: &[String]) -> CmdResult {
    each(names, |n| async move {
        let v = c
            .post(&format!("/containers/{}/wait", q(&n)), &Value::Null)
            .await?;
        Ok(Some(v["StatusCode"].as_i64().unwrap_or(0).to_string()))
    })
    .await
}

pub async fn attach(c: &Client, name: &str, stdin: bool, sig_proxy: bool) -> CmdResult {
    let info: Value = c.get(&format!("/containers/{}/json", q(name))).await?;
    if !info["State"]["Running"].as_bool().unwrap_or(false) {
        return Err(fail(
            1,
            "You cannot attach to a stopped container, start it first",
        ));
    }
    let tty = info["Config"]["Tty"].as_bool().unwrap_or(false);
    let stdin = stdin && info["Config"]["OpenStdin"].as_bool().unwrap_or(false);
    let id = info["Id"].as_str().unwrap_or(name).to_string();
    // Like the docker CLI: ask for the exit status before attaching. The stream ends when
    // the process closes its output, which can be before the daemon has recorded the exit,
    // so an inspect afterwards could still see the container running.
    let wait = c
        .post_stream(
            &format!("/containers/{id}/wait?condition=not-running"),
            &Value::Null,
        )
        .await?;
    let wait = tokio::spawn(http_body_util_shim::collect(wait));
    let stream = attach_stream(c, &id, stdin).await?;
    let raw = if tty && stdin {
        RawTerminal::enable()
    } else {
        None
    };
    if tty {
        track_size(c, format!("/containers/{id}/resize"));
    } else if sig_proxy {
        proxy_signals(c, &id);
    }
    let ended = pump(stream, tty, stdin).await?;
    drop(raw);
    if ended == Ended::Detached {
        eprintln!("read escape sequence");
        return Ok(0);
    }
    let status = wait.await.map_err(|e| fail(1, format!("berth: {e}")))??;
    Ok(status["StatusCode"].as_i64().unwrap_or(0) as i32)
}

/// What `logs` shows: follow, timestamps, details.
pub struct LogsShown {
    pub follow: bool,
    pub timestamps: bool,
    pub details: bool,
}

pub async fn logs(
    c: &Client,
    name: &str,
    shown: LogsShown,
    tail: Option<String>,
    (since, until): (Option<String>, Option<String>),
) -> CmdResult {
    let info: Value = c.get(&format!("/containers/{}/json", q(name))).await?;
    let tty = info["Config"]["Tty"].as_bool().unwrap_or(false);
    let mut path = format!(
        "/containers/{}/logs?stdout=1&stderr=1&follow={}&timestamps={}&details={}",
        q(name),
        u8::from(shown.follow),
        u8::from(shown.timestamps),
        u8::from(shown.details)
    );
    if let Some(t) = tail {
        path.push_str(&format!("&tail={}", q(&t)));
    }
    for (key, value) in [("since", since), ("until", until)] {
        if let Some(v) = value {
            path.push_str(&format!("&{key}={}", q(&format::api_time(&v))));
        }
    }
    let resp = c
        .send(Method::GET, &path, berth_client::empty(), &[])
        .await?;
    let mut body = resp.into_body();
    let mut demux = berth_client::Demux::default();
    use std::io::Write;
    while let Some(chunk) = next_chunk(&mut body).await? {
        if tty {
            std::io::stdout().write_all(&chunk)?;
            continue;
        }
        for (s, data) in demux.push(&chunk) {
            if s == 2 {
                std::io::stderr().write_all(&data)?;
            } else {
                let mut o = std::io::stdout().lock();
                o.write_all(&data)?;
                o.flush()?;
            }
        }
    }
    Ok(0)
}

pub async fn ps(c: &Client, all: bool, limit: Option<i64>, o: &crate::PsOpts) -> CmdResult {
    let (quiet, no_trunc, filters, tpl) = (o.quiet, o.no_trunc, &o.filter, o.format.as_deref());
    // Sizes cost a walk of each writable layer: only when shown (as the docker CLI: asked
    // for, or used by the template, which `{{json .}}` uses whole).
    let size = o.size
        || tpl.is_some_and(|t| {
            t.contains(".Size") || t.trim() == "json" || t.replace(' ', "") == "{{json.}}"
        });
    let mut path = format!(
        "/containers/json?all={}&size={}",
        u8::from(all),
        u8::from(size)
    );
    if let Some(n) = limit {
        path.push_str(&format!("&limit={n}"));
    }
    if !filters.is_empty() {
        let mut m: serde_json::Map<String, Value> = serde_json::Map::new();
        for f in filters {
            let (k, v) = f.split_once('=').unwrap_or((f, ""));
            let e = m.entry(k.to_string()).or_insert_with(|| json!({}));
            e[v] = json!(true);
        }
        path.push_str(&format!("&filters={}", q(&Value::Object(m).to_string())));
    }
    let list: Vec<Value> = c.get(&path).await?;
    let id = |v: &Value| {
        let id = v["Id"].as_str().unwrap_or("").to_string();
        if no_trunc {
            id
        } else {
            id.chars().take(12).collect()
        }
    };
    if quiet {
        for v in &list {
            println!("{}", id(v));
        }
        return Ok(0);
    }
    let now = now();
    let strs = |v: &Value| -> Vec<String> {
        v.as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s.as_str())
            .map(str::to_string)
            .collect()
    };
    // The docker CLI's container fields for `--format` (alphabetical, as its `{{json .}}`).
    let rows: Vec<Value> = list
        .iter()
        .map(|v| {
            let names: Vec<String> = strs(&v["Names"])
                .iter()
                .map(|n| n.trim_start_matches('/').to_string())
                .collect();
            let ports: Vec<String> = v["Ports"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| {
                    let private = format!(
                        "{}/{}",
                        p["PrivatePort"].as_i64().unwrap_or(0),
                        p["Type"].as_str().unwrap_or("tcp")
                    );
                    match p["PublicPort"].as_i64() {
                        Some(pp) => {
                            format!("{}:{pp}->{private}", p["IP"].as_str().unwrap_or("0.0.0.0"))
                        }
                        None => private,
                    }
                })
                .collect();
            let mut labels: Vec<String> = v["Labels"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                .collect();
            labels.sort();
            let mounts: Vec<&Value> = v["Mounts"].as_array().into_iter().flatten().collect();
            let mount_names: Vec<String> = mounts
                .iter()
                .map(|m| {
                    let name = m["Name"].as_str().filter(|n| !n.is_empty());
                    let name = name.or(m["Source"].as_str()).unwrap_or("");
                    // go-units' Ellipsis at 15.
                    if no_trunc || name.chars().count() <= 15 {
                        name.to_string()
                    } else {
                        name.chars().take(14).chain(['…']).collect()
                    }
                })
                .collect();
            let volumes = mounts.iter().filter(|m| m["Type"] == "volume").count();
            let networks: Vec<String> = v["NetworkSettings"]["Networks"]
                .as_object()
                .map(|n| n.keys().cloned().collect())
                .unwrap_or_default();
            let created = v["Created"].as_i64().unwrap_or(now);
            let size = match (v["SizeRw"].as_i64(), v["SizeRootFs"].as_i64()) {
                (Some(rw), Some(root)) => {
                    format!("{} (virtual {})", human_size(rw), human_size(root))
                }
                (Some(rw), None) => human_size(rw),
                _ => "0B".to_string(),
            };
            json!({
                "Command": truncate_command(v["Command"].as_str().unwrap_or(""), no_trunc),
                "CreatedAt": format::go_time(created),
                "ID": id(v),
                "Image": v["Image"].as_str().unwrap_or(""),
                "Labels": labels.join(","),
                "LocalVolumes": volumes.to_string(),
                "Mounts": mount_names.join(","),
                "Names": names.join(","),
                "Networks": networks.join(","),
                "Platform": null,
                "Ports": ports.join(", "),
                "RunningFor": format!("{} ago", human_duration(now - created)),
                "Size": size,
                "State": v["State"].as_str().unwrap_or(""),
                "Status": v["Status"].as_str().unwrap_or(""),
            })
        })
        .collect();
    let titles = json!({
        "Command": "COMMAND", "CreatedAt": "CREATED AT", "ID": "CONTAINER ID",
        "Image": "IMAGE", "Labels": "LABELS", "LocalVolumes": "LOCAL VOLUMES",
        "Mounts": "MOUNTS", "Names": "NAMES", "Networks": "NETWORKS", "Platform": "PLATFORM",
        "Ports": "PORTS", "RunningFor": "CREATED", "Size": "SIZE", "State": "STATE",
        "Status": "STATUS",
    });
    let default = if o.size {
        "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}\t{{.Size}}"
    } else {
        "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}"
    };
    let out = format::rows(tpl, default, &titles, &rows).map_err(|e| fail(1, e))?;
    print!("{out}");
    Ok(0)
}

/// `berth rename CONTAINER NEW_NAME`.
pub async fn rename(c: &Client, container: &str, new_name: &str) -> CmdResult {
    let path = format!("/containers/{}/rename?name={}", q(container), q(new_name));
    match c.post(&path, &Value::Null).await {
        Ok(_) => Ok(0),
        Err(e) => Err(fail(
            1,
            format!("{e}\nError: failed to rename container named {container}"),
        )),
    }
}

/// `berth container prune [-f] [--filter F]...`.
pub async fn container_prune(c: &Client, force: bool, filters: &[String]) -> CmdResult {
    if !force
        && !crate::image_cmds::confirm(
            "WARNING! This will remove all stopped containers.\nAre you sure you want to continue?",
        )
    {
        return Ok(0);
    }
    let reclaimed = crate::image_cmds::prune_containers(c, filters).await?;
    println!(
        "Total reclaimed space: {}",
        format::human_size_precise(reclaimed)
    );
    Ok(0)
}

/// One `--mount` as the docker CLI reads it (comma-separated `key=value`; `readonly`
/// alone means true) into the API's `Mounts` entry.
fn mount_spec(spec: &str) -> Result<Value, Exit> {
    let bad = |why: String| {
        fail(
            125,
            format!("invalid argument \"{spec}\" for \"--mount\" flag: {why}"),
        )
    };
    let mut m = json!({ "Type": "volume" });
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
        match key.as_str() {
            "type" => m["Type"] = json!(need(value)?),
            "source" | "src" => m["Source"] = json!(need(value)?),
            "target" | "destination" | "dst" => m["Target"] = json!(need(value)?),
            "readonly" | "ro" => m["ReadOnly"] = json!(truth(value)?),
            "bind-propagation" => m["BindOptions"]["Propagation"] = json!(need(value)?),
            "tmpfs-size" => {
                let n = format::parse_bytes(&need(value)?).map_err(bad)?;
                m["TmpfsOptions"]["SizeBytes"] = json!(n);
            }
            "tmpfs-mode" => {
                let v = need(value)?;
                let mode = u32::from_str_radix(&v, 8)
                    .map_err(|_| bad(format!("invalid value for {key}: {v}")))?;
                m["TmpfsOptions"]["Mode"] = json!(mode);
            }
            "consistency" => {}
            _ => return Err(bad(format!("unexpected key '{key}' in '{field}'"))),
        }
    }
    Ok(m)
}

/// `exec` flags.
pub struct ExecOpts {
    pub detach: bool,
    pub interactive: bool,
    pub tty: bool,
    pub user: Option<String>,
    pub workdir: Option<String>,
    pub env: Vec<String>,
    pub privileged: bool,
}

pub async fn exec(c: &Client, name: &str, cmd: Vec<String>, o: ExecOpts) -> CmdResult {
    let mut body = json!({
        "AttachStdin": o.interactive && !o.detach,
        "AttachStdout": !o.detach,
        "AttachStderr": !o.detach,
        "Tty": o.tty,
        "Cmd": cmd,
        "Env": o.env.iter().filter_map(|e| expand_env(e)).collect::<Vec<_>>(),
        "User": o.user.unwrap_or_default(),
        "WorkingDir": o.workdir.unwrap_or_default(),
        "Privileged": o.privileged,
    });
    let size = console_size(o.tty);
    if let Some(size) = &size {
        body["ConsoleSize"] = size.clone();
    }
    let v = c
        .post(&format!("/containers/{}/exec", q(name)), &body)
        .await?;
    let exec_id = v["Id"]
        .as_str()
        .ok_or_else(|| fail(1, "berth: daemon returned no exec id"))?
        .to_string();
    if o.detach {
        c.post(
            &format!("/exec/{exec_id}/start"),
            &json!({"Detach": true, "Tty": o.tty}),
        )
        .await?;
        return Ok(0);
    }
    let stream = c
        .hijack(
            &format!("/exec/{exec_id}/start"),
            &json!({"Detach": false, "Tty": o.tty, "ConsoleSize": size}),
        )
        .await?;
    let raw = if o.tty && o.interactive {
        RawTerminal::enable()
    } else {
        None
    };
    if o.tty {
        track_size(c, format!("/exec/{exec_id}/resize"));
    }
    pump(stream, o.tty, o.interactive).await?;
    drop(raw);
    let v: Value = c.get(&format!("/exec/{exec_id}/json")).await?;
    Ok(v["ExitCode"].as_i64().unwrap_or(126) as i32)
}

pub async fn resize(c: &Client, name: &str, w: u16, h: u16) -> CmdResult {
    c.post(
        &format!("/containers/{}/resize?h={h}&w={w}", q(name)),
        &Value::Null,
    )
    .await?;
    Ok(0)
}

/// A directory (an OCI image layout) as a tar stream, written by a thread as it is read.
fn tar_dir(dir: &str) -> Result<tokio::net::UnixStream, Exit> {
    let (w, r) =
        std::os::unix::net::UnixStream::pair().map_err(|e| fail(1, format!("load {dir}: {e}")))?;
    let root = std::path::PathBuf::from(dir);
    std::thread::spawn(move || {
        let mut b = tar::Builder::new(w);
        b.follow_symlinks(false);
        // An error ends the stream early: the daemon then refuses the truncated archive.
        if let Err(e) = b.append_dir_all(".", &root).and_then(|()| b.finish()) {
            eprintln!("berth: reading {}: {e}", root.display());
        }
    });
    r.set_nonblocking(true)
        .and_then(|()| tokio::net::UnixStream::from_std(r))
        .map_err(|e| fail(1, format!("load {dir}: {e}")))
}

pub async fn load(c: &Client, input: Option<&str>, quiet: bool) -> CmdResult {
    let body = match input {
        Some(p) if std::path::Path::new(p).is_dir() => berth_client::reader_body(tar_dir(p)?),
        Some(p) => {
            let f = tokio::fs::File::open(p)
                .await
                .map_err(|e| fail(1, format!("open {p}: {e}")))?;
            berth_client::reader_body(f)
        }
        None => {
            if is_tty(0) {
                return Err(fail(
                    1,
                    "requested load from stdin, but stdin is empty (use -i FILE)",
                ));
            }
            berth_client::reader_body(tokio::io::stdin())
        }
    };
    let resp = c
        .send(
            Method::POST,
            &format!("/images/load?quiet={}", u8::from(quiet)),
            body,
            &[("content-type", "application/x-tar")],
        )
        .await?;
    let mut body = resp.into_body();
    let mut buf = Vec::new();
    let mut code = 0;
    while let Some(chunk) = next_chunk(&mut body).await? {
        buf.extend_from_slice(&chunk);
        while let Some(nl) = buf.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = buf.drain(..=nl).collect();
            code |= print_progress(&line);
        }
    }
    if !buf.is_empty() {
        code |= print_progress(&buf);
    }
    Ok(code)
}

/// One JSON line of a progress stream; returns 1 for an error line, whose message goes to
/// stderr as the docker CLI prints it (no prefix).
fn print_progress(line: &[u8]) -> i32 {
    let Ok(v) = serde_json::from_slice::<Value>(line) else {
        return 0;
    };
    if let Some(e) = v["errorDetail"]["message"].as_str().or(v["error"].as_str()) {
        eprintln!("{e}");
        return 1;
    }
    if let Some(s) = v["stream"].as_str() {
        print!("{s}");
    }
    0
}

pub async fn tag(c: &Client, source: &str, target: &str) -> CmdResult {
    let (repo, tag) = match target.rsplit_once(':') {
        Some((r, t)) if !t.contains('/') => (r, t),
        _ => (target, "latest"),
    };
    c.post(
        &format!("/images/{}/tag?repo={}&tag={}", q(source), q(repo), q(tag)),
        &Value::Null,
    )
    .await?;
    Ok(0)
}

pub async fn inspect(
    c: &Client,
    names: &[String],
    fmt: Option<&str>,
    kind: Option<&str>,
    size: bool,
) -> CmdResult {
    let mut out = Vec::new();
    let mut code = 0;
    for n in names {
        let mut found = None;
        let mut last_err = None;
        if kind != Some("image") {
            let path = format!("/containers/{}/json?size={}", q(n), u8::from(size));
            match c.get::<Value>(&path).await {
                Ok(v) => found = Some(v),
                Err(e) => last_err = Some(e),
            }
        }
        if found.is_none() && kind != Some("container") {
            match c.get::<Value>(&format!("/images/{}/json", q(n))).await {
                Ok(v) => found = Some(v),
                Err(e) => last_err = Some(e),
            }
        }
        match found {
            Some(v) => out.push(v),
            None => {
                code = 1;
                match last_err {
                    Some(ClientError::Api { status: 404, .. }) | None => {
                        eprintln!("Error: No such object: {n}")
                    }
                    Some(e) => eprintln!("{e}"),
                }
            }
        }
    }
    match fmt {
        Some(f) => {
            for v in &out {
                println!("{}", format::template(f, v).map_err(|e| fail(1, e))?);
            }
        }
        None => {
            let mut buf = Vec::new();
            let fmtr = serde_json::ser::PrettyFormatter::with_indent(b"    ");
            let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmtr);
            serde::Serialize::serialize(&out, &mut ser).map_err(|e| fail(1, e.to_string()))?;
            println!("{}", String::from_utf8_lossy(&buf));
        }
    }
    Ok(code)
}

pub async fn version(c: &Client, fmt: Option<&str>) -> CmdResult {
    let server: Result<Value, _> = c.get("/version").await;
    let client = json!({
        "Version": env!("CARGO_PKG_VERSION"),
        "ApiVersion": c.version(),
        "Os": std::env::consts::OS,
        "Arch": std::env::consts::ARCH,
    });
    if let Some(f) = fmt {
        let v = json!({"Client": client, "Server": server.as_ref().ok()});
        println!("{}", format::template(f, &v).map_err(|e| fail(1, e))?);
        return Ok(0);
    }
    println!("Client:");
    println!(" Version:           {}", env!("CARGO_PKG_VERSION"));
    println!(" API version:       {}", c.version());
    println!(
        " OS/Arch:           {}/{}",
        std::env::consts::OS,
        std::env::consts::ARCH
    );
    let s = server?;
    println!();
    println!(
        "Server: {}",
        s["Platform"]["Name"].as_str().unwrap_or("Berth")
    );
    println!(" Engine:");
    println!(
        "  Version:          {}",
        s["Version"].as_str().unwrap_or("")
    );
    println!(
        "  API version:      {} (minimum version {})",
        s["ApiVersion"].as_str().unwrap_or(""),
        s["MinAPIVersion"].as_str().unwrap_or("")
    );
    println!(
        "  OS/Arch:          {}/{}",
        s["Os"].as_str().unwrap_or(""),
        s["Arch"].as_str().unwrap_or("")
    );
    println!(
        "  Kernel Version:   {}",
        s["KernelVersion"].as_str().unwrap_or("")
    );
    Ok(0)
}

pub async fn info(c: &Client, fmt: Option<&str>) -> CmdResult {
    let v: Value = c.get("/info").await?;
    if let Some(f) = fmt {
        println!("{}", format::template(f, &v).map_err(|e| fail(1, e))?);
        return Ok(0);
    }
    let s = |k: &str| match &v[k] {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    println!("Server:");
    println!(" Containers: {}", s("Containers"));
    println!("  Running: {}", s("ContainersRunning"));
    println!("  Paused: {}", s("ContainersPaused"));
    println!("  Stopped: {}", s("ContainersStopped"));
    println!(" Images: {}", s("Images"));
    println!(" Server Version: {}", s("ServerVersion"));
    println!(" Storage Driver: {}", s("Driver"));
    println!(" Logging Driver: {}", s("LoggingDriver"));
    println!(" Cgroup Driver: {}", s("CgroupDriver"));
    println!(" Cgroup Version: {}", s("CgroupVersion"));
    println!(" Kernel Version: {}", s("KernelVersion"));
    println!(" Operating System: {}", s("OperatingSystem"));
    println!(" Architecture: {}", s("Architecture"));
    println!(" CPUs: {}", s("NCPU"));
    println!(
        " Total Memory: {}",
        human_size(v["MemTotal"].as_i64().unwrap_or(0))
    );
    println!(" Name: {}", s("Name"));
    println!(" Docker Root Dir: {}", s("DockerRootDir"));
    Ok(0)
}

pub async fn pause(c: &Client, names: &[String], pause: bool) -> CmdResult {
    let verb = if pause { "pause" } else { "unpause" };
    each_parallel(names, |n| async move {
        c.post(&format!("/containers/{}/{verb}", q(&n)), &Value::Null)
            .await?;
        Ok(Some(n))
    })
    .await
}

pub async fn top(c: &Client, name: &str, ps_args: &[String]) -> CmdResult {
    let mut path = format!("/containers/{}/top", q(name));
    if !ps_args.is_empty() {
        path.push_str(&format!("?ps_args={}", q(&ps_args.join(" "))));
    }
    let v: Value = c.get(&path).await?;
    let titles: Vec<&str> = v["Titles"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t.as_str())
        .collect();
    let rows: Vec<Vec<String>> = v["Processes"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            r.as_array()
                .into_iter()
                .flatten()
                .map(|f| f.as_str().unwrap_or("").to_string())
                .collect()
        })
        .collect();
    print!("{}", format::table_min(20, &titles, &rows));
    Ok(0)
}

/// Docker's CPU percentage from a stats sample and its `precpu_stats`.
fn cpu_percent(v: &Value) -> f64 {
    let f = |p: &str| v.pointer(p).and_then(Value::as_f64).unwrap_or(0.0);
    let cpu = f("/cpu_stats/cpu_usage/total_usage") - f("/precpu_stats/cpu_usage/total_usage");
    let sys = f("/cpu_stats/system_cpu_usage") - f("/precpu_stats/system_cpu_usage");
    let online = f("/cpu_stats/online_cpus").max(1.0);
    if cpu > 0.0 && sys > 0.0 {
        cpu / sys * online * 100.0
    } else {
        0.0
    }
}

pub async fn stats(c: &Client, names: &[String], no_stream: bool, all: bool) -> CmdResult {
    loop {
        let targets: Vec<String> = if names.is_empty() {
            let list: Vec<Value> = c
                .get(&format!("/containers/json?all={}", u8::from(all)))
                .await?;
            list.iter()
                .filter_map(|v| v["Id"].as_str().map(str::to_string))
                .collect()
        } else {
            names.to_vec()
        };
        let mut rows = Vec::new();
        for n in &targets {
            let v = match c
                .get::<Value>(&format!("/containers/{}/stats?stream=false", q(n)))
                .await
            {
                Ok(v) => v,
                Err(ClientError::Api { status: 409, .. }) if names.is_empty() => continue,
                Err(e) => return Err(e.into()),
            };
            let usage = v["memory_stats"]["usage"].as_i64().unwrap_or(0);
            let limit = v["memory_stats"]["limit"].as_i64().unwrap_or(0);
            let mem_pct = if limit > 0 {
                usage as f64 / limit as f64 * 100.0
            } else {
                0.0
            };
            rows.push(vec![
                v["id"].as_str().unwrap_or("").chars().take(12).collect(),
                v["name"]
                    .as_str()
                    .unwrap_or("")
                    .trim_start_matches('/')
                    .to_string(),
                format!("{:.2}%", cpu_percent(&v)),
                format!(
                    "{} / {}",
                    human_size_binary(usage),
                    human_size_binary(limit)
                ),
                format!("{mem_pct:.2}%"),
                net_io(&v),
                block_io(&v),
                v["pids_stats"]["current"].as_i64().unwrap_or(0).to_string(),
            ]);
        }
        if !no_stream {
            print!("\x1b[2J\x1b[H");
        }
        print!(
            "{}",
            table(
                &[
                    "CONTAINER ID",
                    "NAME",
                    "CPU %",
                    "MEM USAGE / LIMIT",
                    "MEM %",
                    "NET I/O",
                    "BLOCK I/O",
                    "PIDS"
                ],
                &rows
            )
        );
        if no_stream {
            return Ok(0);
        }
    }
}

/// `NET I/O` of docker stats: received / sent over all the container's networks.
fn net_io(v: &Value) -> String {
    let (mut rx, mut tx) = (0, 0);
    for n in v["networks"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(_, n)| n)
    {
        rx += n["rx_bytes"].as_i64().unwrap_or(0);
        tx += n["tx_bytes"].as_i64().unwrap_or(0);
    }
    format!("{} / {}", human_size(rx), human_size(tx))
}

/// `BLOCK I/O` of docker stats: bytes read / written, from the blkio service bytes.
fn block_io(v: &Value) -> String {
    let (mut read, mut write) = (0, 0);
    let entries = v["blkio_stats"]["io_service_bytes_recursive"].as_array();
    for e in entries.into_iter().flatten() {
        let n = e["value"].as_i64().unwrap_or(0);
        match e["op"].as_str().map(str::to_ascii_lowercase).as_deref() {
            Some("read") => read += n,
            Some("write") => write += n,
            _ => {}
        }
    }
    format!("{} / {}", human_size(read), human_size(write))
}

/// go-units `BytesSize`: binary units, as docker stats shows memory.
fn human_size_binary(bytes: i64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = bytes.max(0) as f64;
    let mut i = 0;
    while v >= 1024.0 && i < units.len() - 1 {
        v /= 1024.0;
        i += 1;
    }
    format!("{v:.2}")
        .trim_end_matches('0')
        .trim_end_matches('.')
        .to_string()
        + units[i]
}

pub async fn update(c: &Client, names: &[String], body: &Value) -> CmdResult {
    each(names, |n| async move {
        c.post(&format!("/containers/{}/update", q(&n)), body)
            .await?;
        Ok(Some(n))
    })
    .await
}
