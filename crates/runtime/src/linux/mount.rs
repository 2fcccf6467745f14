//! Mounts made by the container init in its own mount namespace: the overlay root, the
//! spec's mounts, device nodes, pivot_root, masked and read-only paths.

use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Component, Path, PathBuf};

use nix::mount::{MntFlags, MsFlags, mount, umount2};
use nix::sys::stat::{Mode, SFlag, makedev, mknod};

use super::cgroups::Layout;
use super::nix_err;

/// Flags and data parsed from OCI mount options.
#[derive(Debug, PartialEq, Eq)]
pub struct MountOptions {
    pub flags: MsFlags,
    /// Propagation changes applied after the mount (MS_PRIVATE, MS_SLAVE...).
    pub propagation: MsFlags,
    /// Filesystem-specific options, comma separated.
    pub data: String,
}

/// Parse OCI/fstab mount options as runc does.
pub fn parse_options(options: &[String]) -> MountOptions {
    let mut out = MountOptions {
        flags: MsFlags::empty(),
        propagation: MsFlags::empty(),
        data: String::new(),
    };
    for o in options {
        let (clear, flag) = match o.as_str() {
            "ro" => (false, MsFlags::MS_RDONLY),
            "rw" => (true, MsFlags::MS_RDONLY),
            "nosuid" => (false, MsFlags::MS_NOSUID),
            "suid" => (true, MsFlags::MS_NOSUID),
            "nodev" => (false, MsFlags::MS_NODEV),
            "dev" => (true, MsFlags::MS_NODEV),
            "noexec" => (false, MsFlags::MS_NOEXEC),
            "exec" => (true, MsFlags::MS_NOEXEC),
            "sync" => (false, MsFlags::MS_SYNCHRONOUS),
            "async" => (true, MsFlags::MS_SYNCHRONOUS),
            "dirsync" => (false, MsFlags::MS_DIRSYNC),
            "remount" => (false, MsFlags::MS_REMOUNT),
            "mand" => (false, MsFlags::MS_MANDLOCK),
            "nomand" => (true, MsFlags::MS_MANDLOCK),
            "atime" => (true, MsFlags::MS_NOATIME),
            "noatime" => (false, MsFlags::MS_NOATIME),
            "diratime" => (true, MsFlags::MS_NODIRATIME),
            "nodiratime" => (false, MsFlags::MS_NODIRATIME),
            "bind" => (false, MsFlags::MS_BIND),
            "rbind" => (false, MsFlags::MS_BIND | MsFlags::MS_REC),
            "relatime" => (false, MsFlags::MS_RELATIME),
            "norelatime" => (true, MsFlags::MS_RELATIME),
            "strictatime" => (false, MsFlags::MS_STRICTATIME),
            "nostrictatime" => (true, MsFlags::MS_STRICTATIME),
            p @ ("private" | "rprivate" | "shared" | "rshared" | "slave" | "rslave"
            | "unbindable" | "runbindable") => {
                out.propagation |= match p {
                    "private" => MsFlags::MS_PRIVATE,
                    "rprivate" => MsFlags::MS_PRIVATE | MsFlags::MS_REC,
                    "shared" => MsFlags::MS_SHARED,
                    "rshared" => MsFlags::MS_SHARED | MsFlags::MS_REC,
                    "slave" => MsFlags::MS_SLAVE,
                    "rslave" => MsFlags::MS_SLAVE | MsFlags::MS_REC,
                    "unbindable" => MsFlags::MS_UNBINDABLE,
                    _ => MsFlags::MS_UNBINDABLE | MsFlags::MS_REC,
                };
                continue;
            }
            data => {
                if !out.data.is_empty() {
                    out.data.push(',');
                }
                out.data.push_str(data);
                continue;
            }
        };
        if clear {
            out.flags.remove(flag);
        } else {
            out.flags.insert(flag);
        }
    }
    out
}

