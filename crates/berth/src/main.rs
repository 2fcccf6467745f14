//! `berth`: Berth's command line, with docker's commands, flags, output and exit codes.
//! `-H`/`--host`, `BERTH_HOST` or `DOCKER_HOST` pick the daemon.

mod commands;
mod cp;
mod events_cmd;
mod format;
mod image_cmds;
mod imgcmds;
mod stream;

use clap::{Args, Parser, Subcommand};

/// A fatal error with the exit code it should produce.
#[derive(Debug)]
pub struct Exit {
    pub code: i32,
    pub message: String,
}

pub type CmdResult = Result<i32, Exit>;

impl From<berth_client::Error> for Exit {
    fn from(e: berth_client::Error) -> Self {
        Exit {
            code: 1,
            message: e.to_string(),
        }
    }
}

impl From<std::io::Error> for Exit {
    fn from(e: std::io::Error) -> Self {
        Exit {
            code: 1,
            message: e.to_string(),
        }
    }
}

#[derive(Parser, Debug)]
#[command(
    name = "berth",
    version,
    about = "A fast, lean container engine",
    disable_help_subcommand = true
)]
struct Cli {
    /// Daemon socket to connect to (unix:///path or tcp://host:port).
    #[arg(short = 'H', long = "host", global = true)]
    host: Option<String>,
    #[command(subcommand)]
    cmd: Cmd,
}

impl CreateOpts {
    pub fn image(&self) -> &str {
        self.image_and_args.first().map_or("", String::as_str)
    }

