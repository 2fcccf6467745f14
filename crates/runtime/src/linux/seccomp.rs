//! Seccomp: the OCI `linux.seccomp` section compiled to a classic-BPF program for x86_64,
//! and installed.
//!
//! The compiler reads rules in order, first match wins (rules with the default action are
//! skipped, as runc does). Each rule's names become `jeq nr` tests; argument conditions are
//! 64-bit comparisons (`SCMP_CMP_EQ/NE/LT/LE/GT/GE/MASKED_EQ`) on the two 32-bit halves of
//! `seccomp_data.args[i]`, all of a rule's conditions must hold (when one argument index is
//! tested twice, each condition becomes a rule of its own, as runc does). Names this kernel
//! table does not know are ignored (as runc and libseccomp do for other architectures'
//! calls). Only the x86_64 system call table is filtered: calls through another ABI (i386
//! `int 0x80`, x32) are refused with EPERM whatever the profile says.
//!
//! [`default_profile`] is Docker's default profile as Berth applies it: since Docker's is an
//! allowlist whose unlisted calls the kernel already refuses without privileges, Berth uses
//! the equivalent denylist for x86_64 — the calls Docker refuses to a container without the
//! matching capability (mount, unshare, setns, keyctl, bpf, kexec, modules, clock setting,
//! ...), namespace-creating `clone` flags, and `clone3` with ENOSYS (so libcs fall back to
//! `clone`, whose flags can be checked), lifted by the capabilities Docker lifts them for.

use oci_spec::runtime::{
    Arch, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArg, LinuxSeccompArgBuilder,
    LinuxSeccompBuilder, LinuxSeccompFilterFlag, LinuxSeccompOperator, LinuxSyscall,
    LinuxSyscallBuilder,
};

use super::syscalls_x86_64;

// Classic BPF opcodes (linux/filter.h) and seccomp return values (linux/seccomp.h).
/// BPF_LD | BPF_W | BPF_ABS (BPF_LD and BPF_W are 0).
const BPF_LD_W_ABS: u16 = 0x20;
const BPF_ALU_AND_K: u16 = 0x04 | 0x50;
const BPF_JMP_JEQ_K: u16 = 0x05 | 0x10;
const BPF_JMP_JGT_K: u16 = 0x05 | 0x20;
const BPF_JMP_JGE_K: u16 = 0x05 | 0x30;
const BPF_RET_K: u16 = 0x06;
const RET_KILL_PROCESS: u32 = 0x8000_0000;
const RET_KILL_THREAD: u32 = 0;
const RET_TRAP: u32 = 0x0003_0000;
const RET_ERRNO: u32 = 0x0005_0000;
const RET_TRACE: u32 = 0x7ff0_0000;
const RET_LOG: u32 = 0x7ffc_0000;
const RET_ALLOW: u32 = 0x7fff_0000;
const RET_DATA: u32 = 0x0000_ffff;
const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
const X32_SYSCALL_BIT: u32 = 0x4000_0000;
/// The kernel's limit on a filter's length (BPF_MAXINSNS).
const MAX_INSNS: usize = 4096;
// Offsets in struct seccomp_data.
const OFF_NR: u32 = 0;
const OFF_ARCH: u32 = 4;
const OFF_ARGS: u32 = 16;

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
        // clone: refuse namespace flags (x86_64: flags are the first argument).
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
        .architectures(vec![Arch::ScmpArchX86_64])
        .syscalls(syscalls)
        .build()
        .map_err(invalid)
}

/// The seccomp return value for an action.
fn ret_value(action: LinuxSeccompAction, errno: Option<u32>) -> crate::Result<u32> {
    use LinuxSeccompAction as A;
    Ok(match action {
        A::ScmpActKill | A::ScmpActKillThread => RET_KILL_THREAD,
        A::ScmpActKillProcess => RET_KILL_PROCESS,
        A::ScmpActTrap => RET_TRAP,
        A::ScmpActErrno => RET_ERRNO | (errno.unwrap_or(libc::EPERM as u32) & RET_DATA),
        A::ScmpActTrace => RET_TRACE | (errno.unwrap_or(libc::EPERM as u32) & RET_DATA),
        A::ScmpActLog => RET_LOG,
        A::ScmpActAllow => RET_ALLOW,
        A::ScmpActNotify => {
            return Err(invalid(
                "SCMP_ACT_NOTIFY needs a seccomp agent, which Berth does not support",
            ));
        }
    })
}

/// A jump target while a rule's block is assembled.
#[derive(Clone, Copy)]
enum Target {
    /// The next instruction.
    Next,
    /// The end of the current condition: it holds.
    Pass,
    /// The end of the rule's block: the rule does not apply.
    Fail,
}

struct Ins {
    code: u16,
    k: u32,
    jt: Target,
    jf: Target,
}

