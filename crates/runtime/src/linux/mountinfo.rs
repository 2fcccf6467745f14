//! `/proc/self/mountinfo`: the mount table of this mount namespace, one parser for the
//! daemon's readers (the cgroup layout, the local volume driver's mounts, `info`'s backing
//! file system).

use std::path::PathBuf;

/// One line of the table: `ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE
/// SOURCE SUPER_OPTIONS` (proc(5)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount<'a> {
    /// Where it is mounted, unescaped.
    pub mount_point: PathBuf,
    /// The optional fields: propagation (`shared:N`, `master:N`, `unbindable`).
    pub optional: &'a str,
    pub fstype: &'a str,
    pub source: &'a str,
    /// The file system's own options (`rw,cpuset` for a cgroup v1 hierarchy).
    pub super_options: &'a str,
}

/// The mounts `text` (the content of a mountinfo file) lists; malformed lines are skipped.
pub fn parse(text: &str) -> impl Iterator<Item = Mount<'_>> {
    text.lines().filter_map(|line| {
        let (pre, post) = line.split_once(" - ")?;
        let mount_point = pre.split(' ').nth(4)?;
        // After the sixth field (the mount options), up to the separator.
        let optional = pre.splitn(7, ' ').nth(6).unwrap_or("");
        let mut post = post.split(' ');
        Some(Mount {
            mount_point: PathBuf::from(std::ffi::OsString::from(unescape(mount_point))),
            optional,
            fstype: post.next()?,
            source: post.next().unwrap_or(""),
            super_options: post.next().unwrap_or(""),
        })
    })
}

/// The mount `path` is on: the last listed whose mount point is the longest prefix of it.
pub fn mount_of<'a>(text: &'a str, path: &std::path::Path) -> Option<Mount<'a>> {
    let mut best: Option<Mount<'a>> = None;
    for m in parse(text) {
        let len = m.mount_point.as_os_str().len();
        if path.starts_with(&m.mount_point)
            && best
                .as_ref()
                .is_none_or(|b| len >= b.mount_point.as_os_str().len())
        {
            best = Some(m);
        }
    }
    best
}

impl Mount<'_> {
    /// Mounts below it propagate to peers (`shared:N`).
    pub fn is_shared(&self) -> bool {
        self.optional.split(' ').any(|f| f.starts_with("shared:"))
    }

    /// It receives mounts from a master (`master:N`).
    pub fn is_slave(&self) -> bool {
        self.optional.split(' ').any(|f| f.starts_with("master:"))
    }
}

/// This process's mount table.
pub fn read() -> crate::Result<String> {
    std::fs::read_to_string("/proc/self/mountinfo")
        .map_err(|e| crate::Error::io("reading /proc/self/mountinfo", e))
}

/// Mountinfo escapes space, tab, newline and backslash as `\ooo` (octal).
pub fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            out.push((b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_become_mounts() {
        let text = "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw,errors=remount-ro\n\
                    bogus line\n\
                    40 22 0:35 / /var/lib/my\\040root rw - tmpfs tmpfs rw,size=64k\n";
        let mounts: Vec<_> = parse(text).collect();
        assert_eq!(mounts.len(), 2);
        assert_eq!(mounts[0].mount_point, PathBuf::from("/"));
        assert_eq!(
            (mounts[0].fstype, mounts[0].source, mounts[0].super_options),
            ("ext4", "/dev/sda1", "rw,errors=remount-ro")
        );
        assert_eq!(mounts[1].mount_point, PathBuf::from("/var/lib/my root"));
        assert!(mounts[0].is_shared() && !mounts[0].is_slave());
        assert!(!mounts[1].is_shared() && !mounts[1].is_slave());
        let on = mount_of(text, std::path::Path::new("/var/lib/my root/x")).unwrap();
        assert_eq!(on.fstype, "tmpfs");
        assert_eq!(
            mount_of(text, std::path::Path::new("/srv")).unwrap().fstype,
            "ext4"
        );
        assert_eq!(unescape("/a\\040b\\134c"), "/a b\\c");
        assert_eq!(unescape("/a\\04"), "/a\\04");
        assert!(parse(&read().unwrap()).any(|m| m.mount_point == std::path::Path::new("/")));
    }
}
