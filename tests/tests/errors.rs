//! Bad input gets Docker's status code and a clear message, and changes nothing.
#![allow(clippy::unwrap_used)]

use berth_e2e::{Daemon, have_docker_cli, image, skip_unless_root, unique};

#[test]
fn bad_input_is_refused_cleanly() {
    let Some(d) = Daemon::with_busybox() else {
        return;
    };

    // Unknown image: 404 from create.
    let r = d
        .raw(
            "POST",
            "/v1.50/containers/create",
            r#"{"Image":"nosuchimage","Cmd":["true"]}"#,
        )
        .expect("response");
    assert!(r.starts_with("HTTP/1.1 404"), "{r}");
    assert!(
        r.contains(r#"{"message":"No such image: nosuchimage"#),
        "{r}"
    );
    let out = d.berth(&["run", "--rm", "nosuchimage"]);
    out.expect_code(125);
    assert!(out.stderr().contains("nosuchimage"), "{}", out.stderr());

    // Missing command: 127, with Docker's message.
    let out = d.berth(&["run", "--rm", "busybox", "nosuchcmd"]);
    out.expect_code(127);
    assert!(
        out.stderr().contains("executable file not found in $PATH"),
        "{}",
        out.stderr()
    );
    if have_docker_cli() {
        let out = d.docker(&["run", "--rm", "busybox", "nosuchcmd"]);
        out.expect_code(127);
        assert!(
            out.stderr().contains("executable file not found"),
            "{}",
            out.stderr()
        );
    }

    // Name in use: 409.
    let name = unique("dup");
    d.berth(&["create", "--name", &name, "busybox", "true"])
        .ok();
    let out = d.berth(&["create", "--name", &name, "busybox", "true"]);
    out.expect_code(125);
    assert!(
        out.stderr().contains("is already in use"),
        "{}",
        out.stderr()
    );
    let r = d
        .raw(
            "POST",
            &format!("/containers/create?name={name}"),
            r#"{"Image":"busybox","Cmd":["true"]}"#,
        )
        .expect("response");
    assert!(r.starts_with("HTTP/1.1 409"), "{r}");
    // Invalid name: 400.
    let r = d
        .raw(
            "POST",
            "/containers/create?name=-bad",
            r#"{"Image":"busybox","Cmd":["true"]}"#,
        )
        .expect("response");
    assert!(r.starts_with("HTTP/1.1 400"), "{r}");
    // Unknown container: 404.
    let r = d
        .raw("GET", "/containers/nosuch/json", "")
        .expect("response");
    assert!(r.starts_with("HTTP/1.1 404"), "{r}");
    assert!(r.contains("No such container: nosuch"), "{r}");
    // Removing a running container without force: 409.
    let live = unique("live");
    d.berth(&["run", "-d", "--name", &live, "busybox", "sleep", "1000"])
        .ok();
    let r = d
        .raw("DELETE", &format!("/containers/{live}"), "")
        .expect("response");
    assert!(r.starts_with("HTTP/1.1 409"), "{r}");
    d.berth(&["rm", "-f", &live]).ok();

    // Corrupt and truncated archives: refused, store unchanged.
    let before = d.berth(&["images", "-q"]).stdout();
    let data = std::fs::read(image("busybox.tar")).expect("busybox.tar");
    let truncated = &data[..data.len() / 2];
    let out = d.berth_stdin(&["load"], Some(truncated));
    assert_ne!(out.code(), 0, "truncated archive must fail");
    let garbage = vec![0x42u8; 4096];
    let out = d.berth_stdin(&["load"], Some(&garbage));
    assert_ne!(out.code(), 0, "garbage must fail");
    assert!(!out.stderr().trim().is_empty());
    assert_eq!(d.berth(&["images", "-q"]).stdout(), before);
    // The daemon still works.
    d.berth(&["run", "--rm", "busybox", "true"]).ok();
}

#[test]
fn api_versions_are_negotiated() {
    if skip_unless_root() {
        return;
    }
    let d = Daemon::start();
    let r = d.raw("GET", "/_ping", "").expect("response");
    assert!(r.starts_with("HTTP/1.1 200"), "{r}");
    assert!(r.to_ascii_lowercase().contains("api-version: 1.50"), "{r}");
    assert!(r.ends_with("OK"), "{r}");
    let r = d.raw("HEAD", "/_ping", "").expect("response");
    assert!(r.starts_with("HTTP/1.1 200"), "{r}");
    for v in ["1.24", "1.41", "1.50"] {
        let r = d
            .raw("GET", &format!("/v{v}/version"), "")
            .expect("response");
        assert!(r.starts_with("HTTP/1.1 200"), "{v}: {r}");
        assert!(r.contains(r#""MinAPIVersion":"1.24""#), "{r}");
    }
    let r = d.raw("GET", "/v1.51/version", "").expect("response");
    assert!(r.starts_with("HTTP/1.1 400"), "{r}");
    assert!(r.contains("too new"), "{r}");
    let r = d.raw("GET", "/v1.23/version", "").expect("response");
    assert!(r.starts_with("HTTP/1.1 400"), "{r}");
    let r = d.raw("GET", "/v1.50/info", "").expect("response");
    assert!(r.contains(r#""OSType":"linux""#), "{r}");
    let r = d.raw("GET", "/v1.50/nosuch", "").expect("response");
    assert!(r.starts_with("HTTP/1.1 404"), "{r}");
    assert!(r.contains(r#"{"message":"page not found"}"#), "{r}");
}

/// A big archive refused early (random bytes to `load`, `import` and `cp`) gets the
/// daemon's error through the docker CLI: the daemon reads the rest of the upload after
/// answering (as for every request, see `api_edges.rs`), since a connection closed with a
/// request unread is reset and the client then reports a broken pipe instead (it did about
/// every other time).
#[test]
fn big_bad_uploads_get_the_error_not_a_broken_pipe() {
    if !have_docker_cli() {
        eprintln!("skipped: no docker CLI");
        return;
    }
    let Some(d) = Daemon::with_busybox() else {
        return;
    };
    let junk = d.dir.path().join("junk.tar");
    let mut data = vec![0u8; 30 << 20];
    let mut x: u32 = 12345;
    for b in data.iter_mut() {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        *b = (x >> 16) as u8;
    }
    std::fs::write(&junk, &data).unwrap();
    let junk = junk.to_string_lossy().into_owned();
    let c = unique("bigbad");
    d.berth(&["run", "-d", "--name", &c, "busybox", "sleep", "1000"])
        .ok();
    for round in 0..3 {
        // Load errors come in the JSON message stream (status 200), as from dockerd: the
        // CLI prints the message alone.
        let load = d.docker(&["load", "-i", &junk]);
        load.expect_code(1);
        assert_eq!(
            load.stderr(),
            "invalid archive: invalid tar header\n",
            "round {round}"
        );
        let import = d.docker(&["import", &junk]);
        assert!(
            import
                .stderr()
                .contains("Error response from daemon: invalid"),
            "round {round}: {}",
            import.stderr()
        );
        let cp = d.docker(&["cp", &junk, &format!("{c}:/nodir/junk")]);
        assert!(
            cp.stderr().contains("Could not find the file /nodir"),
            "round {round}: {}",
            cp.stderr()
        );
    }
    d.berth(&["rm", "-f", &c]).ok();
}