fn st(code: u16, k: u32) -> Ins {
    Ins {
        code,
        k,
        jt: Target::Next,
        jf: Target::Next,
    }
}

fn jmp(code: u16, k: u32, jt: Target, jf: Target) -> Ins {
    Ins { code, k, jt, jf }
}

/// Instructions testing one 64-bit argument condition.
fn condition(arg: &LinuxSeccompArg) -> crate::Result<Vec<Ins>> {
    use LinuxSeccompOperator as Op;
    use Target::{Fail, Next, Pass};
    let idx = arg.index();
    if idx > 5 {
        return Err(invalid(format!(
            "argument index {idx} is out of range (0 to 5)"
        )));
    }
    let lo_off = OFF_ARGS + 8 * idx as u32;
    let hi_off = lo_off + 4;
    let (v_hi, v_lo) = ((arg.value() >> 32) as u32, arg.value() as u32);
    Ok(match arg.op() {
        Op::ScmpCmpEq => vec![
            st(BPF_LD_W_ABS, hi_off),
            jmp(BPF_JMP_JEQ_K, v_hi, Next, Fail),
            st(BPF_LD_W_ABS, lo_off),
            jmp(BPF_JMP_JEQ_K, v_lo, Next, Fail),
        ],
        Op::ScmpCmpNe => vec![
            st(BPF_LD_W_ABS, hi_off),
            jmp(BPF_JMP_JEQ_K, v_hi, Next, Pass),
            st(BPF_LD_W_ABS, lo_off),
            jmp(BPF_JMP_JEQ_K, v_lo, Fail, Next),
        ],
        Op::ScmpCmpMaskedEq => {
            let two = arg.value_two().unwrap_or(0);
            vec![
                st(BPF_LD_W_ABS, hi_off),
                st(BPF_ALU_AND_K, v_hi),
                jmp(BPF_JMP_JEQ_K, (two >> 32) as u32, Next, Fail),
                st(BPF_LD_W_ABS, lo_off),
                st(BPF_ALU_AND_K, v_lo),
                jmp(BPF_JMP_JEQ_K, two as u32, Next, Fail),
            ]
        }
        // Greater: the high word decides unless equal, then the low word.
        Op::ScmpCmpGt | Op::ScmpCmpGe => vec![
            st(BPF_LD_W_ABS, hi_off),
            jmp(BPF_JMP_JGT_K, v_hi, Pass, Next),
            jmp(BPF_JMP_JEQ_K, v_hi, Next, Fail),
            st(BPF_LD_W_ABS, lo_off),
            jmp(
                if arg.op() == Op::ScmpCmpGt {
                    BPF_JMP_JGT_K
                } else {
                    BPF_JMP_JGE_K
                },
                v_lo,
                Next,
                Fail,
            ),
        ],
        // Less: the negation of greater-or-equal (LT) or greater (LE).
        Op::ScmpCmpLt | Op::ScmpCmpLe => vec![
            st(BPF_LD_W_ABS, hi_off),
            jmp(BPF_JMP_JGT_K, v_hi, Fail, Next),
            jmp(BPF_JMP_JEQ_K, v_hi, Next, Pass),
            st(BPF_LD_W_ABS, lo_off),
            jmp(
                if arg.op() == Op::ScmpCmpLt {
                    BPF_JMP_JGE_K
                } else {
                    BPF_JMP_JGT_K
                },
                v_lo,
                Fail,
                Next,
            ),
        ],
    })
}

/// A run of instructions with symbolic jumps: `Pass` goes to the end of the condition the
/// jump is in (the first of `pass_ends` after it), `Fail` to `fail_at` (which may be the
/// block's length: the next block).
struct Block {
    ins: Vec<Ins>,
    pass_ends: Vec<usize>,
    fail_at: usize,
}

/// The prelude: calls through another ABI than x86_64 (i386, x32) are refused with EPERM;
/// x86_64 calls continue with their number in the accumulator.
fn prelude() -> Block {
    Block {
        ins: vec![
            st(BPF_LD_W_ABS, OFF_ARCH),
            jmp(BPF_JMP_JEQ_K, AUDIT_ARCH_X86_64, Target::Next, Target::Pass),
            st(BPF_LD_W_ABS, OFF_NR),
            jmp(BPF_JMP_JGE_K, X32_SYSCALL_BIT, Target::Pass, Target::Fail),
            // Pass lands here: refuse.
            st(BPF_RET_K, RET_ERRNO | libc::EPERM as u32),
        ],
        pass_ends: vec![4],
        fail_at: 5,
    }
}