    pub fn args(&self) -> &[String] {
        self.image_and_args.get(1..).unwrap_or(&[])
    }
}

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
    /// Connect a container to a network.
    #[arg(long = "network", alias = "net")]
    pub network: Option<String>,
    /// Container host name.
    #[arg(short = 'h', long)]
    pub hostname: Option<String>,
    /// Bind mount a volume (src:dst[:ro]).
    #[arg(short = 'v', long = "volume")]
    pub volumes: Vec<String>,
    /// Add a custom host-to-IP mapping (host:ip).
    #[arg(long = "add-host")]
    pub add_host: Vec<String>,
    /// Set custom DNS servers.
    #[arg(long)]
    pub dns: Vec<String>,
    /// Set custom DNS search domains.
    #[arg(long = "dns-search")]
    pub dns_search: Vec<String>,
    /// Set DNS options.
    #[arg(long = "dns-option")]
    pub dns_option: Vec<String>,
    /// Logging driver for the container (json-file, local, none).
    #[arg(long = "log-driver")]
    pub log_driver: Option<String>,
    /// Log driver options (KEY=VALUE).
    #[arg(long = "log-opt")]
    pub log_opt: Vec<String>,
    /// Mount a tmpfs directory (PATH[:OPTIONS], e.g. /run:size=64m).
    #[arg(long)]
    pub tmpfs: Vec<String>,
    /// Attach a filesystem mount (type=bind|tmpfs,source=SRC,target=DST[,readonly]
    /// [,tmpfs-size=N][,tmpfs-mode=OCTAL]).
    #[arg(long)]
    pub mount: Vec<String>,
    /// Memory limit.
    #[arg(short = 'm', long)]
    pub memory: Option<String>,
    /// Tune container pids limit (-1 for unlimited).
    #[arg(long = "pids-limit", allow_hyphen_values = true)]
    pub pids_limit: Option<i64>,
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
    /// Publish a container's port(s) to the host.
    #[arg(short = 'p', long = "publish")]
    pub publish: Vec<String>,
    /// Restart policy to apply when a container exits.
    #[arg(long)]
    pub restart: Option<String>,
    /// Mount the container's root filesystem as read only.
    #[arg(long = "read-only")]
    pub read_only: bool,
    /// Automatically remove the container when it exits.
    #[arg(long)]
    pub rm: bool,
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
    /// Swap limit equal to memory plus swap: -1 to enable unlimited swap.
    #[arg(long = "memory-swap", allow_hyphen_values = true)]
    pub memory_swap: Option<String>,
    /// Memory soft limit.
    #[arg(long = "memory-reservation")]
    pub memory_reservation: Option<String>,
    /// Disable OOM Killer.
    #[arg(long = "oom-kill-disable")]
    pub oom_kill_disable: bool,
    /// Block IO (relative weight), between 10 and 1000.
    #[arg(long = "blkio-weight")]
    pub blkio_weight: Option<u16>,
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

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Create and run a new container from an image.
    #[command(disable_help_flag = true)]
    Run {
        /// Run container in background and print container ID.
        #[arg(short = 'd', long)]
        detach: bool,
        /// Proxy received signals to the process (without a TTY).
        #[arg(long = "sig-proxy", default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
        sig_proxy: bool,
        #[command(flatten)]
        opts: CreateOpts,
    },
    /// Create a new container.
    #[command(disable_help_flag = true)]
    Create {
        #[command(flatten)]
        opts: CreateOpts,
    },
    /// Start one or more stopped containers.
    Start {
        #[arg(short = 'a', long)]
        attach: bool,
        #[arg(short = 'i', long)]
        interactive: bool,
        #[arg(required = true)]
        containers: Vec<String>,
    },
    /// Stop one or more running containers.
    Stop {
        #[arg(short = 't', long = "time", alias = "timeout")]
        time: Option<i64>,
        #[arg(short = 's', long)]
        signal: Option<String>,
        #[arg(required = true)]
        containers: Vec<String>,
    },
    /// Restart one or more containers.
    Restart {
        #[arg(short = 't', long = "time", alias = "timeout")]
        time: Option<i64>,
        #[arg(required = true)]
        containers: Vec<String>,
    },
    /// Kill one or more running containers.
    Kill {
        #[arg(short = 's', long)]
        signal: Option<String>,
        #[arg(required = true)]
        containers: Vec<String>,
    },
    /// Rename a container.
    Rename { container: String, new_name: String },
    /// Copy files/folders between a container and the local filesystem.
    Cp(CpArgs),
    /// Remove one or more containers.
    Rm {
        #[arg(short = 'f', long)]
        force: bool,
        #[arg(short = 'v', long)]
        volumes: bool,
        #[arg(required = true)]
        containers: Vec<String>,
    },
    /// Block until containers stop, then print their exit codes.
    Wait {
        #[arg(required = true)]
        containers: Vec<String>,
    },
    /// Attach local standard input, output, and error streams to a running container.
    Attach {
        #[arg(long = "no-stdin")]
        no_stdin: bool,
        /// Proxy all received signals to the process (without a TTY).
        #[arg(long = "sig-proxy", default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
        sig_proxy: bool,
        container: String,
    },
    /// Get real time events from the daemon.
    Events {
        /// Show all events created since timestamp (Unix seconds, RFC 3339, or a duration
        /// ago such as 10m).
        #[arg(long)]
        since: Option<String>,
        /// Stream events until this timestamp.
        #[arg(long)]
        until: Option<String>,
        /// Filter output based on conditions provided (type, event, container, image, label).
        #[arg(short = 'f', long = "filter")]
        filter: Vec<String>,
        /// Format the output using the given Go template.
        #[arg(long)]
        format: Option<String>,
    },
    /// Fetch the logs of a container.
    Logs {
        #[arg(short = 'f', long)]
        follow: bool,
        #[arg(short = 't', long)]
        timestamps: bool,
        /// Show extra details provided to logs (the `labels`/`env` log options).
        #[arg(long)]
        details: bool,
        #[arg(short = 'n', long)]
        tail: Option<String>,
        /// Show logs since timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m").
        #[arg(long)]
        since: Option<String>,
        /// Show logs before a timestamp or relative time.
        #[arg(long)]
        until: Option<String>,
        container: String,
    },
    /// List containers.
    #[command(alias = "ls")]
    Ps {
        #[command(flatten)]
        opts: PsOpts,
    },
    /// Execute a command in a running container.
    Exec {
        #[arg(short = 'd', long)]
        detach: bool,
        #[arg(short = 'i', long)]
        interactive: bool,
        #[arg(short = 't', long)]
        tty: bool,
        #[arg(short = 'u', long)]
        user: Option<String>,
        #[arg(short = 'w', long)]
        workdir: Option<String>,
        #[arg(short = 'e', long = "env")]
        env: Vec<String>,
        #[arg(long)]
        privileged: bool,
        container: String,
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, required = true)]
        command: Vec<String>,
    },
    /// Pause all processes within one or more containers.
    Pause {
        #[arg(required = true)]
        containers: Vec<String>,
    },
    /// Unpause all processes within one or more containers.
    Unpause {
        #[arg(required = true)]
        containers: Vec<String>,
    },
    /// Display the running processes of a container.
    Top {
        container: String,
        /// ps options.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        ps_args: Vec<String>,
    },
    /// Display a live stream of container(s) resource usage statistics.
    Stats {
        #[arg(long = "no-stream")]
        no_stream: bool,
        #[arg(short = 'a', long)]
        all: bool,
        containers: Vec<String>,
    },
    /// Update configuration of one or more containers.
    Update {
        #[arg(short = 'm', long)]
        memory: Option<String>,
        #[arg(long = "memory-swap", allow_hyphen_values = true)]
        memory_swap: Option<String>,
        #[arg(long = "memory-reservation")]
        memory_reservation: Option<String>,
        #[arg(long)]
        cpus: Option<f64>,
        #[arg(short = 'c', long = "cpu-shares")]
        cpu_shares: Option<i64>,
        #[arg(long = "cpu-quota")]
        cpu_quota: Option<i64>,
        #[arg(long = "cpu-period")]
        cpu_period: Option<i64>,
        #[arg(long = "cpuset-cpus")]
        cpuset_cpus: Option<String>,
        #[arg(long = "pids-limit", allow_hyphen_values = true)]
        pids_limit: Option<i64>,
        #[arg(long)]
        restart: Option<String>,
        #[arg(required = true)]
        containers: Vec<String>,
    },
    /// Resize a container's TTY.
    Resize {
        container: String,
        width: u16,
        height: u16,
    },
    /// Create a new image from a container's changes.
    Commit(imgcmds::CommitArgs),
    /// Inspect changes to files or directories on a container's filesystem.
    Diff { container: String },
    /// Export a container's filesystem as a tar archive.
    Export {
        #[arg(short = 'o', long)]
        output: Option<String>,
        container: String,
    },
    /// Import the contents from a tarball to create a filesystem image.
    Import(imgcmds::ImportArgs),
    /// Load an image from a tar archive or STDIN.
    Load {
        #[arg(short = 'i', long)]
        input: Option<String>,
        #[arg(short = 'q', long)]
        quiet: bool,
    },
    /// List images.
    Images {
        #[command(flatten)]
        opts: image_cmds::ImagesOpts,
    },
    /// Remove one or more images.
    Rmi {
        #[arg(short = 'f', long)]
        force: bool,
        /// Do not delete untagged parents.
        #[arg(long = "no-prune")]
        no_prune: bool,
        #[arg(required = true)]
        images: Vec<String>,
    },
    /// Save one or more images to a tar archive (streamed to STDOUT by default).
    Save {
        /// Write to a file, instead of STDOUT.
        #[arg(short = 'o', long)]
        output: Option<String>,
        #[arg(required = true)]
        images: Vec<String>,
    },
    /// Show the history of an image.
    History {
        #[command(flatten)]
        opts: HistoryOpts,
    },
    /// Manage Berth.
    System {
        #[command(subcommand)]
        cmd: SystemCmd,
    },
    /// Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE.
    Tag { source: String, target: String },
    /// Return low-level information on containers or images.
    Inspect {
        #[arg(short = 'f', long)]
        format: Option<String>,
        #[arg(long = "type")]
        kind: Option<String>,
        /// Display total file sizes if the type is container.
        #[arg(short = 's', long)]
        size: bool,
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Show the Berth version information.
    Version {
        #[arg(short = 'f', long)]
        format: Option<String>,
    },
    /// Display system-wide information.
    Info {
        #[arg(short = 'f', long)]
        format: Option<String>,
    },
    /// Manage containers.
    Container {
        #[command(subcommand)]
        cmd: ContainerCmd,
    },
    /// Manage images.
    Image {
        #[command(subcommand)]
        cmd: ImageCmd,
    },
}

