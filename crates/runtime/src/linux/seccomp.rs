//! The seccomp filter containers get by default: a classic-BPF program that refuses, with
//! EPERM, the system calls Docker's default profile refuses to a container without the
//! matching capability (mount, unshare, setns, keyctl, bpf, kexec, modules, clock
//! setting, ...), namespace-creating `clone` flags, and `clone3` with ENOSYS (so libcs fall
//! back to `clone`, whose flags can be checked), exactly as Docker's profile does.
//!
//! Docker's profile is an allowlist; this is the equivalent denylist for x86_64, where the
//! calls Docker does not list are ones the kernel already refuses without privileges.
//! Other architectures' system call tables (i386, x32) are refused outright so that they
//! cannot be used to go around the list.

use caps::Capability;

// Classic BPF opcodes (linux/filter.h) and seccomp return values (linux/seccomp.h).
/// BPF_LD | BPF_W | BPF_ABS (BPF_LD and BPF_W are 0).
const BPF_LD_W_ABS: u16 = 0x20;
const BPF_JMP_JEQ_K: u16 = 0x05 | 0x10;
const BPF_JMP_JGE_K: u16 = 0x05 | 0x30;
const BPF_JMP_JSET_K: u16 = 0x05 | 0x40;
const BPF_RET_K: u16 = 0x06;
const RET_ALLOW: u32 = 0x7fff_0000;
const RET_ERRNO: u32 = 0x0005_0000;
const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
const X32_SYSCALL_BIT: u32 = 0x4000_0000;
// Offsets in struct seccomp_data.
const OFF_NR: u32 = 0;
const OFF_ARCH: u32 = 4;
const OFF_ARG0_LO: u32 = 16;

/// clone flags that create namespaces.
const CLONE_NS_FLAGS: u32 = 0x0002_0000 // NEWNS
    | 0x0200_0000 // NEWCGROUP
    | 0x0400_0000 // NEWUTS
    | 0x0800_0000 // NEWIPC
    | 0x1000_0000 // NEWUSER
    | 0x2000_0000 // NEWPID
    | 0x4000_0000; // NEWNET

const SYS_CLONE: u32 = 56;
const SYS_CLONE3: u32 = 435;

/// System calls refused unless the container holds the capability (None: always).
const DENY: &[(Option<Capability>, &[u32])] = &[
    (
        Some(Capability::CAP_SYS_ADMIN),
        &[
            165, // mount
            166, // umount2
            155, // pivot_root
            272, // unshare
            308, // setns
            179, // quotactl
            167, // swapon
            168, // swapoff
            300, // fanotify_init
            212, // lookup_dcookie
            303, // name_to_handle_at
            321, // bpf
            298, // perf_event_open
            428, // open_tree
            429, // move_mount
            430, // fsopen
            431, // fsconfig
            432, // fsmount
            433, // fspick
            442, // mount_setattr
        ],
    ),
    (Some(Capability::CAP_DAC_READ_SEARCH), &[304]), // open_by_handle_at
    (
        Some(Capability::CAP_SYS_MODULE),
        &[175, 313, 176, 174, 177, 178],
    ),
    (Some(Capability::CAP_SYS_BOOT), &[169, 246, 320]), // reboot, kexec_load, kexec_file_load
    (Some(Capability::CAP_SYS_TIME), &[164, 227, 159, 305]), // settimeofday, clock_settime, adjtimex, clock_adjtime
    (Some(Capability::CAP_SYS_RAWIO), &[172, 173]),          // iopl, ioperm
    (Some(Capability::CAP_SYS_PACCT), &[163]),               // acct
    (Some(Capability::CAP_SYS_NICE), &[237, 238, 239, 256, 279]), // mbind, set/get_mempolicy, migrate_pages, move_pages
    (Some(Capability::CAP_SYSLOG), &[103]),                       // syslog
    (Some(Capability::CAP_SYS_TTY_CONFIG), &[153]),               // vhangup
    (Some(Capability::CAP_SYS_PTRACE), &[312]),                   // kcmp
    (
        None,
        &[
            250, // keyctl
            248, // add_key
            249, // request_key
            323, // userfaultfd
            134, // uselib
            136, // ustat
            139, // sysfs
            156, // _sysctl
            180, // nfsservctl
        ],
    ),
];