/// One rule for system call `nr` with conditions `args` (all must hold): jump past it
/// unless the call and its arguments match, else return `ret`. Leaves the call number in
/// the accumulator for the next block.
fn rule_block(nr: u32, args: &[LinuxSeccompArg], ret: u32) -> crate::Result<Block> {
    let mut ins = vec![jmp(BPF_JMP_JEQ_K, nr, Target::Next, Target::Fail)];
    if args.is_empty() {
        ins.push(st(BPF_RET_K, ret));
        return Ok(Block {
            ins,
            pass_ends: vec![],
            fail_at: 2,
        });
    }
    let mut pass_ends = Vec::new();
    for a in args {
        ins.extend(condition(a)?);
        pass_ends.push(ins.len());
    }
    ins.push(st(BPF_RET_K, ret));
    // The failure target reloads the call number the conditions replaced.
    let fail_at = ins.len();
    ins.push(st(BPF_LD_W_ABS, OFF_NR));
    Ok(Block {
        ins,
        pass_ends,
        fail_at,
    })
}

/// Flatten blocks into the program, resolving symbolic jumps to relative offsets.
fn assemble(blocks: Vec<Block>) -> crate::Result<Vec<libc::sock_filter>> {
    let mut prog = Vec::new();
    for b in blocks {
        for (i, ins) in b.ins.iter().enumerate() {
            let off = |t: Target| -> crate::Result<u8> {
                let to = match t {
                    Target::Next => return Ok(0),
                    Target::Fail => b.fail_at,
                    Target::Pass => b
                        .pass_ends
                        .iter()
                        .copied()
                        .find(|&e| e > i)
                        .ok_or_else(|| invalid("internal: condition without an end"))?,
                };
                u8::try_from(to - (i + 1))
                    .map_err(|_| invalid("a rule has too many argument conditions"))
            };
            prog.push(libc::sock_filter {
                code: ins.code,
                jt: off(ins.jt)?,
                jf: off(ins.jf)?,
                k: ins.k,
            });
        }
    }
    Ok(prog)
}

/// Compile an OCI seccomp section to a BPF program for x86_64.
pub fn compile(s: &LinuxSeccomp) -> crate::Result<Vec<libc::sock_filter>> {
    let default_ret = ret_value(s.default_action(), s.default_errno_ret())?;
    let mut blocks = vec![prelude()];
    for sc in s.syscalls().as_deref().unwrap_or(&[]) {
        let ret = ret_value(sc.action(), sc.errno_ret())?;
        let args = sc.args().as_deref().unwrap_or(&[]);
        let mut seen = [0u8; 6];
        for a in args {
            if let Some(n) = seen.get_mut(a.index()) {
                *n += 1;
            }
        }
        // One argument tested twice: each condition is a rule of its own (runc's rule).
        let groups: Vec<Vec<LinuxSeccompArg>> = if seen.iter().any(|&n| n > 1) {
            args.iter().map(|a| vec![*a]).collect()
        } else {
            vec![args.to_vec()]
        };
        // Conditions are checked even when skipped, so that a bad one is always an error.
        for g in &groups {
            rule_block(0, g, ret)?;
        }
        if ret == default_ret {
            continue;
        }
        for name in sc.names() {
            let Some(nr) = syscalls_x86_64::number(name) else {
                continue;
            };
            for g in &groups {
                blocks.push(rule_block(nr, g, ret)?);
            }
        }
    }
    blocks.push(Block {
        ins: vec![st(BPF_RET_K, default_ret)],
        pass_ends: vec![],
        fail_at: 1,
    });
    let prog = assemble(blocks)?;
    if prog.len() > MAX_INSNS {
        return Err(invalid(format!(
            "the profile compiles to {} BPF instructions, more than the kernel's {MAX_INSNS}",
            prog.len()
        )));
    }
    Ok(prog)
}

