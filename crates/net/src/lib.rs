//! Berth's networks, as a library the engine calls: IP address management ([`ipam`]),
//! `-p` specs and host ports ([`ports`]), the files a container's resolver reads
//! ([`files`]).

pub mod dns;
pub mod files;
pub mod firewall;
pub mod ipam;
pub mod link;
pub mod ports;
