//! Network bits the init needs: bringing the loopback interface up in a new net namespace.

use std::os::fd::AsRawFd;

use nix::sys::socket::{AddressFamily, SockFlag, SockType, socket};

use super::nix_err;

/// Set `lo` up (SIOCGIFFLAGS then SIOCSIFFLAGS with IFF_UP), as every runtime does for a
/// fresh network namespace.
pub fn loopback_up() -> crate::Result<()> {
    let sock = socket(
        AddressFamily::Inet,
        SockType::Datagram,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .map_err(|e| nix_err("creating socket for lo", e))?;
    // SAFETY: ifreq is plain old data; all-zero is a valid value.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in req.ifr_name.iter_mut().zip(b"lo\0") {
        *dst = *src as libc::c_char;
    }
    // SAFETY: SIOCGIFFLAGS reads the interface named in `req` and fills `ifru_flags`; `req`
    // is a valid, writable ifreq that outlives the call.
    let r = unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS, &mut req) };
    if r < 0 {
        return Err(crate::Error::io(
            "getting lo flags",
            std::io::Error::last_os_error(),
        ));
    }
    // SAFETY: SIOCGIFFLAGS just initialized the flags member of the union.
    unsafe {
        req.ifr_ifru.ifru_flags |= (libc::IFF_UP | libc::IFF_RUNNING) as libc::c_short;
    }
    // SAFETY: as above; SIOCSIFFLAGS only reads `req`.
    let r = unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFFLAGS, &req) };
    if r < 0 {
        return Err(crate::Error::io(
            "setting lo up",
            std::io::Error::last_os_error(),
        ));
    }
    Ok(())
}