/// Install the filter for the calling thread (inherited by its children and kept across
/// execve). Needs CAP_SYS_ADMIN or no_new_privs: call it before dropping capabilities.
pub fn install(s: &LinuxSeccomp) -> crate::Result<()> {
    let prog = compile(s)?;
    let mut flags: libc::c_ulong = 0;
    for f in s.flags().as_deref().unwrap_or(&[]) {
        flags |= match f {
            LinuxSeccompFilterFlag::SeccompFilterFlagLog => 2,
            LinuxSeccompFilterFlag::SeccompFilterFlagSpecAllow => 4,
            // TSYNC: the caller is single-threaded; the others need a listener.
            _ => 0,
        };
    }
    let fprog = libc::sock_fprog {
        len: prog.len() as u16,
        filter: prog.as_ptr() as *mut libc::sock_filter,
    };
    // SAFETY: `fprog` points at `prog`, which outlives the call; the kernel copies it.
    let r = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            1 as libc::c_ulong, // SECCOMP_SET_MODE_FILTER
            flags,
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

    /// Run `prog` as the kernel would for one call.
    fn run(prog: &[libc::sock_filter], arch: u32, nr: u32, args: [u64; 6]) -> u32 {
        let mut data = Vec::with_capacity(64);
        data.extend_from_slice(&nr.to_ne_bytes());
        data.extend_from_slice(&arch.to_ne_bytes());
        data.extend_from_slice(&0u64.to_ne_bytes());
        for a in args {
            data.extend_from_slice(&a.to_ne_bytes());
        }
        let mut acc = 0u32;
        let mut pc = 0usize;
        loop {
            let i = prog[pc];
            pc += 1;
            match i.code {
                BPF_LD_W_ABS => {
                    let o = i.k as usize;
                    acc = u32::from_ne_bytes(data[o..o + 4].try_into().unwrap());
                }
                BPF_ALU_AND_K => acc &= i.k,
                BPF_RET_K => return i.k,
                c => {
                    let taken = match c {
                        BPF_JMP_JEQ_K => acc == i.k,
                        BPF_JMP_JGT_K => acc > i.k,
                        BPF_JMP_JGE_K => acc >= i.k,
                        _ => panic!("unknown opcode {c:#x}"),
                    };
                    pc += usize::from(if taken { i.jt } else { i.jf });
                }
            }
            assert!(pc < prog.len(), "ran off the end");
        }
    }

    fn nr(name: &str) -> u32 {
        syscalls_x86_64::number(name).unwrap()
    }

    const EPERM: u32 = RET_ERRNO | libc::EPERM as u32;

    #[test]
    fn default_profile_denies_what_docker_denies() {
        let none = compile(&default_profile(&[]).unwrap()).unwrap();
        let admin = compile(&default_profile(&["CAP_SYS_ADMIN".into()]).unwrap()).unwrap();
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
        assert_eq!(run(&none, 0x4000_0003, 39, [0; 6]), EPERM);
        assert_eq!(run(&none, x, X32_SYSCALL_BIT | 39, [0; 6]), EPERM);
        // The names are the numbers the hand-written filter used.
        assert_eq!((nr("mount"), nr("_sysctl"), nr("kcmp")), (165, 156, 312));
        assert_eq!(nr("create_module"), 174);
    }

    fn profile(json: &str) -> LinuxSeccomp {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn argument_conditions_compare_64_bits() {
        let p = compile(&profile(
            r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[
                {"names":["write"],"action":"SCMP_ACT_ERRNO","errnoRet":5,"args":[{"index":2,"value":4294967296,"op":"SCMP_CMP_GT"}]},
                {"names":["read"],"action":"SCMP_ACT_ERRNO","args":[{"index":0,"value":3,"op":"SCMP_CMP_LE"},{"index":1,"value":255,"valueTwo":16,"op":"SCMP_CMP_MASKED_EQ"}]},
                {"names":["close"],"action":"SCMP_ACT_KILL_PROCESS","args":[{"index":0,"value":7,"op":"SCMP_CMP_NE"}]},
                {"names":["dup"],"action":"SCMP_ACT_TRAP","args":[{"index":0,"value":1,"op":"SCMP_CMP_LT"},{"index":0,"value":9,"op":"SCMP_CMP_GE"}]},
                {"names":["no_such_call","getpid"],"action":"SCMP_ACT_LOG","args":[{"index":5,"value":1,"op":"SCMP_CMP_EQ"}]}
            ]}"#,
        ))
        .unwrap();
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
        assert_eq!(c(8), RET_KILL_PROCESS);
        assert_eq!(c(7 | 1 << 32), RET_KILL_PROCESS);
        // Same index twice: either condition (runc's rule).
        let d = |a0: u64| run(&p, x, nr("dup"), [a0, 0, 0, 0, 0, 0]);
        assert_eq!(d(0), RET_TRAP);
        assert_eq!(d(5), RET_ALLOW);
        assert_eq!(d(9), RET_TRAP);
        let g = |a5: u64| run(&p, x, nr("getpid"), [0, 0, 0, 0, 0, a5]);
        assert_eq!(g(1), RET_LOG);
        assert_eq!(g(2), RET_ALLOW);
        // Every jump lands inside the program.
        for (i, ins) in p.iter().enumerate() {
            if ins.code & 0x07 == 0x05 {
                assert!(i + 1 + (ins.jt.max(ins.jf) as usize) < p.len());
            }
        }
    }

    #[test]
    fn default_errno_and_first_match() {
        let p = compile(&profile(
            r#"{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":38,"syscalls":[
                {"names":["mkdir"],"action":"SCMP_ACT_ERRNO"},
                {"names":["mkdir","getpid"],"action":"SCMP_ACT_ALLOW"},
                {"names":["getppid"],"action":"SCMP_ACT_ERRNO","errnoRet":38}
            ]}"#,
        ))
        .unwrap();
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
}
