//! `berth`'s own client behaviours: `--detach-keys` of `run`, `attach` and `exec` (watched
//! for by the client and sent to the daemon), `inspect` and `--format` printing what the
//! docker CLI prints against the same daemon, and flags Berth cannot act on refused.
#![allow(clippy::unwrap_used)]

use berth_e2e::terminal::{Terminal, have_script};
use berth_e2e::{Daemon, bin_dir, have_docker_cli, skip_unless_root, unique};

/// `--detach-keys` on a real terminal: the given keys detach (Ctrl-P Ctrl-Q then reach the
/// process like other input), the client exits 0 and the container runs on; `attach` and
/// `exec -it` the same; invalid keys are the daemon's to refuse, with its message.
#[test]
fn detach_keys_of_run_attach_and_exec() {
    if skip_unless_root() || !have_script() {
        return;
    }
    let d = Daemon::start();
    d.load("busybox.tar");
    let berth = bin_dir().join("berth");
    let c = unique("dkeys");
    let running = |c: &str| {
        d.berth(&["inspect", "-f", "{{.State.Running}}", c])
            .stdout()
    };

    let mut t = Terminal::start(
        &format!(
            "{} run -it --detach-keys ctrl-x,x --name {c} busybox sh",
            berth.display()
        ),
        &d.host(),
    );
    t.type_in(b"echo one-$((1+1))\n");
    t.wait_for("\none-2\n");
    // Not the keys now: the shell gets them and goes on.
    t.type_in(b"\x10\x11echo two-$((2+2))\n");
    t.wait_for("two-4\n");
    t.type_in(b"\x18x");
    let (code, text) = t.finish();
    assert_eq!(code, Some(0), "{text}");
    assert_eq!(running(&c).trim(), "true");

    let mut t = Terminal::start(
        &format!("{} attach --detach-keys ctrl-a,b {c}", berth.display()),
        &d.host(),
    );
    t.type_in(b"echo three-$((3+3))\n");
    t.wait_for("\nthree-6\n");
    t.type_in(b"\x01b");
    let (code, text) = t.finish();
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("read escape sequence"), "{text}");
    assert_eq!(running(&c).trim(), "true");

    let mut t = Terminal::start(
        &format!("{} exec -it --detach-keys ctrl-y {c} sh", berth.display()),
        &d.host(),
    );
    t.type_in(b"echo four-$((4+4))\n");
    t.wait_for("\nfour-8\n");
    t.type_in(b"\x19");
    let (code, text) = t.finish();
    assert_eq!(code, Some(0), "{text}");
    assert_eq!(running(&c).trim(), "true");

    // The keys go to the daemon, which refuses invalid ones.
    let out = d.berth(&["exec", "--detach-keys", "ctrl-P", &c, "true"]);
    assert_eq!(out.code(), 1);
    assert_eq!(
        out.stderr().trim(),
        "Error response from daemon: Invalid escape keys (ctrl-P) provided"
    );
    let out = d.berth(&["attach", "--detach-keys", "ctrl-P", &c]);
    assert_eq!(out.code(), 1, "{}", out.stderr());
    assert!(
        out.stderr()
            .contains("Invalid detach keys (ctrl-P) provided"),
        "{}",
        out.stderr()
    );
    d.berth(&["rm", "-f", &c]).ok();
}

/// `inspect`, `--format` templates (Go's text/template with the docker CLI's functions),
/// `version`/`info`/`stats --format`: `berth` prints exactly what the docker CLI prints
/// against the same daemon, stdout, stderr and exit code.
#[test]
fn inspect_and_templates_print_what_docker_prints() {
    if !have_docker_cli() {
        eprintln!("skipping: no docker CLI");
        return;
    }
    let Some(d) = Daemon::with_busybox() else {
        return;
    };
    let c = unique("tmpl");
    d.berth(&[
        "run", "-d", "--name", &c, "-l", "a=b", "-e", "X=1", "busybox", "sleep", "1000",
    ])
    .ok();
    let template = concat!(
        r#"{{.Name}}|{{.Config.Image}}|{{index .Config.Labels "a"}}|{{len .Args}}|"#,
        r#"{{range .Config.Env}}{{.}},{{end}}|{{upper .State.Status}}|{{title .Driver}}|"#,
        r#"{{split .Config.Image "b"}}|{{join .Args "+"}}|{{.HostConfig.ShmSize}}|"#,
        r#"{{printf "%05d" .RestartCount}}|{{if .State.Running}}up{{else}}down{{end}}|"#,
        r#"{{with .State}}{{.Status}}{{end}}|{{json .State.Status}}|{{lower "AB"}}|"#,
        r#"{{pad .Name 1 1}}|{{truncate .ID 5}}|{{.ID}}"#
    );
    let missing = unique("nosuch");
    for args in [
        &["inspect", &c][..],
        &["inspect", &c, "busybox"],
        &["inspect", "--format", "json", &c],
        &["image", "inspect", "busybox"],
        &["inspect", "-f", "{{json .State}}", &c],
        &["inspect", "-f", template, &c],
        &[
            "image",
            "inspect",
            "-f",
            "{{json .RootFS}} {{.Os}} {{json .Config.Cmd}}",
            "busybox",
        ],
        &["inspect", &missing, &c],
        &[
            "version",
            "-f",
            "{{.Server.APIVersion}} {{json .Server.Platform}}",
        ],
        &["info", "-f", "{{.Driver}} {{json .Plugins.Log}} {{.NCPU}}"],
        &[
            "stats",
            "--no-stream",
            "--format",
            "{{.Name}} {{.PIDs}}",
            &c,
        ],
        &[
            "stats",
            "--no-stream",
            "--format",
            "table {{.Name}}\t{{upper .Container}}",
            &c,
        ],
        &[
            "ps",
            "--format",
            "{{json .Names}} {{.Labels}} {{range split .Labels \",\"}}[{{.}}]{{end}}",
        ],
    ] {
        let (b, k) = (d.berth(args), d.docker(args));
        assert_eq!(
            (b.stdout(), b.stderr(), b.code()),
            (k.stdout(), k.stderr(), k.code()),
            "{args:?}"
        );
    }
    // `run -d` attaches no stream, as the docker CLI's.
    let detached = d.berth(&["inspect", "-f", "{{.Config.AttachStdout}}", &c]);
    assert_eq!(detached.stdout().trim(), "false");
    d.berth(&["rm", "-f", &c]).ok();
}

/// Flags Berth cannot act on are refused with a message naming them, not ignored.
#[test]
fn unsupported_flags_are_refused() {
    let Some(d) = Daemon::with_busybox() else {
        return;
    };
    let c = unique("refused");
    let out = d.berth(&["run", "--name", &c, "--gpus", "all", "busybox", "true"]);
    assert_eq!(out.code(), 125);
    assert!(
        out.stderr().contains("unknown flag: --gpus"),
        "{}",
        out.stderr()
    );
    // Nothing was created.
    assert_eq!(d.berth(&["inspect", &c]).code(), 1);
}
