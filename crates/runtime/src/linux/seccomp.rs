//! Seccomp: the OCI `linux.seccomp` section compiled to a BPF program by libseccomp (the
//! library runc, crun and youki use), for this machine's architecture, and installed.
//!
//! Rules are read in order, as runc reads them: rules with the default action are skipped;
//! once a call has a rule without conditions, later rules for it are unreachable and
//! skipped (first match), while a rule without conditions after rules with conditions for
//! the same call replaces them (libseccomp's semantics, so runc's and Docker's); argument
//! conditions are 64-bit comparisons
//! (`SCMP_CMP_EQ/NE/LT/LE/GT/GE/MASKED_EQ`), all of a rule's conditions must hold, and when
//! one argument index is tested twice each condition becomes a rule of its own (runc's
//! rule). Names are resolved by libseccomp for the target architecture; names it does not
//! know there are ignored (as runc does). Only the native ABI is filtered: calls through
//! another one (i386 `int 0x80` or x32 on x86_64, arm32 on aarch64) are refused with EPERM
//! whatever the profile says. libseccomp lays the calls out as a binary tree, so a call
//! costs a few comparisons however long the profile is.
//!
//! [`default_profile`] is Docker's default profile as Berth applies it: since Docker's is an
//! allowlist whose unlisted calls the kernel already refuses without privileges, Berth uses
//! the equivalent denylist — the calls Docker refuses to a container without the matching
//! capability (mount, unshare, setns, keyctl, bpf, kexec, modules, clock setting, ...),
//! namespace-creating `clone` flags, and `clone3` with ENOSYS (so libcs fall back to
//! `clone`, whose flags can be checked), lifted by the capabilities Docker lifts them for.
//! The names are resolved for each architecture, so x86_64 and aarch64 get the same policy.

use std::collections::HashSet;
use std::io::{Read, Seek};
use std::os::fd::{FromRawFd, OwnedFd};

use libseccomp::{
    ScmpAction, ScmpArch, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext, ScmpSyscall,
};
use oci_spec::runtime::{
    Arch, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArg, LinuxSeccompArgBuilder,
    LinuxSeccompBuilder, LinuxSeccompFilterFlag, LinuxSeccompOperator, LinuxSyscall,
    LinuxSyscallBuilder,
};

/// clone flags that create namespaces.
const CLONE_NS_FLAGS: [u64; 7] = [
    0x0002_0000, // NEWNS
    0x0200_0000, // NEWCGROUP
    0x0400_0000, // NEWUTS
    0x0800_0000, // NEWIPC
    0x1000_0000, // NEWUSER
    0x2000_0000, // NEWPID
    0x4000_0000, // NEWNET
];

/// System calls Docker's default profile refuses unless the container holds the capability
/// (None: always).
const DENY: &[(Option<&str>, &[&str])] = &[
    (
        Some("CAP_SYS_ADMIN"),
        &[
            "mount",
            "umount2",
            "pivot_root",
            "unshare",
            "setns",
            "quotactl",
            "swapon",
            "swapoff",
            "fanotify_init",
            "lookup_dcookie",
            "name_to_handle_at",
            "bpf",
            "perf_event_open",
            "open_tree",
            "move_mount",
            "fsopen",
            "fsconfig",
            "fsmount",
            "fspick",
            "mount_setattr",
        ],
    ),
    (Some("CAP_DAC_READ_SEARCH"), &["open_by_handle_at"]),
    (
        Some("CAP_SYS_MODULE"),
        &[
            "init_module",
            "finit_module",
            "delete_module",
            "create_module",
            "get_kernel_syms",
            "query_module",
        ],
    ),
    (
        Some("CAP_SYS_BOOT"),
        &["reboot", "kexec_load", "kexec_file_load"],
    ),
    (
        Some("CAP_SYS_TIME"),
        &["settimeofday", "clock_settime", "adjtimex", "clock_adjtime"],
    ),
    (Some("CAP_SYS_RAWIO"), &["iopl", "ioperm"]),
    (Some("CAP_SYS_PACCT"), &["acct"]),
    (
        Some("CAP_SYS_NICE"),
        &[
            "mbind",
            "set_mempolicy",
            "get_mempolicy",
            "migrate_pages",
            "move_pages",
        ],
    ),
    (Some("CAP_SYSLOG"), &["syslog"]),
    (Some("CAP_SYS_TTY_CONFIG"), &["vhangup"]),
    (Some("CAP_SYS_PTRACE"), &["kcmp"]),
    (
        None,
        &[
            "keyctl",
            "add_key",
            "request_key",
            "userfaultfd",
            "uselib",
            "ustat",
            "sysfs",
            "_sysctl",
            "nfsservctl",
        ],
    ),
];