/// `cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-` or `cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH`.
#[derive(Args, Debug)]
struct CpArgs {
    /// Archive mode (copy all uid/gid information).
    #[arg(short = 'a', long)]
    archive: bool,
    /// Always follow symbol link in SRC_PATH.
    #[arg(short = 'L', long = "follow-link")]
    follow_link: bool,
    /// Suppress progress output during copy (there is none).
    #[arg(short = 'q', long)]
    quiet: bool,
    src: String,
    dst: String,
}

#[derive(Args, Debug)]
pub(crate) struct PsOpts {
    /// Show all containers (default shows just running).
    #[arg(short = 'a', long)]
    pub(crate) all: bool,
    /// Only display container IDs.
    #[arg(short = 'q', long)]
    pub(crate) quiet: bool,
    /// Don't truncate output.
    #[arg(long = "no-trunc")]
    pub(crate) no_trunc: bool,
    /// Show n last created containers (includes all states).
    #[arg(short = 'n', long = "last")]
    pub(crate) last: Option<i64>,
    /// Show the latest created container (includes all states).
    #[arg(short = 'l', long)]
    pub(crate) latest: bool,
    /// Filter output based on conditions provided.
    #[arg(short = 'f', long = "filter")]
    pub(crate) filter: Vec<String>,
    /// Format output using a custom template: 'table', 'table TEMPLATE', 'json' or a Go
    /// template.
    #[arg(long)]
    pub(crate) format: Option<String>,
    /// Display total file sizes.
    #[arg(short = 's', long)]
    pub(crate) size: bool,
}

