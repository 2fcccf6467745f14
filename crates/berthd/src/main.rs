//! `berthd`: the Berth daemon. Parses dockerd-style flags, opens the engine and serves the
//! Docker Engine API on the configured sockets. Containers keep running when it stops.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use clap::Parser;

#[derive(Parser, Debug)]
#[command(
    name = "berthd",
    version,
    about = "Berth daemon: the Docker Engine API, faster"
)]
struct Args {
    /// Root of persistent state (images, containers, metadata).
    #[arg(long, default_value = "/var/lib/berth")]
    data_root: PathBuf,
    /// Root of runtime state (bundles, shim sockets).
    #[arg(long, default_value = "/run/berth")]
    exec_root: PathBuf,
    /// Where to listen: unix:///path or tcp://host:port (repeatable).
    #[arg(short = 'H', long = "host")]
    hosts: Vec<String>,
    /// Log level: debug, info, warn, error.
    #[arg(short = 'l', long, default_value = "info")]
    log_level: String,
    /// The default network's bridge (created if missing); `none`: no default network,
    /// containers that name none get loopback only.
    #[arg(short = 'b', long, default_value = "berth0")]
    bridge: String,
    /// The default bridge's address and prefix, e.g. 172.17.0.1/16 (default: the first
    /// free private /16).
    #[arg(long)]
    bip: Option<String>,
    /// Berth's nftables table (`inet NAME`), so that daemons on one host keep apart.
    #[arg(long, default_value = "berth")]
    firewall_table: String,
    /// Where networks created without a subnet get one: base=CIDR,size=PREFIX (dockerd's
    /// flag; repeatable, in order). Default: 172.17.0.0/16 to 172.31.0.0/16, then
    /// 192.168.0.0/16 in /20s.
    #[arg(long = "default-address-pool")]
    default_address_pools: Vec<String>,
    /// The berth-shim executable (default: next to berthd, else on PATH).
    #[arg(long)]
    shim_binary: Option<PathBuf>,
    /// cgroup parent of containers, below each hierarchy's root.
    #[arg(long, default_value = "berth")]
    cgroup_parent: String,
    /// Register an OCI runtime for `--runtime NAME`: NAME=PATH (repeatable; PATH may be a
    /// command on PATH). `runc` is registered when found on PATH.
    #[arg(long = "add-runtime")]
    add_runtime: Vec<String>,
    /// The runtime of containers that ask for none: `berth` (Berth's own) or a registered
    /// one (e.g. runc).
    #[arg(long = "default-runtime", default_value = berth_engine::runtimes::DEFAULT_RUNTIME)]
    default_runtime: String,
    /// The init binary of `--init` (dockerd's flag): a path, or a name looked up in
    /// dockerd's libexec dirs and PATH; it must be statically linked. Default:
    /// `docker-init`, else `tini-static`.
    #[arg(long = "init-path")]
    init_path: Option<String>,
    /// Default log driver of containers: json-file, local or none.
    #[arg(long = "log-driver", default_value = berth_models::DEFAULT_LOG_DRIVER)]
    log_driver: String,
    /// Default log driver options, KEY=VALUE (repeatable).
    #[arg(long = "log-opt")]
    log_opts: Vec<String>,
}

/// `--log-driver` and `--log-opt`, checked as a container's would be.
fn default_log(driver: &str, opts: &[String]) -> Result<berth_models::LogConfig> {
    let mut config = std::collections::BTreeMap::new();
    for o in opts {
        let Some((k, v)) = o.split_once('=') else {
            bail!("--log-opt {o:?}: expected KEY=VALUE");
        };
        config.insert(k.to_string(), v.to_string());
    }
    let lc = berth_models::LogConfig {
        r#type: driver.to_string(),
        config,
    };
    berth_engine::logs::check_default(&lc)
        .map_err(|e| anyhow::anyhow!("--log-driver/--log-opt: {e}"))?;
    Ok(lc)
}

/// `--add-runtime` flags, plus runc from PATH when not given.
fn runtimes(flags: &[String]) -> Result<std::collections::BTreeMap<String, PathBuf>> {
    let on_path = |name: &str| {
        let path = std::env::var_os("PATH").unwrap_or_default();
        std::env::split_paths(&path)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    };
    let mut out = std::collections::BTreeMap::new();
    for f in flags {
        let Some((name, path)) = f
            .split_once('=')
            .filter(|(n, p)| !n.is_empty() && !p.is_empty())
        else {
            bail!("--add-runtime {f:?}: expected NAME=PATH");
        };
        if name == berth_engine::runtimes::DEFAULT_RUNTIME {
            bail!("--add-runtime: runtime name {name:?} is reserved");
        }
        let path = if path.contains('/') {
            std::path::absolute(path)?
        } else {
            on_path(path).with_context(|| format!("--add-runtime {f}: {path} not found on PATH"))?
        };
        out.insert(name.to_string(), path);
    }
    if !out.contains_key("runc")
        && let Some(p) = on_path("runc")
    {
        out.insert("runc".into(), p);
    }
    Ok(out)
}

fn find_shim(explicit: Option<PathBuf>) -> Result<PathBuf> {
    if let Some(p) = explicit {
        return Ok(p);
    }
    if let Some(dir) = std::env::current_exe()?.parent() {
        let p = dir.join("berth-shim");
        if p.is_file() {
            return Ok(p);
        }
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        let p = dir.join("berth-shim");
        if p.is_file() {
            return Ok(p);
        }
    }
    bail!("berth-shim not found next to berthd or on PATH (use --shim-binary)")
}