fn invalid(e: impl std::fmt::Display) -> crate::Error {
    crate::Error::Invalid(format!("seccomp: {e}"))
}

fn rule(
    names: &[&str],
    action: LinuxSeccompAction,
    errno: u32,
    args: Vec<LinuxSeccompArg>,
) -> crate::Result<LinuxSyscall> {
    let mut b = LinuxSyscallBuilder::default()
        .names(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
        .action(action)
        .errno_ret(errno);
    if !args.is_empty() {
        b = b.args(args);
    }
    b.build().map_err(invalid)
}

/// Docker's default profile for a container holding the capabilities `held` (names like
/// `CAP_SYS_ADMIN`), as an OCI `linux.seccomp` section.
pub fn default_profile(held: &[String]) -> crate::Result<LinuxSeccomp> {
    let has = |c: &str| held.iter().any(|h| h == c);
    let eperm = libc::EPERM as u32;
    let mut syscalls = Vec::new();
    for (cap, names) in DENY {
        if cap.is_some_and(has) {
            continue;
        }
        syscalls.push(rule(
            names,
            LinuxSeccompAction::ScmpActErrno,
            eperm,
            vec![],
        )?);
    }
    if !has("CAP_SYS_ADMIN") {
        syscalls.push(rule(
            &["clone3"],
            LinuxSeccompAction::ScmpActErrno,
            libc::ENOSYS as u32,
            vec![],
        )?);
        // clone: refuse namespace flags (the first argument on x86_64 and aarch64).
        for flag in CLONE_NS_FLAGS {
            let arg = LinuxSeccompArgBuilder::default()
                .index(0usize)
                .value(flag)
                .value_two(flag)
                .op(LinuxSeccompOperator::ScmpCmpMaskedEq)
                .build()
                .map_err(invalid)?;
            syscalls.push(rule(
                &["clone"],
                LinuxSeccompAction::ScmpActErrno,
                eperm,
                vec![arg],
            )?);
        }
    }
    LinuxSeccompBuilder::default()
        .default_action(LinuxSeccompAction::ScmpActAllow)
        .architectures(vec![native_oci_arch()])
        .syscalls(syscalls)
        .build()
        .map_err(invalid)
}

/// This machine's architecture as OCI names it.
fn native_oci_arch() -> Arch {
    if cfg!(target_arch = "aarch64") {
        Arch::ScmpArchAarch64
    } else {
        Arch::ScmpArchX86_64
    }
}

/// The libseccomp action for an OCI action (the errno defaults to EPERM, as runc's).
fn action(action: LinuxSeccompAction, errno: Option<u32>) -> crate::Result<ScmpAction> {
    use LinuxSeccompAction as A;
    let errno = errno.unwrap_or(libc::EPERM as u32);
    Ok(match action {
        A::ScmpActKill | A::ScmpActKillThread => ScmpAction::KillThread,
        A::ScmpActKillProcess => ScmpAction::KillProcess,
        A::ScmpActTrap => ScmpAction::Trap,
        A::ScmpActErrno => ScmpAction::Errno(
            i32::try_from(errno & 0xffff).map_err(|_| invalid("errnoRet out of range"))?,
        ),
        A::ScmpActTrace => ScmpAction::Trace((errno & 0xffff) as u16),
        A::ScmpActLog => ScmpAction::Log,
        A::ScmpActAllow => ScmpAction::Allow,
        A::ScmpActNotify => {
            return Err(invalid(
                "SCMP_ACT_NOTIFY needs a seccomp agent, which Berth does not support",
            ));
        }
    })
}

/// One argument condition as libseccomp compares it.
fn condition(arg: &LinuxSeccompArg) -> crate::Result<ScmpArgCompare> {
    use LinuxSeccompOperator as Op;
    let index = u32::try_from(arg.index())
        .ok()
        .filter(|&i| i < 6)
        .ok_or_else(|| {
            invalid(format!(
                "argument index {} is out of range (0..5)",
                arg.index()
            ))
        })?;
    let op = match arg.op() {
        Op::ScmpCmpNe => ScmpCompareOp::NotEqual,
        Op::ScmpCmpLt => ScmpCompareOp::Less,
        Op::ScmpCmpLe => ScmpCompareOp::LessOrEqual,
        Op::ScmpCmpEq => ScmpCompareOp::Equal,
        Op::ScmpCmpGe => ScmpCompareOp::GreaterEqual,
        Op::ScmpCmpGt => ScmpCompareOp::Greater,
        // OCI (as libseccomp's Go binding): `value` is the mask, `valueTwo` the datum.
        Op::ScmpCmpMaskedEq => {
            return Ok(ScmpArgCompare::new(
                index,
                ScmpCompareOp::MaskedEqual(arg.value()),
                arg.value_two().unwrap_or(0),
            ));
        }
    };
    Ok(ScmpArgCompare::new(index, op, arg.value()))
}

/// Compile an OCI seccomp section to a BPF program for this machine's architecture.
pub fn compile(s: &LinuxSeccomp) -> crate::Result<Vec<libc::sock_filter>> {
    compile_for(s, ScmpArch::native())
}

/// Compile an OCI seccomp section to a BPF program for `arch` (calls of any other ABI are
/// refused with EPERM).
pub fn compile_for(s: &LinuxSeccomp, arch: ScmpArch) -> crate::Result<Vec<libc::sock_filter>> {
    let lib = |what: &'static str| {
        move |e: libseccomp::error::SeccompError| invalid(format!("{what}: {e}"))
    };
    let default = action(s.default_action(), s.default_errno_ret())?;
    let mut ctx = ScmpFilterContext::new(default).map_err(lib("creating the filter"))?;
    // no_new_privs is the spec's to ask for (`install` leaves it alone); other ABIs are
    // refused; the calls are laid out as a binary tree (libseccomp >= 2.5).
    ctx.set_ctl_nnp(false)
        .and_then(|c| c.set_act_badarch(ScmpAction::Errno(libc::EPERM)))
        .and_then(|c| c.set_ctl_optimize(2))
        .map_err(lib("setting the filter's attributes"))?;
    let native = ScmpArch::native();
    if arch != native {
        ctx.add_arch(arch)
            .and_then(|c| c.remove_arch(native))
            .map_err(lib("choosing the architecture"))?;
    }
    // Calls that already have a rule without conditions: later rules never apply to them.
    let mut decided: HashSet<i32> = HashSet::new();
    for sc in s.syscalls().as_deref().unwrap_or(&[]) {
        let act = action(sc.action(), sc.errno_ret())?;
        let args = sc.args().as_deref().unwrap_or(&[]);
        let mut seen = [0u8; 6];
        for a in args {
            if let Some(n) = seen.get_mut(a.index()) {
                *n += 1;
            }
        }
        // Conditions are checked even when skipped, so that a bad one is always an error.
        let conds = args
            .iter()
            .map(condition)
            .collect::<crate::Result<Vec<_>>>()?;
        // One argument tested twice: each condition is a rule of its own (runc's rule).
        let groups: Vec<Vec<ScmpArgCompare>> = if seen.iter().any(|&n| n > 1) {
            conds.into_iter().map(|c| vec![c]).collect()
        } else {
            vec![conds]
        };
        if act == default {
            continue;
        }
        for name in sc.names() {
            // Named as the native table does; libseccomp translates for each architecture.
            let Ok(nr) = ScmpSyscall::from_name(name) else {
                continue;
            };
            if decided.contains(&nr.as_raw_syscall()) {
                continue;
            }
            for g in &groups {
                if g.is_empty() {
                    ctx.add_rule(act, nr)
                } else {
                    ctx.add_rule_conditional(act, nr, g)
                }
                .map_err(|e| invalid(format!("adding the rule for {name}: {e}")))?;
            }
            if groups.iter().any(|g| g.is_empty()) {
                decided.insert(nr.as_raw_syscall());
            }
        }
    }
    export(&ctx)
}