fn stmt(code: u16, k: u32) -> libc::sock_filter {
    libc::sock_filter {
        code,
        jt: 0,
        jf: 0,
        k,
    }
}

fn jump(code: u16, k: u32, jt: u8, jf: u8) -> libc::sock_filter {
    libc::sock_filter { code, jt, jf, k }
}

/// The filter program for a container holding `held` capabilities.
pub fn program(held: &dyn Fn(Capability) -> bool) -> Vec<libc::sock_filter> {
    let eperm = RET_ERRNO | libc::EPERM as u32;
    let admin = held(Capability::CAP_SYS_ADMIN);
    let mut p = vec![
        stmt(BPF_LD_W_ABS, OFF_ARCH),
        jump(BPF_JMP_JEQ_K, AUDIT_ARCH_X86_64, 1, 0),
        stmt(BPF_RET_K, eperm),
        stmt(BPF_LD_W_ABS, OFF_NR),
        jump(BPF_JMP_JGE_K, X32_SYSCALL_BIT, 0, 1),
        stmt(BPF_RET_K, eperm),
    ];
    for (cap, calls) in DENY {
        if cap.is_some_and(held) {
            continue;
        }
        for &nr in *calls {
            p.push(jump(BPF_JMP_JEQ_K, nr, 0, 1));
            p.push(stmt(BPF_RET_K, eperm));
        }
    }
    if !admin {
        p.push(jump(BPF_JMP_JEQ_K, SYS_CLONE3, 0, 1));
        p.push(stmt(BPF_RET_K, RET_ERRNO | libc::ENOSYS as u32));
        // clone: refuse namespace flags (x86_64: flags are the first argument).
        p.push(jump(BPF_JMP_JEQ_K, SYS_CLONE, 0, 3));
        p.push(stmt(BPF_LD_W_ABS, OFF_ARG0_LO));
        p.push(jump(BPF_JMP_JSET_K, CLONE_NS_FLAGS, 0, 1));
        p.push(stmt(BPF_RET_K, eperm));
    }
    p.push(stmt(BPF_RET_K, RET_ALLOW));
    p
}

/// Install the filter for the calling thread (inherited by its children and kept across
/// execve). Needs CAP_SYS_ADMIN or no_new_privs: call it before dropping capabilities.
pub fn install(held: &dyn Fn(Capability) -> bool) -> crate::Result<()> {
    let prog = program(held);
    let fprog = libc::sock_fprog {
        len: prog.len() as u16,
        filter: prog.as_ptr() as *mut libc::sock_filter,
    };
    // SAFETY: `fprog` points at `prog`, which outlives the call; the kernel copies it.
    let r = unsafe {
        libc::prctl(
            libc::PR_SET_SECCOMP,
            libc::SECCOMP_MODE_FILTER,
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

    #[test]
    fn capabilities_lift_their_part_of_the_list() {
        let none = program(&|_| false);
        let admin = program(&|c| c == Capability::CAP_SYS_ADMIN);
        let has = |p: &[libc::sock_filter], nr: u32| {
            p.iter().any(|i| i.code == BPF_JMP_JEQ_K && i.k == nr)
        };
        assert!(has(&none, 165) && has(&none, 272) && has(&none, SYS_CLONE3));
        assert!(!has(&admin, 165) && !has(&admin, 272) && !has(&admin, SYS_CLONE3));
        assert!(has(&admin, 250), "keyctl stays refused");
        // Every jump lands inside the program.
        for p in [&none, &admin] {
            for (i, ins) in p.iter().enumerate() {
                if ins.code & 0x07 == 0x05 {
                    assert!(i + 1 + (ins.jt.max(ins.jf) as usize) < p.len());
                }
            }
            assert_eq!(p.last().map(|i| i.k), Some(RET_ALLOW));
        }
    }
}
