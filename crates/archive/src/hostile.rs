//! Hostile archives, shared by the crate's own suite (`tests/hostile.rs`) and by each
//! caller's end-to-end run of the same cases (layer load, `docker cp` into a container,
//! `berth cp` to the host, `import`). Built with raw headers, so names go through
//! exactly as written (the tar crate's own setters would refuse or clean them).
//!
//! Every case is built against `outside`, an absolute directory holding a file `victim`
//! that says `safe`: [`escapes`] must all be refused and leave it as it was; [`contained`]
//! must all be accepted, everything landing inside the destination.

use tar::EntryType;

/// A tar built entry by entry.
#[derive(Default)]
pub struct RawTar(Vec<u8>);

fn put_octal(field: &mut [u8], v: u64) {
    let s = format!("{v:0width$o}", width = field.len() - 1);
    field[..s.len()].copy_from_slice(s.as_bytes());
    field[s.len()..].fill(0);
}

impl RawTar {
    pub fn new() -> Self {
        RawTar(Vec::new())
    }

    fn push(&mut self, h: &tar::Header, data: &[u8]) {
        self.0.extend_from_slice(h.as_bytes());
        self.0.extend_from_slice(data);
        let pad = (512 - data.len() % 512) % 512;
        self.0.extend(std::iter::repeat_n(0u8, pad));
    }

    fn header(path: &[u8], kind: EntryType, link: &[u8], size: u64) -> tar::Header {
        let mut h = tar::Header::new_gnu();
        {
            let raw = h.as_old_mut();
            let n = path.len().min(100);
            raw.name[..n].copy_from_slice(&path[..n]);
            let n = link.len().min(100);
            raw.linkname[..n].copy_from_slice(&link[..n]);
        }
        h.set_entry_type(kind);
        h.set_mode(match kind {
            EntryType::Directory => 0o755,
            EntryType::Symlink => 0o777,
            _ => 0o644,
        });
        h.set_size(size);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(1_600_000_000);
        h.set_cksum();
        h
    }

    /// An entry named `path` of `kind`, linking to `link` (either over 100 bytes goes in
    /// a GNU long-name entry first).
    pub fn entry(&mut self, path: &str, kind: EntryType, link: &str, data: &[u8]) -> &mut Self {
        if link.len() > 100 {
            self.gnu_long(link, EntryType::GNULongLink);
        }
        if path.len() > 100 {
            self.gnu_long(path, EntryType::GNULongName);
        }
        let h = Self::header(path.as_bytes(), kind, link.as_bytes(), data.len() as u64);
        self.push(&h, data);
        self
    }

    /// A device node.
    pub fn device(&mut self, path: &str, kind: EntryType, major: u32, minor: u32) -> &mut Self {
        let mut h = Self::header(path.as_bytes(), kind, b"", 0);
        h.set_mode(0o666);
        let _ = h.set_device_major(major);
        let _ = h.set_device_minor(minor);
        h.set_cksum();
        self.push(&h, &[]);
        self
    }

    /// A GNU long-name entry for the next entry (whose own name is then ignored).
    pub fn gnu_long_name(&mut self, name: &str) -> &mut Self {
        self.gnu_long(name, EntryType::GNULongName)
    }

    fn gnu_long(&mut self, value: &str, kind: EntryType) -> &mut Self {
        let mut data = value.as_bytes().to_vec();
        data.push(0);
        let h = Self::header(b"././@LongLink", kind, b"", data.len() as u64);
        self.push(&h, &data);
        self
    }

    /// A PAX extended header with `records` (key, value) for the next entry.
    pub fn pax(&mut self, records: &[(&str, &[u8])]) -> &mut Self {
        let mut data = Vec::new();
        for (k, v) in records {
            let body_len = k.len() + v.len() + 3;
            let mut len = body_len + 1;
            while len.to_string().len() + body_len != len {
                len = len.to_string().len() + body_len;
            }
            data.extend_from_slice(format!("{len} {k}=").as_bytes());
            data.extend_from_slice(v);
            data.push(b'\n');
        }
        let h = Self::header(b"PaxHeaders/x", EntryType::XHeader, b"", data.len() as u64);
        self.push(&h, &data);
        self
    }

    /// A GNU sparse file `path` of `len` bytes, all hole but `data` (512 bytes at most)
    /// at its very end.
    pub fn sparse(&mut self, path: &str, len: u64, data: &[u8]) -> &mut Self {
        let mut block = data.to_vec();
        block.resize(512, 0);
        let off = len - 512;
        let mut h = Self::header(path.as_bytes(), EntryType::GNUSparse, b"", 512);
        if let Some(gnu) = h.as_gnu_mut() {
            put_octal(&mut gnu.sparse[0].offset, off);
            put_octal(&mut gnu.sparse[0].numbytes, 512);
            put_octal(&mut gnu.realsize, len);
        }
        h.set_cksum();
        self.push(&h, &block);
        self
    }

    /// The archive, with its end-of-archive blocks.
    pub fn finish(&mut self) -> Vec<u8> {
        let mut v = std::mem::take(&mut self.0);
        v.extend(std::iter::repeat_n(0u8, 1024));
        v
    }
}

