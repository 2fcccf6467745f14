//! Image references as Docker normalises them: `busybox` is `busybox:latest`, and
//! `docker.io/library/` is implied.

use crate::{Error, Result};

/// `name[:tag]` in Docker's short familiar form with the tag made explicit.
pub fn normalize(reference: &str) -> Result<String> {
    let bad = || Error::Invalid(format!("invalid reference format: {reference}"));
    if reference.is_empty() || reference.contains('@') || reference.len() > 255 {
        return Err(bad());
    }
    let (name, tag) = match reference.rfind(':') {
        Some(i) if !reference[i..].contains('/') => (&reference[..i], &reference[i + 1..]),
        _ => (reference, "latest"),
    };
    let name = name
        .strip_prefix("docker.io/library/")
        .or_else(|| name.strip_prefix("index.docker.io/library/"))
        .or_else(|| name.strip_prefix("docker.io/"))
        .or_else(|| name.strip_prefix("index.docker.io/"))
        .unwrap_or(name);
    let tag_ok = !tag.is_empty()
        && tag.len() <= 128
        && !tag.starts_with(['.', '-'])
        && tag
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    // The first component may be a registry host (with dots, a port, capitals).
    let (host, path) = match name.split_once('/') {
        Some((h, p)) if h.contains(['.', ':']) || h == "localhost" => (Some(h), p),
        _ => (None, name),
    };
    let path_ok = !path.is_empty()
        && path.split('/').all(|c| {
            !c.is_empty()
                && c.starts_with(|ch: char| ch.is_ascii_lowercase() || ch.is_ascii_digit())
                && c.ends_with(|ch: char| ch.is_ascii_lowercase() || ch.is_ascii_digit())
                && c.chars()
                    .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || "._-".contains(ch))
        });
    let host_ok = host.is_none_or(|h| {
        h.chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-:".contains(c))
    });
    if !tag_ok || !path_ok || !host_ok {
        return Err(bad());
    }
    Ok(format!("{name}:{tag}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn familiar_forms() {
        assert_eq!(normalize("busybox").unwrap(), "busybox:latest");
        assert_eq!(normalize("busybox:1.35").unwrap(), "busybox:1.35");
        assert_eq!(
            normalize("docker.io/library/busybox").unwrap(),
            "busybox:latest"
        );
        assert_eq!(normalize("docker.io/me/app:v1").unwrap(), "me/app:v1");
        assert_eq!(
            normalize("localhost:5000/app").unwrap(),
            "localhost:5000/app:latest"
        );
        assert_eq!(
            normalize("reg.example.com/a/b:c").unwrap(),
            "reg.example.com/a/b:c"
        );
    }

    #[test]
    fn bad_forms() {
        for r in ["", "Busybox", "a:", "a b", "-a", "a//b", "a:t@x", "a:-x"] {
            assert!(normalize(r).is_err(), "{r} accepted");
        }
    }
}