/// `path` as the container will see it, resolved inside `root` (runc's securejoin): each
/// component that is a symlink in the container's tree is followed there (an absolute
/// target starts again at `root`, `..` stops at `root`), so a mount or device destination
/// never leads out of the container's tree through a symlink its image or a volume
/// holds (`/t/root -> /`). What does not exist yet is taken as it is (it is made below
/// `root`). More than 255 links is `ELOOP`, as the kernel's limit of 40 is per lookup.
pub fn in_root(root: &Path, path: &Path) -> crate::Result<PathBuf> {
    const MAX_LINKS: usize = 255;
    let mut todo: std::collections::VecDeque<std::ffi::OsString> = parts(path).collect();
    let mut out = root.to_path_buf();
    let mut depth = 0usize;
    let mut links = 0usize;
    while let Some(c) = todo.pop_front() {
        if c == ".." {
            if depth > 0 {
                out.pop();
                depth -= 1;
            }
            continue;
        }
        let next = out.join(&c);
        let is_link = std::fs::symlink_metadata(&next).is_ok_and(|m| m.file_type().is_symlink());
        if !is_link {
            out = next;
            depth += 1;
            continue;
        }
        links += 1;
        if links > MAX_LINKS {
            return Err(crate::Error::io(
                format!("resolving {} in the container", path.display()),
                std::io::Error::from_raw_os_error(libc::ELOOP),
            ));
        }
        let target = std::fs::read_link(&next)
            .map_err(|e| crate::Error::io(format!("reading link {}", next.display()), e))?;
        if target.is_absolute() {
            out = root.to_path_buf();
            depth = 0;
        }
        let rest: Vec<_> = todo.drain(..).collect();
        todo.extend(parts(&target));
        todo.extend(rest);
    }
    Ok(out)
}

/// The names and `..` of a path, in order (`/` and `.` dropped).
fn parts(path: &Path) -> impl Iterator<Item = std::ffi::OsString> + '_ {
    path.components().filter_map(|c| match c {
        Component::Normal(n) => Some(n.to_os_string()),
        Component::ParentDir => Some("..".into()),
        _ => None,
    })
}

fn do_mount(
    source: Option<&Path>,
    target: &Path,
    fstype: Option<&str>,
    flags: MsFlags,
    data: Option<&str>,
) -> crate::Result<()> {
    mount(source, target, fstype, flags, data).map_err(|e| {
        nix_err(
            format!(
                "mounting {} on {} ({})",
                source.map(|s| s.display().to_string()).unwrap_or_default(),
                target.display(),
                fstype.unwrap_or("bind")
            ),
            e,
        )
    })
}

fn mkdir_all(path: &Path, mode: u32) -> crate::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(mode)
        .create(path)
        .map_err(|e| crate::Error::io(format!("creating {}", path.display()), e))
}

/// Make every mount private so nothing we do propagates to the host.
pub fn make_root_private() -> crate::Result<()> {
    make_root_propagation(None)
}

/// Set the propagation of every mount from config.json's `linux.rootfsPropagation`:
/// private unless it says `rslave`/`slave` (then mounts the host makes below a shared or
/// slave mount still reach the container; nothing goes the other way) or
/// `rshared`/`shared` (both ways, for the binds that ask for it: see
/// [`make_parent_private`]).
pub fn make_root_propagation(propagation: Option<&str>) -> crate::Result<()> {
    let flags = match propagation {
        Some("slave" | "rslave") => MsFlags::MS_REC | MsFlags::MS_SLAVE,
        Some("shared" | "rshared") => MsFlags::MS_REC | MsFlags::MS_SHARED,
        _ => MsFlags::MS_REC | MsFlags::MS_PRIVATE,
    };
    do_mount(None, Path::new("/"), None, flags, None)
}

/// Make the mount that holds `path` private in this namespace when it is shared (as runc
/// does with a shared root): what is mounted at `path` then neither propagates to the
/// host nor stops `pivot_root`.
pub fn make_parent_private(path: &Path) -> crate::Result<()> {
    let text = crate::linux::mountinfo::read()?;
    let parent = path.parent().unwrap_or(path);
    match crate::linux::mountinfo::mount_of(&text, parent) {
        Some(m) if m.is_shared() => do_mount(None, &m.mount_point, None, MsFlags::MS_PRIVATE, None),
        _ => Ok(()),
    }
}

/// Mount the overlay for the root filesystem. `layers` are bottom-most first; `empty_lower`
/// is used when there are none.
pub fn mount_overlay(
    layers: &[PathBuf],
    empty_lower: &Path,
    upper: &Path,
    work: &Path,
    target: &Path,
) -> crate::Result<()> {
    mkdir_all(target, 0o755)?;
    let mut data = String::from("lowerdir=");
    if layers.is_empty() {
        mkdir_all(empty_lower, 0o755)?;
        data.push_str(&empty_lower.to_string_lossy());
    } else {
        for (i, l) in layers.iter().rev().enumerate() {
            if i > 0 {
                data.push(':');
            }
            data.push_str(&l.to_string_lossy());
        }
    }
    data.push_str(",upperdir=");
    data.push_str(&upper.to_string_lossy());
    data.push_str(",workdir=");
    data.push_str(&work.to_string_lossy());
    do_mount(
        Some(Path::new("overlay")),
        target,
        Some("overlay"),
        MsFlags::empty(),
        Some(&data),
    )
}