/// The filter's BPF program, as libseccomp would load it.
fn export(ctx: &ScmpFilterContext) -> crate::Result<Vec<libc::sock_filter>> {
    let io = |what: &'static str| move |e: std::io::Error| crate::Error::io(what, e);
    // SAFETY: memfd_create with a NUL-terminated name; the result is checked below.
    let fd = unsafe { libc::memfd_create(c"berth-seccomp".as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return Err(io("creating a memfd for the seccomp filter")(
            std::io::Error::last_os_error(),
        ));
    }
    // SAFETY: `fd` was just opened and is owned by nothing else.
    let mut file = std::fs::File::from(unsafe { OwnedFd::from_raw_fd(fd) });
    ctx.export_bpf(&file)
        .map_err(|e| invalid(format!("exporting the filter: {e}")))?;
    let mut bytes = Vec::new();
    file.rewind()
        .and_then(|()| file.read_to_end(&mut bytes))
        .map_err(io("reading the seccomp filter"))?;
    const INS: usize = std::mem::size_of::<libc::sock_filter>();
    if bytes.len() % INS != 0 {
        return Err(invalid("libseccomp exported a partial instruction"));
    }
    if bytes.len() / INS > MAX_INSNS {
        return Err(invalid(format!(
            "the profile compiles to {} BPF instructions, more than the kernel's {MAX_INSNS}",
            bytes.len() / INS
        )));
    }
    Ok(bytes
        .chunks_exact(INS)
        .map(|c| libc::sock_filter {
            code: u16::from_ne_bytes([c[0], c[1]]),
            jt: c[2],
            jf: c[3],
            k: u32::from_ne_bytes([c[4], c[5], c[6], c[7]]),
        })
        .collect())
}

/// The kernel's limit on a filter's length (BPF_MAXINSNS).
const MAX_INSNS: usize = 4096;

/// A compiled filter, ready to install: compiled by the shim once per container, before it
/// forks the init (libseccomp allocates; the child only makes the one system call), and
/// installed again as is for each exec.
#[derive(Clone, Debug)]
pub struct Filter {
    prog: Vec<libc::sock_filter>,
    flags: libc::c_ulong,
}

impl Filter {
    /// Compile `s` for this machine's architecture.
    pub fn new(s: &LinuxSeccomp) -> crate::Result<Filter> {
        let prog = compile(s)?;
        u16::try_from(prog.len()).map_err(|_| invalid("the filter is too long"))?;
        let mut flags: libc::c_ulong = 0;
        for f in s.flags().as_deref().unwrap_or(&[]) {
            flags |= match f {
                LinuxSeccompFilterFlag::SeccompFilterFlagLog => 2,
                LinuxSeccompFilterFlag::SeccompFilterFlagSpecAllow => 4,
                // TSYNC: the caller is single-threaded; the others need a listener.
                _ => 0,
            };
        }
        Ok(Filter { prog, flags })
    }

    /// Install the filter for the calling thread (inherited by its children and kept across
    /// execve). Needs CAP_SYS_ADMIN or no_new_privs: call it before dropping capabilities.
    pub fn install(&self) -> crate::Result<()> {
        let fprog = libc::sock_fprog {
            // `new` checked that the length fits.
            len: self.prog.len() as u16,
            filter: self.prog.as_ptr() as *mut libc::sock_filter,
        };
        // SAFETY: `fprog` points at `self.prog`, which outlives the call; the kernel copies
        // it and does not write through the pointer.
        let r = unsafe {
            libc::syscall(
                libc::SYS_seccomp,
                1 as libc::c_ulong, // SECCOMP_SET_MODE_FILTER
                self.flags,
                &fprog as *const libc::sock_fprog,
            )
        };
        if r != 0 {
            return Err(crate::Error::io(
                "installing the seccomp filter",
                std::io::Error::last_os_error(),
            ));
        }
        Ok(())
    }
}

/// A compiled filter as the daemon hands it to the shim (in berth.json): each instruction
/// packed in one number (code, jt, jf, k from the high bits down).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Packed {
    pub flags: libc::c_ulong,
    pub prog: Vec<u64>,
}

