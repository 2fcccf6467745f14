//! `berth`: Berth's command line, with docker's commands, flags, output and exit codes.
//! `-H`/`--host`, `BERTH_HOST` or `DOCKER_HOST` pick the daemon.
//!
//! This file holds the command tree and the dispatch; each command group, with its flags,
//! is a module of [`commands`]. Shared pieces: [`format`] (tables, `--format` templates),
//! [`units`] (sizes, durations, times), [`stream`] (attached sessions, the terminal),
//! [`upload`] (tars sent to the daemon), [`exit`] (exit codes). Everything goes through
//! the typed API client, `berth-client`.

mod commands;
mod exit;
mod format;
mod stream;
mod units;
mod upload;

use clap::{Parser, Subcommand};

use commands::commit::{CommitArgs, ContainerArg, ExportArgs};
use commands::container::{
    Containers, KillArgs, PruneArgs, RenameArgs, ResizeArgs, RmArgs, StopArgs, TopArgs, UpdateArgs,
};
use commands::cp::CpArgs;
use commands::create::CreateOpts;
use commands::events::EventsArgs;
use commands::exec::ExecArgs;
use commands::image::{
    HistoryArgs, ImagePruneArgs, ImagesArgs, ImportArgs, LoadArgs, RmiArgs, SaveArgs, TagArgs,
};
use commands::inspect::{ImageInspectArgs, InspectArgs};
use commands::logs::LogsArgs;
use commands::network as net;
use commands::port::PortArgs;
use commands::ps::PsArgs;
use commands::run::{AttachArgs, RunArgs, StartArgs};
use commands::stats::StatsArgs;
use commands::system::{DfArgs, FormatArgs};
use commands::volume as vol;
use commands::{commit, container, cp, create, events, exec, image, inspect, logs, port, ps};
use commands::{run, stats, system};
use exit::CmdResult;

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

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Create and run a new container from an image.
    #[command(disable_help_flag = true)]
    Run(RunArgs),
    /// Create a new container.
    #[command(disable_help_flag = true)]
    Create(CreateOpts),
    /// Start one or more stopped containers.
    Start(StartArgs),
    /// Stop one or more running containers.
    Stop(StopArgs),
    /// Restart one or more containers.
    Restart(StopArgs),
    /// Kill one or more running containers.
    Kill(KillArgs),
    /// Rename a container.
    Rename(RenameArgs),
    /// Copy files/folders between a container and the local filesystem.
    Cp(CpArgs),
    /// Remove one or more containers.
    Rm(RmArgs),
    /// Block until containers stop, then print their exit codes.
    Wait(Containers),
    /// Attach local standard input, output, and error streams to a running container.
    Attach(AttachArgs),
    /// Get real time events from the daemon.
    Events(EventsArgs),
    /// Fetch the logs of a container.
    Logs(LogsArgs),
    /// List containers.
    #[command(alias = "ls")]
    Ps(PsArgs),
    /// Execute a command in a running container.
    Exec(ExecArgs),
    /// Pause all processes within one or more containers.
    Pause(Containers),
    /// Unpause all processes within one or more containers.
    Unpause(Containers),
    /// Display the running processes of a container.
    Top(TopArgs),
    /// List port mappings or a specific mapping for the container.
    Port(PortArgs),
    /// Display a live stream of container(s) resource usage statistics.
    Stats(StatsArgs),
    /// Update configuration of one or more containers.
    Update(UpdateArgs),
    /// Resize a container's TTY.
    Resize(ResizeArgs),
    /// Create a new image from a container's changes.
    Commit(CommitArgs),
    /// Inspect changes to files or directories on a container's filesystem.
    Diff(ContainerArg),
    /// Export a container's filesystem as a tar archive.
    Export(ExportArgs),
    /// Import the contents from a tarball to create a filesystem image.
    Import(ImportArgs),
    /// Load an image from a tar archive or STDIN.
    Load(LoadArgs),
    /// List images.
    Images(ImagesArgs),
    /// Remove one or more images.
    Rmi(RmiArgs),
    /// Save one or more images to a tar archive (streamed to STDOUT by default).
    Save(SaveArgs),
    /// Show the history of an image.
    History(HistoryArgs),
    /// Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE.
    Tag(TagArgs),
    /// Return low-level information on containers or images.
    Inspect(InspectArgs),
    /// Show the Berth version information.
    Version(FormatArgs),
    /// Display system-wide information.
    Info(FormatArgs),
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
    /// Manage networks.
    Network {
        #[command(subcommand)]
        cmd: NetworkCmd,
    },
    /// Manage volumes.
    Volume {
        #[command(subcommand)]
        cmd: VolumeCmd,
    },
    /// Manage Berth.
    System {
        #[command(subcommand)]
        cmd: SystemCmd,
    },
}