/// Mount one of the spec's mounts below `rootfs`.
pub fn mount_entry(
    rootfs: &Path,
    m: &oci_spec::runtime::Mount,
    cgroups: &Layout,
) -> crate::Result<()> {
    let dest = in_root(rootfs, m.destination())?;
    let typ = m.typ().as_deref().unwrap_or("");
    let opts = parse_options(m.options().as_deref().unwrap_or(&[]));
    if typ == "cgroup" || typ == "cgroup2" {
        mkdir_all(&dest, 0o755)?;
        return mount_cgroups(&dest, opts.flags, cgroups);
    }
    let source = m.source().as_deref();
    if opts.flags.contains(MsFlags::MS_BIND) || typ == "bind" {
        let source = source.ok_or_else(|| {
            crate::Error::Invalid(format!("bind mount {} has no source", dest.display()))
        })?;
        create_mount_point(source, &dest)?;
        let bind = MsFlags::MS_BIND | (opts.flags & MsFlags::MS_REC);
        do_mount(Some(source), &dest, None, bind, None)?;
        let rest = opts.flags - (MsFlags::MS_BIND | MsFlags::MS_REC | MsFlags::MS_REMOUNT);
        if !rest.is_empty() {
            do_mount(
                None,
                &dest,
                None,
                rest | MsFlags::MS_BIND | MsFlags::MS_REMOUNT,
                None,
            )?;
        }
    } else {
        mkdir_all(&dest, 0o755)?;
        let data = (!opts.data.is_empty()).then_some(opts.data.as_str());
        do_mount(source, &dest, Some(typ), opts.flags, data)?;
    }
    if !opts.propagation.is_empty() {
        do_mount(None, &dest, None, opts.propagation, None)?;
    }
    Ok(())
}

/// A recursive bind of `source` at `dest` resolved inside `root` (as [`in_root`]), its
/// mount point made, read-only when asked: a stopped container's volumes and binds as
/// `docker cp`'s helper sees them.
pub fn bind_in_root(root: &Path, source: &Path, dest: &Path, readonly: bool) -> crate::Result<()> {
    let target = in_root(root, dest)?;
    create_mount_point(source, &target)?;
    let bind = MsFlags::MS_BIND | MsFlags::MS_REC;
    do_mount(Some(source), &target, None, bind, None)?;
    if readonly {
        let ro = MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY;
        do_mount(None, &target, None, ro, None)?;
    }
    Ok(())
}

/// Create the mount point for a bind of `source`: a directory, or an empty file.
fn create_mount_point(source: &Path, dest: &Path) -> crate::Result<()> {
    let meta = std::fs::metadata(source)
        .map_err(|e| crate::Error::io(format!("bind source {}", source.display()), e))?;
    if meta.is_dir() {
        return mkdir_all(dest, 0o755);
    }
    if let Some(parent) = dest.parent() {
        mkdir_all(parent, 0o755)?;
    }
    match std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o644)
        .open(dest)
    {
        Ok(_) => Ok(()),
        // An existing directory or special file: let mount(2) say what is wrong.
        Err(e) if e.raw_os_error() == Some(libc::EISDIR) => Ok(()),
        Err(e) => Err(crate::Error::io(format!("creating {}", dest.display()), e)),
    }
}

/// /sys/fs/cgroup in the container: cgroup2 as is; for v1 a tmpfs holding one mount per
/// hierarchy (rooted at the container's cgroup by the cgroup namespace), made read-only.
fn mount_cgroups(dest: &Path, flags: MsFlags, layout: &Layout) -> crate::Result<()> {
    let flags = flags - MsFlags::MS_BIND - MsFlags::MS_REC;
    match layout {
        Layout::V2 { .. } => do_mount(
            Some(Path::new("cgroup2")),
            dest,
            Some("cgroup2"),
            flags,
            None,
        ),
        Layout::V1 { hierarchies } => {
            let tmpfs_flags = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
            do_mount(
                Some(Path::new("tmpfs")),
                dest,
                Some("tmpfs"),
                tmpfs_flags,
                Some("mode=755"),
            )?;
            for h in hierarchies {
                let Some(name) = h.mountpoint.file_name() else {
                    continue;
                };
                let target = dest.join(name);
                mkdir_all(&target, 0o755)?;
                do_mount(
                    Some(Path::new("cgroup")),
                    &target,
                    Some("cgroup"),
                    flags,
                    Some(&h.options),
                )?;
            }
            if flags.contains(MsFlags::MS_RDONLY) {
                do_mount(
                    None,
                    dest,
                    None,
                    tmpfs_flags | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY,
                    None,
                )?;
            }
            Ok(())
        }
    }
}