impl Filter {
    /// The filter as berth.json carries it.
    pub fn pack(&self) -> Packed {
        let prog = self
            .prog
            .iter()
            .map(|i| {
                (u64::from(i.code) << 48)
                    | (u64::from(i.jt) << 40)
                    | (u64::from(i.jf) << 32)
                    | u64::from(i.k)
            })
            .collect();
        Packed {
            flags: self.flags,
            prog,
        }
    }

    /// A filter [`Filter::pack`] packed.
    pub fn unpack(p: &Packed) -> crate::Result<Filter> {
        if p.prog.is_empty() || p.prog.len() > MAX_INSNS {
            return Err(invalid(format!(
                "a packed filter of {} instructions",
                p.prog.len()
            )));
        }
        let prog = p
            .prog
            .iter()
            .map(|&i| libc::sock_filter {
                code: (i >> 48) as u16,
                jt: (i >> 40) as u8,
                jf: (i >> 32) as u8,
                k: i as u32,
            })
            .collect();
        Ok(Filter {
            prog,
            flags: p.flags,
        })
    }
}

/// `s` compiled for this machine, packed: once per `key` (what `s` is made of) in this
/// process; the daemon starts most containers with a handful of profiles.
pub fn compile_cached(key: String, s: &LinuxSeccomp) -> crate::Result<Packed> {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex, OnceLock};
    /// More profiles than that at once is unusual: the cache starts over.
    const MAX: usize = 64;
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<Packed>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let lock = || cache.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(p) = lock().get(&key) {
        return Ok(Packed::clone(p));
    }
    let packed = Filter::new(s)?.pack();
    let mut map = lock();
    if map.len() >= MAX {
        map.clear();
    }
    map.insert(key, Arc::new(packed.clone()));
    Ok(packed)
}

