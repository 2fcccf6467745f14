//! Attached sessions: `berth run`, `start -a`, `attach`. As the docker CLI does it: attach
//! and ask for the exit status first, then start, copy the streams (raw with a TTY, in
//! Docker's frames without), and exit with the container's code; Ctrl-P Ctrl-Q (or
//! `--detach-keys`) leaves the container running.

use berth_client::{AttachOptions, Client, Hijacked, Wait, WaitCondition};
use clap::Args;

use super::create::{CreateOpts, create};
use super::each;
use crate::exit::{CmdResult, Exit, fail};
use crate::stream::{Ended, Resize, Session, proxy_signals, pump, track_size};

/// `--sig-proxy` and `--detach-keys` of `run` and `attach`.
#[derive(Args, Debug)]
pub struct SessionFlags {
    /// Proxy received signals to the process (without a TTY).
    #[arg(long = "sig-proxy", default_value_t = true, action = clap::ArgAction::Set,
          num_args = 0..=1, default_missing_value = "true")]
    pub sig_proxy: bool,
    /// Override the key sequence for detaching a container.
    #[arg(long = "detach-keys")]
    pub detach_keys: Option<String>,
}

/// `berth run`.
#[derive(Args, Debug)]
#[command(disable_help_flag = true)]
pub struct RunArgs {
    /// Run container in background and print container ID.
    #[arg(short = 'd', long)]
    pub detach: bool,
    #[command(flatten)]
    pub session: SessionFlags,
    #[command(flatten)]
    pub opts: CreateOpts,
}

/// `berth start`.
#[derive(Args, Debug)]
pub struct StartArgs {
    /// Attach STDOUT/STDERR and forward signals.
    #[arg(short = 'a', long)]
    pub attach: bool,
    /// Attach container's STDIN.
    #[arg(short = 'i', long)]
    pub interactive: bool,
    /// Override the key sequence for detaching a container.
    #[arg(long = "detach-keys")]
    pub detach_keys: Option<String>,
    #[arg(required = true)]
    pub containers: Vec<String>,
}

/// `berth attach`.
#[derive(Args, Debug)]
pub struct AttachArgs {
    /// Do not attach STDIN.
    #[arg(long = "no-stdin")]
    pub no_stdin: bool,
    #[command(flatten)]
    pub session: SessionFlags,
    pub container: String,
}

/// Exit code for a failed start, from the daemon's message (as docker: 127 for a missing
/// command, 126 for one that cannot be run).
fn start_failed(e: berth_client::Error) -> Exit {
    let msg = e.to_string();
    let code =
        if msg.contains("executable file not found") || msg.contains("no such file or directory") {
            127
        } else if msg.contains("permission denied") {
            126
        } else {
            125
        };
    fail(code, format!("berth: {msg}."))
}

/// How a session uses the terminal.
struct Terminal {
    /// The container has a TTY: raw output, resized with ours.
    tty: bool,
    /// Our stdin goes to the container.
    stdin: bool,
    /// Without a TTY, signals we get go to the container.
    sig_proxy: bool,
    detach_keys: Option<String>,
}

/// An attached container's session: its stream and the wait taken before the start.
struct Attached {
    id: String,
    stream: Hijacked,
    wait: Wait,
    term: Terminal,
}

impl Attached {
    /// Attach to `id` (stdin when the terminal sends it) and take a wait for `condition`.
    async fn open(
        c: &Client,
        id: String,
        condition: WaitCondition,
        term: Terminal,
    ) -> Result<Attached, berth_client::Error> {
        let o = AttachOptions {
            stdin: term.stdin,
            stdout: true,
            stderr: true,
            detach_keys: term.detach_keys.clone(),
        };
        // The docker CLI's order: the wait is asked for before attaching for `attach`
        // (the stream can end before the daemon has recorded the exit), after it for
        // `run` and `start` (nothing can exit before the start).
        let (stream, wait) = if condition == WaitCondition::NotRunning {
            let wait = c.container_wait(&id, condition).await?;
            (c.container_attach(&id, &o).await?, wait)
        } else {
            let stream = c.container_attach(&id, &o).await?;
            (stream, c.container_wait(&id, condition).await?)
        };
        Ok(Attached {
            id,
            stream,
            wait,
            term,
        })
    }