/// `berth container VERB`, for the verbs the group does not share with the top level
/// (those are rewritten by [`management_aliases`]).
#[derive(Subcommand, Debug)]
enum ContainerCmd {
    Commit(CommitArgs),
    Diff(ContainerArg),
    Export(ExportArgs),
    #[command(alias = "ps", alias = "list")]
    Ls(PsArgs),
    Inspect(InspectArgs),
    Rm(RmArgs),
    Rename(RenameArgs),
    Cp(CpArgs),
    /// Remove all stopped containers.
    Prune(PruneArgs),
}

#[derive(Subcommand, Debug)]
enum ImageCmd {
    Import(ImportArgs),
    #[command(alias = "list")]
    Ls(ImagesArgs),
    Inspect(ImageInspectArgs),
    Save(SaveArgs),
    History(HistoryArgs),
    /// Remove unused images.
    Prune(ImagePruneArgs),
    Load(LoadArgs),
    #[command(alias = "remove")]
    Rm(RmiArgs),
    Tag(TagArgs),
}

#[derive(Subcommand, Debug)]
enum NetworkCmd {
    /// Connect a container to a network.
    Connect(net::ConnectArgs),
    /// Create a network.
    Create(net::CreateArgs),
    /// Disconnect a container from a network.
    Disconnect(net::DisconnectArgs),
    /// Display detailed information on one or more networks.
    Inspect(net::InspectArgs),
    /// List networks.
    #[command(alias = "list")]
    Ls(net::LsArgs),
    /// Remove all unused networks.
    Prune(net::PruneArgs),
    /// Remove one or more networks.
    #[command(alias = "remove")]
    Rm(net::RmArgs),
}

#[derive(Subcommand, Debug)]
enum VolumeCmd {
    /// Create a volume.
    Create(Box<vol::CreateArgs>),
    /// Display detailed information on one or more volumes.
    Inspect(vol::InspectArgs),
    /// List volumes.
    #[command(alias = "list")]
    Ls(vol::LsArgs),
    /// Remove unused local volumes.
    Prune(vol::PruneArgs),
    /// Remove one or more volumes.
    #[command(alias = "remove")]
    Rm(vol::RmArgs),
    /// Update a volume (cluster volumes only: refused, Berth has no swarm).
    #[command(hide = true)]
    Update(vol::UpdateArgs),
    /// Write a volume's content to a tar archive (streamed to STDOUT by default).
    Export(vol::ExportArgs),
    /// Fill a new or empty volume from a tar archive (STDIN by default).
    Import(vol::ImportArgs),
    /// Create a volume with a copy of another's content.
    Clone(vol::CloneArgs),
}

#[derive(Subcommand, Debug)]
enum SystemCmd {
    /// Show disk usage.
    Df(DfArgs),
    /// Display system-wide information.
    Info(FormatArgs),
    /// Remove unused data: stopped containers and dangling (with -a, unused) images.
    Prune(ImagePruneArgs),
}

