//! Custom seccomp profiles: `--security-opt seccomp=PROFILE.json`, Docker's format, with
//! berth and the docker CLI (both send the file's content).
#![allow(clippy::unwrap_used)]

use berth_e2e::{Daemon, have_docker_cli, skip_unless_root, unique};

const DENY_MKDIR: &str = r#"{
    "defaultAction": "SCMP_ACT_ALLOW",
    "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]}],
    "syscalls": [
        {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1, "args": [], "comment": "no new directories"}
    ]
}"#;

/// Refuses `chmod` (EACCES) only when the mode argument is exactly 0700 (argument
/// conditions); the mkdir rule only applies on s390x, so mkdir works.
const CHMOD_0700: &str = r#"{
    "defaultAction": "SCMP_ACT_ALLOW",
    "syscalls": [
        {"names": ["fchmodat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13,
         "args": [{"index": 2, "value": 448, "op": "SCMP_CMP_EQ"}]},
        {"names": ["chmod"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13,
         "args": [{"index": 1, "value": 448, "op": "SCMP_CMP_EQ"}]},
        {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO",
         "includes": {"arches": ["s390x"]}}
    ]
}"#;

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> String {
    let p = dir.path().join(name);
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_string()
}

#[test]
fn a_profile_denying_mkdir_makes_mkdir_fail() {
    let Some(d) = Daemon::with_busybox() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let deny = write(&dir, "deny-mkdir.json", DENY_MKDIR);
    let opt = format!("seccomp={deny}");

    // The default profile allows mkdir.
    d.berth(&["run", "--rm", "busybox", "mkdir", "/x"]).ok();
    let out = d.berth(&[
        "run",
        "--rm",
        "--security-opt",
        &opt,
        "busybox",
        "mkdir",
        "/x",
    ]);
    assert_eq!(out.code(), 1, "{}", out.stderr());
    assert!(
        out.stderr().contains("Operation not permitted"),
        "{}",
        out.stderr()
    );
    // Everything else still works under that profile, and a filter is installed.
    let out = d.berth(&[
        "run",
        "--rm",
        "--security-opt",
        &opt,
        "busybox",
        "sh",
        "-c",
        "echo hi > /tmp/f && cat /tmp/f && grep Seccomp: /proc/self/status",
    ]);
    out.ok();
    assert!(out.stdout().contains("hi"), "{}", out.stdout());
    assert!(out.stdout().contains("Seccomp:\t2"), "{}", out.stdout());
    // Inspect keeps the profile the CLI sent.
    let name = unique("seccomp-inspect");
    d.berth(&[
        "create",
        "--name",
        &name,
        "--security-opt",
        &opt,
        "busybox",
        "true",
    ])
    .ok();
    let out = d.berth(&[
        "inspect",
        "--format",
        "{{json .HostConfig.SecurityOpt}}",
        &name,
    ]);
    out.ok();
    assert!(out.stdout().contains("SCMP_ACT_ERRNO"), "{}", out.stdout());
    d.berth(&["rm", &name]).ok();

    // exec'd processes get the container's profile too.
    let name = unique("seccomp-exec");
    d.berth(&[
        "run",
        "-d",
        "--name",
        &name,
        "--security-opt",
        &opt,
        "busybox",
        "sleep",
        "100",
    ])
    .ok();
    let out = d.berth(&["exec", &name, "mkdir", "/y"]);
    assert_eq!(out.code(), 1);
    assert!(
        out.stderr().contains("Operation not permitted"),
        "{}",
        out.stderr()
    );
    // Even with `exec --privileged` (more capabilities, the same filter), as with runc.
    let out = d.berth(&["exec", "--privileged", &name, "mkdir", "/y"]);
    assert_eq!(out.code(), 1);
    d.berth(&["rm", "-f", &name]).ok();

    if have_docker_cli() {
        d.docker(&["run", "--rm", "busybox", "mkdir", "/x"]).ok();
        let out = d.docker(&[
            "run",
            "--rm",
            "--security-opt",
            &opt,
            "busybox",
            "mkdir",
            "/x",
        ]);
        assert_eq!(out.code(), 1, "{}", out.stderr());
        assert!(
            out.stderr().contains("Operation not permitted"),
            "{}",
            out.stderr()
        );
    }
}

#[test]
fn allow_by_default_profiles_and_argument_conditions() {
    let Some(d) = Daemon::with_busybox() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let allow = write(
        &dir,
        "allow.json",
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": []}"#,
    );
    // Allow-all: even what Docker's default refuses (a user namespace) works.
    let opt = format!("seccomp={allow}");
    let out = d.berth(&[
        "run",
        "--rm",
        "--security-opt",
        &opt,
        "busybox",
        "sh",
        "-c",
        "mkdir /x && grep Seccomp: /proc/self/status",
    ]);
    out.ok();
    assert!(out.stdout().contains("Seccomp:\t2"), "{}", out.stdout());
    let out = d.berth(&["run", "--rm", "busybox", "unshare", "-U", "true"]);
    assert_ne!(out.code(), 0, "the default profile refuses user namespaces");
    d.berth(&[
        "run",
        "--rm",
        "--security-opt",
        &opt,
        "busybox",
        "unshare",
        "-U",
        "true",
    ])
    .ok();

    // chmod to 0700 is refused with EACCES, any other mode is allowed; the mkdir rule only
    // applies on s390x.
    let opt = format!("seccomp={}", write(&dir, "chmod.json", CHMOD_0700));
    let script = "mkdir /d && chmod 755 /d && echo ok755 && chmod 700 /d";
    for out in [
        d.berth(&[
            "run",
            "--rm",
            "--security-opt",
            &opt,
            "busybox",
            "sh",
            "-c",
            script,
        ]),
        if have_docker_cli() {
            d.docker(&[
                "run",
                "--rm",
                "--security-opt",
                &opt,
                "busybox",
                "sh",
                "-c",
                script,
            ])
        } else {
            d.berth(&[
                "run",
                "--rm",
                "--security-opt",
                &opt,
                "busybox",
                "sh",
                "-c",
                script,
            ])
        },
    ] {
        assert_eq!(out.code(), 1, "{} {}", out.stdout(), out.stderr());
        assert!(out.stdout().contains("ok755"), "{}", out.stdout());
        assert!(
            out.stderr().contains("Permission denied"),
            "{}",
            out.stderr()
        );
    }
}

#[test]
fn invalid_profiles_are_refused_at_create() {
    let Some(d) = Daemon::with_busybox() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let bad_action = write(
        &dir,
        "bad-action.json",
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_EXPLODE"}]}"#,
    );
    let not_json = write(&dir, "not-json.json", "{\"defaultAction\": ");
    let bad_op = write(
        &dir,
        "bad-op.json",
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 9, "value": 1, "op": "SCMP_CMP_EQ"}]}]}"#,
    );
    let name = unique("seccomp-bad");
    for docker in berth_e2e::clis() {
        let run = |args: &[&str]| d.cli(docker, args);
        let opt = format!("seccomp={bad_action}");
        let out = run(&[
            "run",
            "--name",
            &name,
            "--security-opt",
            &opt,
            "busybox",
            "true",
        ]);
        assert_eq!(out.code(), 125, "docker={docker} {}", out.stderr());
        assert!(
            out.stderr().contains("Decoding seccomp profile failed")
                && out.stderr().contains("SCMP_ACT_EXPLODE"),
            "{}",
            out.stderr()
        );
        let opt = format!("seccomp={bad_op}");
        let out = run(&[
            "run",
            "--name",
            &name,
            "--security-opt",
            &opt,
            "busybox",
            "true",
        ]);
        assert_eq!(out.code(), 125);
        assert!(out.stderr().contains("index 9"), "{}", out.stderr());
        // Not JSON: the CLI itself refuses, before asking the daemon.
        let opt = format!("seccomp={not_json}");
        let out = run(&[
            "run",
            "--name",
            &name,
            "--security-opt",
            &opt,
            "busybox",
            "true",
        ]);
        assert_eq!(out.code(), 125);
        assert!(out.stderr().contains("seccomp profile"), "{}", out.stderr());
        let opt = format!("seccomp={}", dir.path().join("missing.json").display());
        let out = run(&[
            "run",
            "--name",
            &name,
            "--security-opt",
            &opt,
            "busybox",
            "true",
        ]);
        assert_eq!(out.code(), 125);
        // Nothing was created.
        assert_ne!(d.berth(&["inspect", &name]).code(), 0);
    }
    // The API answers 400 with Docker's message shape.
    let body = r#"{"Image":"busybox","Cmd":["true"],"HostConfig":{"SecurityOpt":["seccomp={\"defaultAction\":\"SCMP_ACT_NOPE\"}"]}}"#;
    let resp = d.raw("POST", "/containers/create", body).unwrap();
    assert!(resp.starts_with("HTTP/1.1 400"), "{resp}");
    assert!(resp.contains("\"message\""), "{resp}");
}

