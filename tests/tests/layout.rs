//! The source tree's shape (issue 12): no two files of a crate import each other, and no
//! source file grows far past 800 lines. Reads `crates/*/src` as text; needs no root.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A file's module path inside its crate: `a/b.rs` and `a/b/mod.rs` are `["a", "b"]`,
/// `lib.rs` and `main.rs` are `[]`.
fn module_path(src: &Path, file: &Path) -> Vec<String> {
    let rel = file
        .strip_prefix(src)
        .expect("below src")
        .with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("read_dir").flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The code of a file without comments and without its `#[cfg(test)] mod tests` block
/// (tests may reach anywhere).
fn code(text: &str) -> String {
    let text = text.split("#[cfg(test)]\nmod tests").next().unwrap_or(text);
    text.lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Paths the code names: `crate::a::b` as `[a, b]`, `super::super::x` resolved against
/// the file's own module path.
fn named_paths(code: &str, own: &[String]) -> Vec<Vec<String>> {
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let mut out = Vec::new();
    let b = code.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let rest = &code[i..];
        let starts_word = i == 0 || !ident(b[i - 1]);
        if !(starts_word && (rest.starts_with("crate::") || rest.starts_with("super::"))) {
            // Step to the next character boundary.
            i += rest.chars().next().map_or(1, char::len_utf8);
            continue;
        }
        let len = rest.bytes().take_while(|&c| ident(c) || c == b':').count();
        let segs: Vec<String> = rest[..len]
            .split("::")
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect();
        let resolved = if segs[0] == "crate" {
            segs[1..].to_vec()
        } else {
            // In `a/b.rs` (module a::b) `super` is `a`; in `a/mod.rs` (module a) it is
            // a's parent.
            let ups = segs.iter().take_while(|s| *s == "super").count();
            let base = own.len().saturating_sub(ups);
            own[..base].iter().chain(&segs[ups..]).cloned().collect()
        };
        out.push(resolved);
        i += len;
    }
    out
}

fn crates_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates")
}

#[test]
fn no_two_files_import_each_other() {
    let mut cycles = Vec::new();
    for krate in std::fs::read_dir(crates_dir()).expect("crates").flatten() {
        let src = krate.path().join("src");
        if !src.is_dir() {
            continue;
        }
        let mut files = Vec::new();
        rust_files(&src, &mut files);
        let modules: BTreeMap<Vec<String>, PathBuf> = files
            .iter()
            .map(|f| (module_path(&src, f), f.clone()))
            .collect();
        let mut deps: BTreeMap<&Vec<String>, BTreeSet<&Vec<String>>> = BTreeMap::new();
        for (m, f) in &modules {
            let text = std::fs::read_to_string(f).expect("read");
            for path in named_paths(&code(&text), m) {
                // The longest prefix of the path that is a file of the crate.
                let target = (1..=path.len())
                    .rev()
                    .find_map(|n| modules.get_key_value(&path[..n]).map(|(k, _)| k));
                if let Some(t) = target.filter(|t| *t != m) {
                    deps.entry(m).or_default().insert(t);
                }
            }
        }
        for (a, targets) in &deps {
            for b in targets {
                let parent_child = a.starts_with(b) || b.starts_with(a);
                if a < b && !parent_child && deps.get(b).is_some_and(|s| s.contains(a)) {
                    cycles.push(format!(
                        "{} <-> {}",
                        modules[*a].display(),
                        modules[*b].display()
                    ));
                }
            }
        }
    }
    assert!(
        cycles.is_empty(),
        "files that import each other: {cycles:#?}"
    );
}

#[test]
fn no_source_file_is_far_over_800_lines() {
    let mut files = Vec::new();
    for krate in std::fs::read_dir(crates_dir()).expect("crates").flatten() {
        let src = krate.path().join("src");
        if src.is_dir() {
            rust_files(&src, &mut files);
        }
    }
    assert!(files.len() > 50, "found only {} files", files.len());
    let long: Vec<String> = files
        .iter()
        .filter_map(|f| {
            let n = std::fs::read_to_string(f).expect("read").lines().count();
            (n > 850).then(|| format!("{}: {n} lines", f.display()))
        })
        .collect();
    assert!(long.is_empty(), "split these by what they hold: {long:#?}");
}

#[test]
fn the_import_walk_resolves_paths() {
    // The checker itself: comments are not imports, `super` climbs from the file's module.
    let a = named_paths(&code("use crate::x::Y; // crate::z\n"), &["w".into()]);
    assert_eq!(a, vec![vec!["x".to_string(), "Y".to_string()]]);
    let b = named_paths("super::super::q::R", &["a".into(), "b".into()]);
    assert_eq!(b, vec![vec!["q".to_string(), "R".to_string()]]);
}