/// Create the spec's device nodes (character or block) below `rootfs`.
pub fn create_device(rootfs: &Path, d: &oci_spec::runtime::LinuxDevice) -> crate::Result<()> {
    use oci_spec::runtime::LinuxDeviceType;
    let dest = in_root(rootfs, d.path())?;
    if let Some(parent) = dest.parent() {
        mkdir_all(parent, 0o755)?;
    }
    let kind = match d.typ() {
        LinuxDeviceType::B => SFlag::S_IFBLK,
        LinuxDeviceType::P => SFlag::S_IFIFO,
        _ => SFlag::S_IFCHR,
    };
    let mode = Mode::from_bits_truncate(d.file_mode().unwrap_or(0o666));
    let dev = makedev(d.major() as u64, d.minor() as u64);
    match mknod(&dest, kind, mode, dev) {
        Ok(()) | Err(nix::errno::Errno::EEXIST) => {}
        Err(e) => return Err(nix_err(format!("creating device {}", dest.display()), e)),
    }
    let uid = d.uid().map(nix::unistd::Uid::from_raw);
    let gid = d.gid().map(nix::unistd::Gid::from_raw);
    if uid.is_some_and(|u| !u.is_root()) || gid.is_some_and(|g| g.as_raw() != 0) {
        nix::unistd::chown(&dest, uid, gid)
            .map_err(|e| nix_err(format!("chown {}", dest.display()), e))?;
    }
    Ok(())
}

/// The standard /dev symlinks.
pub fn dev_symlinks(rootfs: &Path, with_kcore: bool) -> crate::Result<()> {
    let mut links = vec![
        ("/proc/self/fd", "dev/fd"),
        ("/proc/self/fd/0", "dev/stdin"),
        ("/proc/self/fd/1", "dev/stdout"),
        ("/proc/self/fd/2", "dev/stderr"),
        ("pts/ptmx", "dev/ptmx"),
    ];
    if with_kcore {
        links.push(("/proc/kcore", "dev/core"));
    }
    for (target, link) in links {
        let path = rootfs.join(link);
        match std::os::unix::fs::symlink(target, &path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(crate::Error::io(format!("symlink {}", path.display()), e)),
        }
    }
    Ok(())
}

/// Bind `source` (a pty slave) over `<rootfs>/dev/console`.
pub fn bind_console(rootfs: &Path, source: &Path) -> crate::Result<()> {
    let dest = rootfs.join("dev/console");
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&dest)
        .map_err(|e| crate::Error::io(format!("creating {}", dest.display()), e))?;
    do_mount(Some(source), &dest, None, MsFlags::MS_BIND, None)
}

/// Make `rootfs` the root: pivot_root(".", ".") then detach the old root stacked on it.
pub fn pivot_root(rootfs: &Path) -> crate::Result<()> {
    let old_root = nix::fcntl::open(
        "/",
        nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .map_err(|e| nix_err("opening the old root", e))?;
    nix::unistd::chdir(rootfs).map_err(|e| nix_err(format!("chdir {}", rootfs.display()), e))?;
    nix::unistd::pivot_root(".", ".").map_err(|e| nix_err("pivot_root", e))?;
    // In the old root, stacked on the new one: made a slave first, so that with shared
    // mounts (a shared bind) its detach does not propagate to the host's own mounts, and
    // only then detached (runc does the same).
    nix::unistd::fchdir(&old_root).map_err(|e| nix_err("fchdir to the old root", e))?;
    do_mount(
        None,
        Path::new("."),
        None,
        MsFlags::MS_SLAVE | MsFlags::MS_REC,
        None,
    )?;
    umount2(".", MntFlags::MNT_DETACH).map_err(|e| nix_err("detaching old root", e))?;
    nix::unistd::chdir("/").map_err(|e| nix_err("chdir /", e))
}

/// Hide `path`: /dev/null over a file, an empty read-only tmpfs over a directory. Missing
/// paths are skipped.
pub fn mask_path(path: &Path) -> crate::Result<()> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(_) => return Ok(()),
    };
    if meta.is_dir() {
        do_mount(
            Some(Path::new("tmpfs")),
            path,
            Some("tmpfs"),
            MsFlags::MS_RDONLY,
            None,
        )
    } else {
        do_mount(
            Some(Path::new("/dev/null")),
            path,
            None,
            MsFlags::MS_BIND,
            None,
        )
    }
}