    /// Start the container when `start` (the terminal raw with a TTY and stdin), copy the
    /// streams until the output ends or the user detaches; the container's exit code.
    async fn run(self, c: &Client, start: bool) -> CmdResult {
        let Attached {
            id,
            stream,
            wait,
            term,
        } = self;
        let wait = tokio::spawn(wait.result());
        let session = Session::new(term.tty, term.stdin, term.detach_keys.as_deref());
        if start && let Err(e) = c.container_start(&id).await {
            drop(session);
            return Err(start_failed(e));
        }
        if term.tty {
            track_size(c, Resize::Container(id.clone()));
        } else if term.sig_proxy {
            proxy_signals(c, &id);
        }
        if pump(stream, session).await? == Ended::Detached {
            if !start {
                eprintln!("read escape sequence");
            }
            return Ok(0);
        }
        let status = match wait.await {
            Ok(Ok(status)) => status,
            Ok(Err(e)) => return Err(fail(125, format!("berth: {e}"))),
            Err(e) => return Err(fail(125, format!("berth: {e}"))),
        };
        if let Some(m) = status.error.map(|e| e.message).filter(|m| !m.is_empty()) {
            eprintln!("berth: Error waiting for container: {m}");
        }
        Ok(status.status_code as i32)
    }
}

/// `berth run [OPTIONS] IMAGE [COMMAND] [ARG...]`.
pub async fn run(c: &Client, a: RunArgs) -> CmdResult {
    let o = &a.opts;
    let id = create(c, o, a.detach).await?;
    if a.detach {
        c.container_start(&id).await.map_err(start_failed)?;
        println!("{id}");
        return Ok(0);
    }
    let condition = if o.rm {
        WaitCondition::Removed
    } else {
        WaitCondition::NextExit
    };
    let term = Terminal {
        tty: o.tty,
        stdin: o.interactive,
        sig_proxy: a.session.sig_proxy,
        detach_keys: a.session.detach_keys,
    };
    Attached::open(c, id, condition, term)
        .await
        .map_err(|e| fail(125, format!("berth: {e}")))?
        .run(c, true)
        .await
}

/// `berth start [-a] [-i] CONTAINER...`.
pub async fn start(c: &Client, a: StartArgs) -> CmdResult {
    if !(a.attach || a.interactive) {
        return each(&a.containers, 1, |n| async move {
            c.container_start(&n).await?;
            Ok(Some(n))
        })
        .await;
    }
    let [name] = a.containers.as_slice() else {
        return Err(fail(
            1,
            "berth: you cannot start and attach multiple containers at once",
        ));
    };
    let info = c.container_inspect(name, false).await?;
    let term = Terminal {
        tty: info.config.tty,
        stdin: a.interactive,
        sig_proxy: true,
        detach_keys: a.detach_keys,
    };
    let session = Attached::open(c, info.id, WaitCondition::NextExit, term).await?;
    session.run(c, true).await
}

/// `berth attach [--no-stdin] [--sig-proxy=false] [--detach-keys K] CONTAINER`.
pub async fn attach(c: &Client, a: AttachArgs) -> CmdResult {
    let info = c.container_inspect(&a.container, false).await?;
    if !info.state.running {
        return Err(fail(
            1,
            "You cannot attach to a stopped container, start it first",
        ));
    }
    let term = Terminal {
        tty: info.config.tty,
        stdin: !a.no_stdin && info.config.open_stdin,
        sig_proxy: a.session.sig_proxy,
        detach_keys: a.session.detach_keys,
    };
    let session = Attached::open(c, info.id, WaitCondition::NotRunning, term).await?;
    session.run(c, false).await
}