#[derive(Args, Debug)]
struct HistoryOpts {
    /// Don't truncate output.
    #[arg(long = "no-trunc")]
    no_trunc: bool,
    /// Only show image IDs.
    #[arg(short = 'q', long)]
    quiet: bool,
    /// Print sizes and dates in human readable format.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    human: bool,
    image: String,
}

#[derive(Subcommand, Debug)]
enum SystemCmd {
    /// Show disk usage.
    Df,
    /// Display system-wide information.
    Info {
        #[arg(short = 'f', long)]
        format: Option<String>,
    },
    /// Remove unused data: stopped containers and dangling (with -a, unused) images.
    Prune(PruneOpts),
}

/// `image prune` and `system prune` flags.
#[derive(Args, Debug)]
struct PruneOpts {
    /// Remove all unused images, not just dangling ones.
    #[arg(short = 'a', long)]
    all: bool,
    /// Do not prompt for confirmation.
    #[arg(short = 'f', long)]
    force: bool,
    /// Provide filter values (e.g. "label=<key>=<value>", "until=<timestamp>").
    #[arg(long = "filter")]
    filter: Vec<String>,
}

#[derive(Subcommand, Debug)]
enum ContainerCmd {
    Commit(imgcmds::CommitArgs),
    Diff {
        container: String,
    },
    Export {
        #[arg(short = 'o', long)]
        output: Option<String>,
        container: String,
    },
    #[command(alias = "ps", alias = "list")]
    Ls {
        #[command(flatten)]
        opts: PsOpts,
    },
    Inspect {
        #[arg(short = 'f', long)]
        format: Option<String>,
        /// Display total file sizes.
        #[arg(short = 's', long)]
        size: bool,
        #[arg(required = true)]
        names: Vec<String>,
    },
    Rm {
        #[arg(short = 'f', long)]
        force: bool,
        #[arg(required = true)]
        containers: Vec<String>,
    },
    Rename {
        container: String,
        new_name: String,
    },
    Cp(CpArgs),
    /// Remove all stopped containers.
    Prune {
        /// Do not prompt for confirmation.
        #[arg(short = 'f', long)]
        force: bool,
        /// Provide filter values (e.g. "until=<timestamp>", "label=k=v").
        #[arg(long = "filter")]
        filter: Vec<String>,
    },
}

#[derive(Subcommand, Debug)]
enum ImageCmd {
    Import(imgcmds::ImportArgs),
    #[command(alias = "list")]
    Ls {
        #[command(flatten)]
        opts: image_cmds::ImagesOpts,
    },
    Inspect {
        #[arg(short = 'f', long)]
        format: Option<String>,
        #[arg(required = true)]
        names: Vec<String>,
    },
    Save {
        #[arg(short = 'o', long)]
        output: Option<String>,
        #[arg(required = true)]
        images: Vec<String>,
    },
    History {
        #[command(flatten)]
        opts: HistoryOpts,
    },
    /// Remove unused images.
    Prune(PruneOpts),
    Load {
        #[arg(short = 'i', long)]
        input: Option<String>,
        #[arg(short = 'q', long)]
        quiet: bool,
    },
    #[command(alias = "remove")]
    Rm {
        #[arg(short = 'f', long)]
        force: bool,
        #[arg(long = "no-prune")]
        no_prune: bool,
        #[arg(required = true)]
        images: Vec<String>,
    },
    Tag {
        source: String,
        target: String,
    },
}