/// Make `path` read-only (bind it on itself, remount read-only). Missing paths are skipped.
/// Make the (pivoted) root mount read-only (`--read-only`).
pub fn readonly_root() -> crate::Result<()> {
    do_mount(
        None::<&Path>,
        Path::new("/"),
        None,
        MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY,
        None,
    )
}

pub fn readonly_path(path: &Path) -> crate::Result<()> {
    if std::fs::symlink_metadata(path).is_err() {
        return Ok(());
    }
    do_mount(
        Some(path),
        path,
        None,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None,
    )?;
    do_mount(
        Some(path),
        path,
        None,
        MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY | MsFlags::MS_REC,
        None,
    )
}

/// Where `docker cp`'s helper works: make `root` this (single-threaded) process's root
/// directory and working directory, so every path it then opens resolves as the container
/// sees it and cannot lead outside.
pub fn chroot_into(root: &Path) -> crate::Result<()> {
    nix::unistd::chroot(root).map_err(|e| nix_err(format!("chroot {}", root.display()), e))?;
    nix::unistd::chdir("/").map_err(|e| nix_err("chdir /", e))
}

/// A stopped container's root filesystem for `docker cp`'s helper: the overlay of `layers`
/// and `upper` mounted at `scratch/root` in a new private mount namespace of this process
/// (gone when it exits); returns that mount point.
pub fn private_overlay(
    layers: &[PathBuf],
    upper: &Path,
    work: &Path,
    scratch: &Path,
) -> crate::Result<PathBuf> {
    nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNS)
        .map_err(|e| nix_err("unshare(CLONE_NEWNS)", e))?;
    make_root_private()?;
    let root = scratch.join("root");
    mount_overlay(layers, &scratch.join("empty"), upper, work, &root)?;
    Ok(root)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(o: &[&str]) -> MountOptions {
        parse_options(&o.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn parses_flags_and_data() {
        let o = opts(&["nosuid", "strictatime", "mode=755", "size=65536k"]);
        assert_eq!(o.flags, MsFlags::MS_NOSUID | MsFlags::MS_STRICTATIME);
        assert_eq!(o.data, "mode=755,size=65536k");
        let o = opts(&["rbind", "ro", "rprivate"]);
        assert_eq!(
            o.flags,
            MsFlags::MS_BIND | MsFlags::MS_REC | MsFlags::MS_RDONLY
        );
        assert_eq!(o.propagation, MsFlags::MS_PRIVATE | MsFlags::MS_REC);
        let o = opts(&["ro", "rw"]);
        assert!(o.flags.is_empty());
    }

    #[test]
    fn in_root_stays_inside() {
        let r = Path::new("/nonexistent-berth-root/rootfs");
        let j = |p: &str| in_root(r, Path::new(p)).unwrap();
        assert_eq!(j("/etc/hosts"), r.join("etc/hosts"));
        assert_eq!(j("/../../x"), r.join("x"));
        assert_eq!(j("a/../b"), r.join("b"));
    }

    #[test]
    fn in_root_follows_symlinks_inside_the_root() {
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        std::fs::create_dir_all(r.join("t")).unwrap();
        std::fs::create_dir_all(r.join("data/x")).unwrap();
        // A volume's trap: /t/root -> /, and relative links climbing out.
        std::os::unix::fs::symlink("/", r.join("t/root")).unwrap();
        std::os::unix::fs::symlink("../../../../..", r.join("t/up")).unwrap();
        std::os::unix::fs::symlink("/data", r.join("abs")).unwrap();
        std::os::unix::fs::symlink("data/x", r.join("rel")).unwrap();
        std::os::unix::fs::symlink("loop", r.join("loop")).unwrap();
        let j = |p: &str| in_root(r, Path::new(p));
        assert_eq!(j("/t/root/etc/passwd").unwrap(), r.join("etc/passwd"));
        assert_eq!(j("/t/up/tmp").unwrap(), r.join("tmp"));
        assert_eq!(j("/abs/y").unwrap(), r.join("data/y"));
        assert_eq!(j("/rel/../z").unwrap(), r.join("data/z"));
        assert!(j("/loop/a").is_err());
    }
}