/// `berth container VERB` and `berth system events` as the top-level command they name,
/// for the verbs the `container` and `system` groups share with it (as the docker CLI
/// accepts both forms).
fn management_aliases(mut args: Vec<String>) -> Vec<String> {
    const CONTAINER: &[&str] = &[
        "run", "create", "start", "stop", "restart", "kill", "wait", "attach", "logs", "exec",
        "pause", "unpause", "top", "stats", "update", "port",
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
    let code = match rt.block_on(dispatch(cli)) {
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
    let mut client = berth_client::Client::from_env(cli.host.as_deref())?;
    client.negotiate().await?;
    let c = &client;
    match cli.cmd {
        Cmd::Run(a) => run::run(c, a).await,
        Cmd::Create(o) => create::create_cmd(c, o).await,
        Cmd::Start(a) => run::start(c, a).await,
        Cmd::Attach(a) => run::attach(c, a).await,
        Cmd::Stop(a) => container::stop(c, a, false).await,
        Cmd::Restart(a) => container::stop(c, a, true).await,
        Cmd::Kill(a) => container::kill(c, a).await,
        Cmd::Rm(a)
        | Cmd::Container {
            cmd: ContainerCmd::Rm(a),
        } => container::rm(c, a).await,
        Cmd::Rename(a)
        | Cmd::Container {
            cmd: ContainerCmd::Rename(a),
        } => container::rename(c, a).await,
        Cmd::Container {
            cmd: ContainerCmd::Prune(a),
        } => container::prune(c, a).await,
        Cmd::Wait(a) => container::wait(c, a).await,
        Cmd::Pause(a) => container::pause(c, a, true).await,
        Cmd::Unpause(a) => container::pause(c, a, false).await,
        Cmd::Top(a) => container::top(c, a).await,
        Cmd::Port(a) => port::port(c, a).await,
        Cmd::Network { cmd } => match cmd {
            NetworkCmd::Connect(a) => net::connect(c, a).await,
            NetworkCmd::Create(a) => net::create(c, a).await,
            NetworkCmd::Disconnect(a) => net::disconnect(c, a).await,
            NetworkCmd::Inspect(a) => net::inspect(c, a).await,
            NetworkCmd::Ls(a) => net::ls(c, a).await,
            NetworkCmd::Prune(a) => net::prune(c, a).await,
            NetworkCmd::Rm(a) => net::rm(c, a).await,
        },
        Cmd::Volume { cmd } => match cmd {
            VolumeCmd::Create(a) => vol::create(c, *a).await,
            VolumeCmd::Inspect(a) => vol::inspect(c, a).await,
            VolumeCmd::Ls(a) => vol::ls(c, a).await,
            VolumeCmd::Prune(a) => vol::prune(c, a).await,
            VolumeCmd::Rm(a) => vol::rm(c, a).await,
            VolumeCmd::Update(a) => vol::update(a),
            VolumeCmd::Export(a) => vol::export(c, a).await,
            VolumeCmd::Import(a) => vol::import(c, a).await,
            VolumeCmd::Clone(a) => vol::clone(c, a).await,
        },
        Cmd::Update(a) => container::update(c, a).await,
        Cmd::Resize(a) => container::resize(c, a).await,
        Cmd::Cp(a)
        | Cmd::Container {
            cmd: ContainerCmd::Cp(a),
        } => cp::cp(c, a).await,
        Cmd::Events(a) => events::events(c, a).await,
        Cmd::Logs(a) => logs::logs(c, a).await,
        Cmd::Ps(a)
        | Cmd::Container {
            cmd: ContainerCmd::Ls(a),
        } => ps::ps(c, a).await,
        Cmd::Exec(a) => exec::exec(c, a).await,
        Cmd::Stats(a) => stats::stats(c, a).await,
        Cmd::Commit(a)
        | Cmd::Container {
            cmd: ContainerCmd::Commit(a),
        } => commit::commit(c, a).await,
        Cmd::Diff(a)
        | Cmd::Container {
            cmd: ContainerCmd::Diff(a),
        } => commit::diff(c, a).await,
        Cmd::Export(a)
        | Cmd::Container {
            cmd: ContainerCmd::Export(a),
        } => commit::export(c, a).await,
        Cmd::Import(a)
        | Cmd::Image {
            cmd: ImageCmd::Import(a),
        } => image::import(c, a).await,
        Cmd::Load(a)
        | Cmd::Image {
            cmd: ImageCmd::Load(a),
        } => image::load(c, a).await,
        Cmd::Images(a)
        | Cmd::Image {
            cmd: ImageCmd::Ls(a),
        } => image::images(c, a).await,
        Cmd::Rmi(a)
        | Cmd::Image {
            cmd: ImageCmd::Rm(a),
        } => image::rmi(c, a).await,
        Cmd::Save(a)
        | Cmd::Image {
            cmd: ImageCmd::Save(a),
        } => image::save(c, a).await,
        Cmd::History(a)
        | Cmd::Image {
            cmd: ImageCmd::History(a),
        } => image::history(c, a).await,
        Cmd::Tag(a)
        | Cmd::Image {
            cmd: ImageCmd::Tag(a),
        } => image::tag(c, a).await,
        Cmd::Image {
            cmd: ImageCmd::Prune(a),
        } => image::prune(c, a).await,
        Cmd::Inspect(a) => inspect::inspect(c, a).await,
        Cmd::Container {
            cmd: ContainerCmd::Inspect(mut a),
        } => {
            a.kind = Some("container".into());
            inspect::inspect(c, a).await
        }
        Cmd::Image {
            cmd: ImageCmd::Inspect(a),
        } => inspect::inspect(c, a.into()).await,
        Cmd::Version(a) => system::version(c, a).await,
        Cmd::Info(a)
        | Cmd::System {
            cmd: SystemCmd::Info(a),
        } => system::info(c, a).await,
        Cmd::System {
            cmd: SystemCmd::Df(a),
        } => system::df(c, a).await,
        Cmd::System {
            cmd: SystemCmd::Prune(a),
        } => system::prune(c, a).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn management_commands_alias_the_top_level_ones() {
        let v = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let m = |a: &[&str]| management_aliases(v(a));
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
        let run = |args: &[&str]| {
            let Cmd::Run(a) = Cli::try_parse_from(args).unwrap().cmd else {
                panic!("not run")
            };
            a
        };
        let a = run(&[
            "berth", "run", "--rm", "-c", "512", "busybox", "sh", "-c", "exit 3",
        ]);
        assert_eq!(a.opts.resources.cpu_shares, Some(512));
        assert_eq!(a.opts.image(), "busybox");
        assert_eq!(a.opts.args(), ["sh", "-c", "exit 3"]);
        let a = run(&[
            "berth",
            "run",
            "-it",
            "--detach-keys",
            "ctrl-x",
            "busybox",
            "ls",
            "-l",
        ]);
        assert!(a.opts.interactive && a.opts.tty);
        assert_eq!(a.session.detach_keys.as_deref(), Some("ctrl-x"));
        assert_eq!(a.opts.args(), ["ls", "-l"]);
    }
}