/// Set no_new_privs: execve can no longer grant privileges (setuid bits, file caps).
pub fn no_new_privs() -> crate::Result<()> {
    // SAFETY: plain prctl with integer arguments.
    let r = unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) };
    if r != 0 {
        return Err(crate::Error::io(
            "setting no_new_privs",
            std::io::Error::last_os_error(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
    const AUDIT_ARCH_I386: u32 = 0x4000_0003;
    const AUDIT_ARCH_AARCH64: u32 = 0xc000_00b7;
    const AUDIT_ARCH_ARM: u32 = 0x4000_0028;
    const X32_SYSCALL_BIT: u32 = 0x4000_0000;
    const RET_ALLOW: u32 = libc::SECCOMP_RET_ALLOW;
    const RET_ERRNO: u32 = libc::SECCOMP_RET_ERRNO;
    const EPERM: u32 = RET_ERRNO | libc::EPERM as u32;

    /// Run `prog` as the kernel would for one call.
    fn run(prog: &[libc::sock_filter], arch: u32, nr: u32, args: [u64; 6]) -> u32 {
        let mut data = Vec::with_capacity(64);
        data.extend_from_slice(&nr.to_ne_bytes());
        data.extend_from_slice(&arch.to_ne_bytes());
        data.extend_from_slice(&0u64.to_ne_bytes());
        for a in args {
            data.extend_from_slice(&a.to_ne_bytes());
        }
        let (mut acc, mut x, mut mem) = (0u32, 0u32, [0u32; 16]);
        let mut pc = 0usize;
        loop {
            assert!(pc < prog.len(), "ran off the end");
            let i = prog[pc];
            pc += 1;
            let k = i.k;
            match i.code {
                0x20 => {
                    let o = k as usize;
                    acc = u32::from_ne_bytes(data[o..o + 4].try_into().unwrap());
                }
                0x00 => acc = k,
                0x60 => acc = mem[k as usize],
                0x61 => x = mem[k as usize],
                0x02 => mem[k as usize] = acc,
                0x03 => mem[k as usize] = x,
                0x07 => x = acc,
                0x87 => acc = x,
                0x54 => acc &= k,
                0x5c => acc &= x,
                0x06 => return k,
                0x16 => return acc,
                0x05 => pc += k as usize,
                c => {
                    let taken = match c {
                        0x15 => acc == k,
                        0x25 => acc > k,
                        0x35 => acc >= k,
                        0x45 => acc & k != 0,
                        0x1d => acc == x,
                        0x2d => acc > x,
                        0x3d => acc >= x,
                        _ => panic!("unknown opcode {c:#x}"),
                    };
                    pc += usize::from(if taken { i.jt } else { i.jf });
                }
            }
        }
    }

    fn nr_for(arch: ScmpArch, name: &str) -> u32 {
        let n = ScmpSyscall::from_name_by_arch(name, arch)
            .unwrap()
            .as_raw_syscall();
        u32::try_from(n).unwrap_or_else(|_| panic!("{name} is not a call of {arch:?}"))
    }

    fn nr(name: &str) -> u32 {
        nr_for(ScmpArch::X8664, name)
    }

    fn x86(s: &LinuxSeccomp) -> Vec<libc::sock_filter> {
        compile_for(s, ScmpArch::X8664).unwrap()
    }

    #[test]
    fn default_profile_denies_what_docker_denies() {
        let none = x86(&default_profile(&[]).unwrap());
        let admin = x86(&default_profile(&["CAP_SYS_ADMIN".into()]).unwrap());
        let x = AUDIT_ARCH_X86_64;
        let call =
            |p: &[libc::sock_filter], name: &str, a0: u64| run(p, x, nr(name), [a0, 0, 0, 0, 0, 0]);
        assert_eq!(call(&none, "mount", 0), EPERM);
        assert_eq!(call(&none, "unshare", 0), EPERM);
        assert_eq!(call(&none, "keyctl", 0), EPERM);
        assert_eq!(call(&none, "mkdir", 0), RET_ALLOW);
        assert_eq!(call(&none, "clone3", 0), RET_ERRNO | libc::ENOSYS as u32);
        assert_eq!(call(&none, "clone", 0x0001_0011), RET_ALLOW);
        assert_eq!(call(&none, "clone", 0x2000_0011), EPERM);
        assert_eq!(call(&admin, "mount", 0), RET_ALLOW);
        assert_eq!(call(&admin, "clone", 0x2000_0011), RET_ALLOW);
        assert_eq!(call(&admin, "keyctl", 0), EPERM, "keyctl stays refused");
        // Other ABIs are refused.
        assert_eq!(run(&none, AUDIT_ARCH_I386, 39, [0; 6]), EPERM);
        assert_eq!(run(&none, x, X32_SYSCALL_BIT | 39, [0; 6]), EPERM);
        // Every call of the table is allowed or refused as the denylist says.
        for n in 0..460u32 {
            let Ok(name) = ScmpSyscall::from(n as i32).get_name_by_arch(ScmpArch::X8664) else {
                continue;
            };
            let want = match name.as_str() {
                "clone3" => RET_ERRNO | libc::ENOSYS as u32,
                n if DENY.iter().any(|(_, names)| names.contains(&n)) => EPERM,
                _ => RET_ALLOW,
            };
            assert_eq!(run(&none, x, n, [0; 6]), want, "{name}");
        }
    }

    #[test]
    fn default_profile_applies_on_aarch64_too() {
        let arm = ScmpArch::Aarch64;
        let none = compile_for(&default_profile(&[]).unwrap(), arm).unwrap();
        let admin = compile_for(&default_profile(&["CAP_SYS_ADMIN".into()]).unwrap(), arm).unwrap();
        let a = AUDIT_ARCH_AARCH64;
        let call = |p: &[libc::sock_filter], name: &str, a0: u64| {
            run(p, a, nr_for(arm, name), [a0, 0, 0, 0, 0, 0])
        };
        // aarch64's own numbers (not x86_64's).
        assert_eq!((nr_for(arm, "unshare"), nr_for(arm, "keyctl")), (97, 219));
        assert_eq!(call(&none, "unshare", 0), EPERM);
        assert_eq!(call(&none, "keyctl", 0), EPERM);
        assert_eq!(call(&none, "mount", 0), EPERM);
        assert_eq!(call(&none, "setns", 0), EPERM);
        assert_eq!(call(&none, "mkdirat", 0), RET_ALLOW);
        assert_eq!(call(&none, "write", 0), RET_ALLOW);
        assert_eq!(call(&none, "clone3", 0), RET_ERRNO | libc::ENOSYS as u32);
        assert_eq!(call(&none, "clone", 0x0001_0011), RET_ALLOW);
        assert_eq!(call(&none, "clone", 0x1000_0011), EPERM);
        assert_eq!(call(&admin, "unshare", 0), RET_ALLOW);
        assert_eq!(call(&admin, "keyctl", 0), EPERM);
        // arm32 calls and x86_64 calls are refused.
        assert_eq!(run(&none, AUDIT_ARCH_ARM, 4, [0; 6]), EPERM);
        assert_eq!(run(&none, AUDIT_ARCH_X86_64, 1, [0; 6]), EPERM);
    }

    fn profile(json: &str) -> LinuxSeccomp {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn packed_filters_round_trip_and_are_compiled_once_per_key() {
        let s = default_profile(&[]).unwrap();
        let f = Filter::new(&s).unwrap();
        let packed = f.pack();
        let back = Filter::unpack(&packed).unwrap();
        let insns = |f: &Filter| -> Vec<(u16, u8, u8, u32)> {
            f.prog.iter().map(|i| (i.code, i.jt, i.jf, i.k)).collect()
        };
        assert_eq!(insns(&back), insns(&f));
        assert_eq!(back.flags, f.flags);
        let json = serde_json::to_string(&packed).unwrap();
        assert_eq!(serde_json::from_str::<Packed>(&json).unwrap(), packed);
        assert!(
            Filter::unpack(&Packed {
                flags: 0,
                prog: vec![]
            })
            .is_err()
        );

        let key = format!("test {:?}", std::thread::current().id());
        assert_eq!(compile_cached(key.clone(), &s).unwrap(), packed);
        // The same key answers from the cache; another key compiles its own profile.
        let other = profile(
            r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO"}]}"#,
        );
        assert_eq!(compile_cached(key.clone(), &other).unwrap(), packed);
        let own = compile_cached(format!("{key} other"), &other).unwrap();
        assert_ne!(own, packed);
        assert_eq!(own, Filter::new(&other).unwrap().pack());
    }

    #[test]
    fn argument_conditions_compare_64_bits() {
        let p = x86(&profile(
            r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[
                {"names":["write"],"action":"SCMP_ACT_ERRNO","errnoRet":5,"args":[{"index":2,"value":4294967296,"op":"SCMP_CMP_GT"}]},
                {"names":["read"],"action":"SCMP_ACT_ERRNO","args":[{"index":0,"value":3,"op":"SCMP_CMP_LE"},{"index":1,"value":255,"valueTwo":16,"op":"SCMP_CMP_MASKED_EQ"}]},
                {"names":["close"],"action":"SCMP_ACT_KILL_PROCESS","args":[{"index":0,"value":7,"op":"SCMP_CMP_NE"}]},
                {"names":["dup"],"action":"SCMP_ACT_TRAP","args":[{"index":0,"value":1,"op":"SCMP_CMP_LT"},{"index":0,"value":9,"op":"SCMP_CMP_GE"}]},
                {"names":["no_such_call","getpid"],"action":"SCMP_ACT_LOG","args":[{"index":5,"value":1,"op":"SCMP_CMP_EQ"}]}
            ]}"#,
        ));
        let x = AUDIT_ARCH_X86_64;
        let w = |n: u64| run(&p, x, nr("write"), [1, 0, n, 0, 0, 0]);
        assert_eq!(w(4_294_967_296), RET_ALLOW);
        assert_eq!(w(4_294_967_297), RET_ERRNO | 5);
        assert_eq!(w(8_589_934_592), RET_ERRNO | 5);
        assert_eq!(w(u32::MAX as u64 + 0x1_0000_0000), RET_ERRNO | 5);
        assert_eq!(w(u32::MAX as u64), RET_ALLOW);
        let r = |a0: u64, a1: u64| run(&p, x, nr("read"), [a0, a1, 0, 0, 0, 0]);
        assert_eq!(r(3, 0x10), EPERM);
        assert_eq!(r(2, 0x110), EPERM);
        assert_eq!(r(2, 0x1f), RET_ALLOW);
        assert_eq!(r(4, 0x10), RET_ALLOW);
        assert_eq!(r(3, 0x20), RET_ALLOW);
        assert_eq!(r(1 << 32, 0x10), RET_ALLOW);
        let c = |a0: u64| run(&p, x, nr("close"), [a0, 0, 0, 0, 0, 0]);
        assert_eq!(c(7), RET_ALLOW);
        assert_eq!(c(8), libc::SECCOMP_RET_KILL_PROCESS);
        assert_eq!(c(7 | 1 << 32), libc::SECCOMP_RET_KILL_PROCESS);
        // Same index twice: either condition (runc's rule).
        let d = |a0: u64| run(&p, x, nr("dup"), [a0, 0, 0, 0, 0, 0]);
        assert_eq!(d(0), libc::SECCOMP_RET_TRAP);
        assert_eq!(d(5), RET_ALLOW);
        assert_eq!(d(9), libc::SECCOMP_RET_TRAP);
        let g = |a5: u64| run(&p, x, nr("getpid"), [0, 0, 0, 0, 0, a5]);
        assert_eq!(g(1), libc::SECCOMP_RET_LOG);
        assert_eq!(g(2), RET_ALLOW);
        // Every conditional jump lands inside the program.
        for (i, ins) in p.iter().enumerate() {
            if ins.code & 0x07 == 0x05 && ins.code != 0x05 {
                assert!(i + 1 + (ins.jt.max(ins.jf) as usize) < p.len());
            }
        }
    }

    #[test]
    fn default_errno_and_first_match() {
        let p = x86(&profile(
            r#"{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":38,"syscalls":[
                {"names":["mkdir"],"action":"SCMP_ACT_ERRNO"},
                {"names":["mkdir","getpid"],"action":"SCMP_ACT_ALLOW"},
                {"names":["getppid"],"action":"SCMP_ACT_ERRNO","errnoRet":38}
            ]}"#,
        ));
        let x = AUDIT_ARCH_X86_64;
        assert_eq!(run(&p, x, nr("mkdir"), [0; 6]), EPERM);
        assert_eq!(run(&p, x, nr("getpid"), [0; 6]), RET_ALLOW);
        assert_eq!(run(&p, x, nr("getppid"), [0; 6]), RET_ERRNO | 38);
        assert_eq!(run(&p, x, nr("write"), [0; 6]), RET_ERRNO | 38);
        let notify = profile(r#"{"defaultAction":"SCMP_ACT_NOTIFY"}"#);
        assert!(compile(&notify).unwrap_err().to_string().contains("NOTIFY"));
        let bad = profile(
            r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["read"],"action":"SCMP_ACT_ERRNO","args":[{"index":6,"value":1,"op":"SCMP_CMP_EQ"}]}]}"#,
        );
        assert!(compile(&bad).unwrap_err().to_string().contains("index 6"));
    }

    #[test]
    fn conditional_rules_then_one_without() {
        // Docker's profiles list a call with conditions and then, for a capability, without.
        let p = x86(&profile(
            r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[
                {"names":["personality"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":8,"op":"SCMP_CMP_EQ"}]},
                {"names":["personality"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":0,"op":"SCMP_CMP_EQ"}]},
                {"names":["socket"],"action":"SCMP_ACT_ERRNO","errnoRet":22,"args":[{"index":0,"value":16,"op":"SCMP_CMP_EQ"}]},
                {"names":["socket"],"action":"SCMP_ACT_ALLOW"}
            ]}"#,
        ));
        let x = AUDIT_ARCH_X86_64;
        let pers = |a0: u64| run(&p, x, nr("personality"), [a0, 0, 0, 0, 0, 0]);
        assert_eq!((pers(8), pers(0), pers(3)), (RET_ALLOW, RET_ALLOW, EPERM));
        let sock = |a0: u64| run(&p, x, nr("socket"), [a0, 0, 0, 0, 0, 0]);
        // As with runc (libseccomp): the rule without conditions replaces the earlier ones.
        assert_eq!((sock(16), sock(2)), (RET_ALLOW, RET_ALLOW));
    }
}