/// `berth container VERB` and `berth system events` as the top-level command they name,
/// for the verbs the `container` and `system` groups share with it (as the docker CLI
/// accepts both forms).
fn management_aliases(mut args: Vec<String>) -> Vec<String> {
    const CONTAINER: &[&str] = &[
        "run", "create", "start", "stop", "restart", "kill", "wait", "attach", "logs", "exec",
        "pause", "unpause", "top", "stats", "update",
    ];
    // The command is the first argument that is not a global option (or its value).
    let mut i = 1;
    while i < args.len() {
        match args[i].as_str() {
            "-H" | "--host" => i += 2,
            a if a.starts_with("--host=") || (a.starts_with("-H") && a.len() > 2) => i += 1,
            _ => break,
        }
    }
    let next = args.get(i + 1).map(String::as_str);
    let alias = match (args.get(i).map(String::as_str), next) {
        (Some("container"), Some(verb)) => CONTAINER.contains(&verb),
        (Some("system"), Some("events")) => true,
        _ => false,
    };
    if alias {
        args.remove(i);
    }
    args
}

fn main() {
    // Die quietly on a closed pipe (`berth ps | head`), like other command-line tools.
    // SAFETY: setting a signal disposition to SIG_DFL runs no handler code.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    let cli = match Cli::try_parse_from(management_aliases(std::env::args().collect())) {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 125 } else { 0 };
            let _ = e.print();
            std::process::exit(code);
        }
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("berth: {e}");
            std::process::exit(1);
        }
    };
    let code = rt.block_on(dispatch(cli));
    let code = match code {
        Ok(c) => c,
        Err(e) => {
            if !e.message.is_empty() {
                eprintln!("{}", e.message);
            }
            e.code
        }
    };
    std::process::exit(code);
}