/// `..` enough times to climb from any destination to `/`, then `outside`.
fn climb(outside: &str) -> String {
    format!("{}{}", "../".repeat(16).trim_end_matches('/'), outside)
}

/// Archives that try to write, link or read outside the destination: each must be
/// refused, and `outside` left as it was.
pub fn escapes(outside: &str) -> Vec<(&'static str, Vec<u8>)> {
    use EntryType::{Directory, Link, Regular, Symlink};
    let victim = format!("{outside}/victim");
    let long_up = format!("{}/victim", climb(outside));
    vec![
        (
            "`..` path",
            RawTar::new()
                .entry(&long_up, Regular, "", b"pwned")
                .finish(),
        ),
        (
            "`..` after a name",
            RawTar::new()
                .entry(&format!("a/../{long_up}"), Regular, "", b"pwned")
                .finish(),
        ),
        (
            "absolute symlink, then a file through it",
            RawTar::new()
                .entry("link", Symlink, outside, b"")
                .entry("link/victim", Regular, "", b"pwned")
                .finish(),
        ),
        (
            "relative symlink, then a file through it",
            RawTar::new()
                .entry("d", Directory, "", b"")
                .entry("d/up", Symlink, "../../../../../../../../../../..", b"")
                .entry(&format!("d/up{victim}"), Regular, "", b"pwned")
                .finish(),
        ),
        (
            "symlink chain, then a file through it",
            RawTar::new()
                .entry("a", Symlink, "b", b"")
                .entry("b", Symlink, outside, b"")
                .entry("a/victim", Regular, "", b"pwned")
                .finish(),
        ),
        (
            "directory replaced by a symlink, then a file through it",
            RawTar::new()
                .entry("d/", Directory, "", b"")
                .entry("d/x", Regular, "", b"x")
                .entry("d", Symlink, outside, b"")
                .entry("d/victim", Regular, "", b"pwned")
                .finish(),
        ),
        (
            "hard link out with `..`",
            RawTar::new().entry("hl", Link, &long_up, b"").finish(),
        ),
        (
            "hard link through a symlink",
            RawTar::new()
                .entry("link", Symlink, outside, b"")
                .entry("hl", Link, "link/victim", b"")
                .finish(),
        ),
        (
            "PAX path with `..`",
            RawTar::new()
                .pax(&[("path", long_up.as_bytes())])
                .entry("innocent", Regular, "", b"pwned")
                .finish(),
        ),
        (
            "PAX linkpath with `..`",
            RawTar::new()
                .pax(&[("linkpath", long_up.as_bytes())])
                .entry("innocent", Link, "innocent-target", b"")
                .finish(),
        ),
        (
            "GNU long name with `..`",
            RawTar::new()
                .gnu_long_name(&long_up)
                .entry("innocent", Regular, "", b"pwned")
                .finish(),
        ),
    ]
}

/// Archives that are odd but harmless: each must be accepted, and `check` names a file
/// (relative to the destination) that must then hold `want`.
pub struct Contained {
    pub name: &'static str,
    pub tar: Vec<u8>,
    pub check: String,
    pub want: &'static [u8],
}

/// See [`Contained`].
pub fn contained(outside: &str) -> Vec<Contained> {
    use EntryType::{Directory, Link, Regular, Symlink};
    let long: String = (0..5).map(|i| format!("{i}{}/", "n".repeat(60))).collect();
    let long_file = format!("{long}file");
    let pax_name = format!("pax/{}", "p".repeat(200));
    vec![
        Contained {
            name: "absolute name",
            tar: RawTar::new()
                .entry("/abs/file", Regular, "", b"abs")
                .finish(),
            check: "abs/file".into(),
            want: b"abs",
        },
        Contained {
            name: "a symlink out, not followed",
            tar: RawTar::new()
                .entry("out", Symlink, outside, b"")
                .entry("after", Regular, "", b"after")
                .finish(),
            check: "after".into(),
            want: b"after",
        },
        Contained {
            name: "GNU long name",
            tar: RawTar::new()
                .gnu_long_name(&long_file)
                .entry("short", Regular, "", b"long")
                .finish(),
            check: long_file.clone(),
            want: b"long",
        },
        Contained {
            name: "PAX path",
            tar: RawTar::new()
                .pax(&[("path", pax_name.as_bytes())])
                .entry("short", Regular, "", b"pax")
                .finish(),
            check: pax_name.clone(),
            want: b"pax",
        },
        Contained {
            name: "duplicate entries: the last wins",
            tar: RawTar::new()
                .entry("dup", Regular, "", b"one")
                .entry("dup", Regular, "", b"two")
                .entry("dir/", Directory, "", b"")
                .entry("dir/", Directory, "", b"")
                .finish(),
            check: "dup".into(),
            want: b"two",
        },
        Contained {
            name: "an absolute hard link target is taken inside",
            tar: RawTar::new()
                .entry("/target", Regular, "", b"target")
                .entry("hl", Link, "/target", b"")
                .finish(),
            check: "hl".into(),
            want: b"target",
        },
        Contained {
            name: "a file replacing a hard link is not written through it",
            tar: RawTar::new()
                .entry("first", Regular, "", b"first")
                .entry("second", Link, "first", b"")
                .entry("second", Regular, "", b"second")
                .finish(),
            check: "first".into(),
            want: b"first",
        },
    ]
}