/// A real-world allowlist profile in Docker's format (containers-common's, what podman
/// uses: default ERRNO/ENOSYS, archMap, hundreds of names, argument conditions,
/// capability includes). Skipped when the file is not installed.
#[test]
fn a_real_world_allowlist_profile() {
    const PROFILE: &str = "/usr/share/containers/seccomp.json";
    if skip_unless_root() {
        return;
    }
    if !std::path::Path::new(PROFILE).exists() {
        eprintln!(
            "skipping: {PROFILE} not installed (apt-get install golang-github-containers-common)"
        );
        return;
    }
    let d = Daemon::start();
    d.load("busybox.tar");
    let opt = format!("seccomp={PROFILE}");
    let script = "mkdir /x && echo hi > /x/f && cat /x/f && ls / | wc -l > /dev/null && grep Seccomp: /proc/self/status";
    let mut outs = vec![d.berth(&[
        "run",
        "--rm",
        "--security-opt",
        &opt,
        "busybox",
        "sh",
        "-c",
        script,
    ])];
    if have_docker_cli() {
        outs.push(d.docker(&[
            "run",
            "--rm",
            "--security-opt",
            &opt,
            "busybox",
            "sh",
            "-c",
            script,
        ]));
    }
    for out in outs {
        out.ok();
        assert_eq!(out.stdout(), "hi\nSeccomp:\t2\n");
    }
    // mount is only allowed with CAP_SYS_ADMIN: refused with the profile's ENOSYS (busybox
    // then tries other ways and exits 255), not the default profile's EPERM (exit 1).
    let out = d.berth(&[
        "run",
        "--rm",
        "--security-opt",
        &opt,
        "busybox",
        "mount",
        "-t",
        "tmpfs",
        "t",
        "/mnt",
    ]);
    assert_eq!(out.code(), 255, "{}", out.stderr());
    let out = d.berth(&[
        "run", "--rm", "busybox", "mount", "-t", "tmpfs", "t", "/mnt",
    ]);
    assert_eq!(out.code(), 1, "{}", out.stderr());
    assert!(
        out.stderr().contains("permission denied"),
        "{}",
        out.stderr()
    );
}