/// Bind a Unix socket, replacing a stale socket file nobody listens on.
fn bind_unix(path: &Path) -> Result<tokio::net::UnixListener> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    if path.exists() {
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            bail!("another daemon is listening on {}", path.display());
        }
        std::fs::remove_file(path).with_context(|| format!("removing stale {}", path.display()))?;
    }
    let l = tokio::net::UnixListener::bind(path)
        .with_context(|| format!("binding {}", path.display()))?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660))?;
    Ok(l)
}

/// `--default-address-pool base=10.10.0.0/16,size=24`, each cut into its subnets.
fn address_pools(flags: &[String]) -> Result<Vec<ipnet::IpNet>> {
    let mut out = Vec::new();
    for f in flags {
        let (mut base, mut size) = (None, None);
        for kv in f.split(',') {
            match kv.split_once('=') {
                Some(("base", v)) => {
                    base = Some(
                        v.parse::<ipnet::IpNet>()
                            .with_context(|| format!("--default-address-pool {f:?}: base"))?,
                    )
                }
                Some(("size", v)) => {
                    size = Some(
                        v.parse::<u8>()
                            .with_context(|| format!("--default-address-pool {f:?}: size"))?,
                    )
                }
                _ => bail!("--default-address-pool {f:?}: expected base=CIDR,size=PREFIX"),
            }
        }
        let (Some(base), Some(size)) = (base, size) else {
            bail!("--default-address-pool {f:?}: expected base=CIDR,size=PREFIX");
        };
        out.extend(
            berth_net::ipam::split_pool(base.trunc(), size)
                .with_context(|| format!("--default-address-pool {f:?}"))?,
        );
    }
    Ok(out)
}

fn main() -> Result<()> {
    // Descriptors left open by whatever started berthd (a shell's redirections, a
    // supervisor's sockets) are not passed on to shims and helpers; everything berthd opens
    // itself is close-on-exec already. dockerd and runc do the same for their children.
    berth_runtime::linux::cloexec_from_3()
        .context("marking inherited descriptors close-on-exec")?;
    // `docker cp`'s helper: berthd run again by itself, before any thread exists.
    let argv: Vec<String> = std::env::args().collect();
    if argv.get(1).map(String::as_str) == Some(berth_engine::archive::HELPER_ARG) {
        std::process::exit(berth_engine::archive::helper::helper_main(&argv[2..]));
    }
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_new(&args.log_level)
                .context("invalid --log-level")?,
        )
        .with_writer(std::io::stderr)
        .init();
    berth_engine::fault::init();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(16)
        .enable_all()
        .build()?;
    rt.block_on(run(args))
}

async fn run(args: Args) -> Result<()> {
    let bip = args
        .bip
        .as_deref()
        .map(|b| {
            b.parse::<ipnet::IpNet>()
                .with_context(|| format!("--bip {b:?}"))
        })
        .transpose()?;
    if args.bridge == "none" && bip.is_some() {
        bail!("--bip cannot be used with --bridge none");
    }
    if args.bridge.is_empty() || args.bridge.len() > 15 {
        bail!(
            "--bridge {:?}: a network interface name of 1 to 15 characters",
            args.bridge
        );
    }
    let cfg = berth_engine::Config {
        data_root: std::path::absolute(&args.data_root)?,
        exec_root: std::path::absolute(&args.exec_root)?,
        shim_binary: find_shim(args.shim_binary)?,
        cgroup_parent: args.cgroup_parent,
        runtimes: runtimes(&args.add_runtime)?,
        default_runtime: args.default_runtime,
        default_log: default_log(&args.log_driver, &args.log_opts)?,
        init: berth_engine::runtimes::InitBinary::find(args.init_path.as_deref())
            .context("--init-path")?,
        network: berth_engine::networks::NetConfig {
            bridge: (args.bridge != "none").then_some(args.bridge),
            bip,
            firewall_table: args.firewall_table,
            default_pools: address_pools(&args.default_address_pools)?,
        },
    };
    if cfg.default_runtime != berth_engine::runtimes::DEFAULT_RUNTIME
        && !cfg.runtimes.contains_key(&cfg.default_runtime)
    {
        bail!(
            "--default-runtime {:?}: no such runtime (known: {})",
            cfg.default_runtime,
            std::iter::once(berth_engine::runtimes::DEFAULT_RUNTIME)
                .chain(cfg.runtimes.keys().map(String::as_str))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let engine = berth_engine::Engine::open(cfg)
        .await
        .context("opening the engine state")?;
    let router = berth_api::router(Arc::clone(&engine));
    let hosts = if args.hosts.is_empty() {
        vec!["unix:///run/berth/berthd.sock".to_string()]
    } else {
        args.hosts
    };
    let mut sockets = Vec::new();
    for h in &hosts {
        if let Some(path) = h.strip_prefix("unix://") {
            let l = bind_unix(Path::new(path))?;
            sockets.push(PathBuf::from(path));
            tokio::spawn(berth_api::serve_unix(l, router.clone()));
        } else if let Some(addr) = h.strip_prefix("tcp://") {
            let l = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("binding {addr}"))?;
            tracing::warn!("serving the API on tcp://{addr} without TLS");
            tokio::spawn(berth_api::serve_tcp(l, router.clone()));
        } else {
            bail!("unsupported host {h:?}: use unix:///path or tcp://host:port");
        }
        tracing::info!("API listening on {h}");
    }
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    tracing::info!("shutting down; containers keep running");
    engine.shutdown().await;
    for s in sockets {
        let _ = std::fs::remove_file(s);
    }
    Ok(())
}