async fn dispatch(cli: Cli) -> CmdResult {
    use commands as c;
    let mut client = berth_client::Client::from_env(cli.host.as_deref())?;
    client.negotiate().await?;
    let cl = &client;
    match cli.cmd {
        Cmd::Run {
            detach,
            sig_proxy,
            opts,
        } => c::run(cl, opts, detach, sig_proxy).await,
        Cmd::Create { opts } => c::create_cmd(cl, opts).await,
        Cmd::Start {
            attach,
            interactive,
            containers,
        } => c::start(cl, &containers, attach || interactive, interactive).await,
        Cmd::Stop {
            time,
            signal,
            containers,
        } => c::stop(cl, &containers, time, signal.as_deref(), "stop").await,
        Cmd::Restart { time, containers } => c::stop(cl, &containers, time, None, "restart").await,
        Cmd::Kill { signal, containers } => c::kill(cl, &containers, signal.as_deref()).await,
        Cmd::Rm {
            force,
            volumes,
            containers,
        } => c::rm(cl, &containers, force, volumes).await,
        Cmd::Container {
            cmd: ContainerCmd::Rm { force, containers },
        } => c::rm(cl, &containers, force, false).await,
        Cmd::Rename {
            container,
            new_name,
        }
        | Cmd::Container {
            cmd:
                ContainerCmd::Rename {
                    container,
                    new_name,
                },
        } => c::rename(cl, &container, &new_name).await,
        Cmd::Container {
            cmd: ContainerCmd::Prune { force, filter },
        } => c::container_prune(cl, force, &filter).await,
        Cmd::Cp(a)
        | Cmd::Container {
            cmd: ContainerCmd::Cp(a),
        } => cp::cp(cl, &a.src, &a.dst, a.follow_link, a.archive).await,
        Cmd::Wait { containers } => c::wait(cl, &containers).await,
        Cmd::Attach {
            no_stdin,
            sig_proxy,
            container,
        } => c::attach(cl, &container, !no_stdin, sig_proxy).await,
        Cmd::Events {
            since,
            until,
            filter,
            format,
        } => {
            events_cmd::events(
                cl,
                since.as_deref(),
                until.as_deref(),
                &filter,
                format.as_deref(),
            )
            .await
        }
        Cmd::Logs {
            follow,
            timestamps,
            details,
            tail,
            since,
            until,
            container,
        } => {
            let window = (since, until);
            let shown = c::LogsShown {
                follow,
                timestamps,
                details,
            };
            c::logs(cl, &container, shown, tail, window).await
        }
        Cmd::Ps { opts }
        | Cmd::Container {
            cmd: ContainerCmd::Ls { opts },
        } => {
            let limit = if opts.latest { Some(1) } else { opts.last };
            let all = opts.all || limit.is_some();
            c::ps(cl, all, limit, &opts).await
        }
        Cmd::Exec {
            detach,
            interactive,
            tty,
            user,
            workdir,
            env,
            privileged,
            container,
            command,
        } => {
            let opts = c::ExecOpts {
                detach,
                interactive,
                tty,
                user,
                workdir,
                env,
                privileged,
            };
            c::exec(cl, &container, command, opts).await
        }
        Cmd::Pause { containers } => c::pause(cl, &containers, true).await,
        Cmd::Unpause { containers } => c::pause(cl, &containers, false).await,
        Cmd::Top { container, ps_args } => c::top(cl, &container, &ps_args).await,
        Cmd::Stats {
            no_stream,
            all,
            containers,
        } => c::stats(cl, &containers, no_stream, all).await,
        Cmd::Update {
            memory,
            memory_swap,
            memory_reservation,
            cpus,
            cpu_shares,
            cpu_quota,
            cpu_period,
            cpuset_cpus,
            pids_limit,
            restart,
            containers,
        } => {
            let bytes = |v: Option<String>| -> Result<Option<i64>, Exit> {
                match v.as_deref() {
                    None => Ok(None),
                    Some("-1") => Ok(Some(-1)),
                    Some(s) => format::parse_bytes(s)
                        .map(Some)
                        .map_err(|message| Exit { code: 1, message }),
                }
            };
            let mut body = serde_json::json!({});
            for (k, v) in [
                ("Memory", bytes(memory)?),
                ("MemorySwap", bytes(memory_swap)?),
                ("MemoryReservation", bytes(memory_reservation)?),
                ("NanoCpus", cpus.map(|c| (c * 1e9).round() as i64)),
                ("CpuShares", cpu_shares),
                ("CpuQuota", cpu_quota),
                ("CpuPeriod", cpu_period),
                ("PidsLimit", pids_limit),
            ] {
                if let Some(v) = v {
                    body[k] = serde_json::json!(v);
                }
            }
            if let Some(c) = cpuset_cpus {
                body["CpusetCpus"] = serde_json::json!(c);
            }
            if let Some(r) = restart {
                let (name, n) = r.split_once(':').unwrap_or((&r, "0"));
                body["RestartPolicy"] = serde_json::json!({
                    "Name": name,
                    "MaximumRetryCount": n.parse::<i64>().unwrap_or(0),
                });
            }
            c::update(cl, &containers, &body).await
        }
        Cmd::Resize {
            container,
            width,
            height,
        } => c::resize(cl, &container, width, height).await,
        Cmd::Commit(a)
        | Cmd::Container {
            cmd: ContainerCmd::Commit(a),
        } => imgcmds::commit(cl, a).await,
        Cmd::Diff { container }
        | Cmd::Container {
            cmd: ContainerCmd::Diff { container },
        } => imgcmds::diff(cl, &container).await,
        Cmd::Export { output, container }
        | Cmd::Container {
            cmd: ContainerCmd::Export { output, container },
        } => imgcmds::export(cl, &container, output.as_deref()).await,
        Cmd::Import(a)
        | Cmd::Image {
            cmd: ImageCmd::Import(a),
        } => imgcmds::import(cl, a).await,
        Cmd::Load { input, quiet }
        | Cmd::Image {
            cmd: ImageCmd::Load { input, quiet },
        } => c::load(cl, input.as_deref(), quiet).await,
        Cmd::Images { opts }
        | Cmd::Image {
            cmd: ImageCmd::Ls { opts },
        } => image_cmds::images(cl, &opts).await,
        Cmd::Rmi {
            force,
            no_prune,
            images,
        }
        | Cmd::Image {
            cmd:
                ImageCmd::Rm {
                    force,
                    no_prune,
                    images,
                },
        } => image_cmds::rmi(cl, &images, force, no_prune).await,
        Cmd::Save { output, images }
        | Cmd::Image {
            cmd: ImageCmd::Save { output, images },
        } => image_cmds::save(cl, output.as_deref(), &images).await,
        Cmd::History { opts }
        | Cmd::Image {
            cmd: ImageCmd::History { opts },
        } => image_cmds::history(cl, &opts.image, opts.no_trunc, opts.quiet, opts.human).await,
        Cmd::Image {
            cmd: ImageCmd::Prune(p),
        } => image_cmds::prune(cl, p.all, p.force, &p.filter).await,
        Cmd::System { cmd: SystemCmd::Df } => image_cmds::system_df(cl).await,
        Cmd::System {
            cmd: SystemCmd::Prune(p),
        } => image_cmds::system_prune(cl, p.all, p.force, &p.filter).await,
        Cmd::System {
            cmd: SystemCmd::Info { format },
        } => c::info(cl, format.as_deref()).await,
        Cmd::Tag { source, target }
        | Cmd::Image {
            cmd: ImageCmd::Tag { source, target },
        } => c::tag(cl, &source, &target).await,
        Cmd::Inspect {
            format,
            kind,
            size,
            names,
        } => c::inspect(cl, &names, format.as_deref(), kind.as_deref(), size).await,
        Cmd::Container {
            cmd:
                ContainerCmd::Inspect {
                    format,
                    size,
                    names,
                },
        } => c::inspect(cl, &names, format.as_deref(), Some("container"), size).await,
        Cmd::Image {
            cmd: ImageCmd::Inspect { format, names },
        } => c::inspect(cl, &names, format.as_deref(), Some("image"), false).await,
        Cmd::Version { format } => c::version(cl, format.as_deref()).await,
        Cmd::Info { format } => c::info(cl, format.as_deref()).await,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn management_commands_alias_the_top_level_ones() {
        let v = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let m = |a: &[&str]| super::management_aliases(v(a));
        assert_eq!(
            m(&["berth", "container", "start", "x"]),
            v(&["berth", "start", "x"])
        );
        assert_eq!(
            m(&["berth", "-H", "unix:///s", "container", "logs", "x"]),
            v(&["berth", "-H", "unix:///s", "logs", "x"])
        );
        assert_eq!(m(&["berth", "system", "events"]), v(&["berth", "events"]));
        // Verbs the groups define themselves, and other commands, are left alone.
        assert_eq!(
            m(&["berth", "container", "ls"]),
            v(&["berth", "container", "ls"])
        );
        assert_eq!(
            m(&["berth", "run", "container"]),
            v(&["berth", "run", "container"])
        );
    }

    use super::*;

    #[test]
    fn command_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn commit_flags_like_docker() {
        let parse = |args: &[&str]| {
            let cli = Cli::try_parse_from(args).unwrap();
            let Cmd::Commit(a) = cli.cmd else {
                panic!("not commit")
            };
            a
        };
        let a = parse(&[
            "berth", "commit", "-c", "CMD x", "-c", "ENV A=1", "c1", "img:1",
        ]);
        assert!(a.pause);
        assert_eq!(a.changes, ["CMD x", "ENV A=1"]);
        assert_eq!(a.container, "c1");
        assert_eq!(a.reference.as_deref(), Some("img:1"));
        assert!(!parse(&["berth", "commit", "--pause=false", "c1"]).pause);
        assert!(!parse(&["berth", "commit", "-p=false", "c1"]).pause);
        assert!(parse(&["berth", "commit", "-p", "c1"]).pause);
    }

    #[test]
    fn flags_stop_at_the_image() {
        let cli = Cli::try_parse_from([
            "berth", "run", "--rm", "-c", "512", "busybox", "sh", "-c", "exit 3",
        ])
        .unwrap();
        let Cmd::Run { opts, .. } = cli.cmd else {
            panic!("not run")
        };
        assert_eq!(opts.cpu_shares, Some(512));
        assert_eq!(opts.image(), "busybox");
        assert_eq!(opts.args(), ["sh", "-c", "exit 3"]);
        let cli = Cli::try_parse_from(["berth", "run", "-it", "busybox", "ls", "-l"]).unwrap();
        let Cmd::Run { opts, .. } = cli.cmd else {
            panic!("not run")
        };
        assert!(opts.interactive && opts.tty);
        assert_eq!(opts.args(), ["ls", "-l"]);
    }
}