/// A static helper that makes the system calls named on its command line and prints each
/// one's result (`NAME ok` or `NAME errno N`): busybox has no `keyctl`.
const SYSCALLS_C: &str = r#"
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        long r = -1;
        if (!strcmp(argv[i], "keyctl")) /* KEYCTL_GET_KEYRING_ID, the session keyring */
            r = syscall(SYS_keyctl, 0, -3, 0);
        else if (!strcmp(argv[i], "unshare"))
            r = syscall(SYS_unshare, CLONE_NEWUSER);
        else if (!strcmp(argv[i], "getpid"))
            r = syscall(SYS_getpid);
        else
            return 2;
        if (r < 0) printf("%s errno %d\n", argv[i], errno);
        else printf("%s ok\n", argv[i]);
    }
    return 0;
}
"#;

#[test]
fn the_default_profile_refuses_keyctl_and_unshare_with_eperm() {
    let Some(d) = Daemon::with_busybox() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let src = write(&dir, "syscalls.c", SYSCALLS_C);
    let bin = dir.path().join("syscalls");
    let cc = std::process::Command::new("cc")
        .args(["-static", "-O1", "-o"])
        .arg(&bin)
        .arg(&src)
        .output()
        .expect("cc (the C compiler Rust links with)");
    assert!(
        cc.status.success(),
        "{}",
        String::from_utf8_lossy(&cc.stderr)
    );
    let mount = format!("{}:/h:ro", dir.path().display());
    let run = |extra: &[&str]| {
        let mut args = vec!["run", "--rm", "-v", &mount];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["busybox", "/h/syscalls", "keyctl", "unshare", "getpid"]);
        let out = d.berth(&args);
        out.ok();
        out.stdout()
    };
    // EPERM (1) from the filter, for calls the kernel would allow (a user namespace needs
    // no capability; the session keyring exists).
    let confined = run(&[]);
    assert!(confined.contains("keyctl errno 1\n"), "{confined}");
    assert!(confined.contains("unshare errno 1\n"), "{confined}");
    assert!(confined.contains("getpid ok\n"), "{confined}");
    let free = run(&["--security-opt", "seccomp=unconfined"]);
    assert!(!free.contains("keyctl errno 1\n"), "{free}");
    assert!(free.contains("unshare ok\n"), "{free}");
    // With CAP_SYS_ADMIN, unshare is allowed; keyctl stays refused (as Docker's profile).
    let admin = run(&["--cap-add", "SYS_ADMIN"]);
    assert!(admin.contains("keyctl errno 1\n"), "{admin}");
    assert!(admin.contains("unshare ok\n"), "{admin}");
}
