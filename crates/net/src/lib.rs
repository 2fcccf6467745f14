//! Berth's networks, as a library below the engine (issue 13). Not wired into the engine
//! yet: this crate is what the engine will call.
//!
//! - [`ipam`]: [`ipam::Ipam`], every network's pools (default /16 free of the host's
//!   routes and of other pools, user subnets with `--ip-range` and `--gateway`, IPv6) and
//!   the addresses handed out, a serializable value the engine keeps in its store.
//! - [`ports`]: the docker CLI's `-p`/`-P` parser with its messages, and
//!   [`ports::PortAllocator`] for host ports the daemon picks.
//! - [`link`]: bridges and veth pairs through netlink ([`link::Netlink`]:
//!   [`link::RtNetlink`] on the `rtnetlink` crate, [`link::FakeNetlink`]); a container's
//!   namespace is given by path; [`link::in_netns`] runs a closure on a thread inside one.
//! - [`firewall`]: Berth's nftables table `inet berth` ([`firewall::Firewall`] over
//!   [`firewall::Nft`]: `nft -f -`, or a fake): masquerade, isolation, `--internal`,
//!   published ports as DNAT, the `user` chain.
//! - [`dns`]: the embedded DNS at 127.0.0.11 on hickory-proto, names from a
//!   [`dns::NameTable`] the engine fills.
//! - [`files`]: the `resolv.conf`, `hosts` and `hostname` a container gets.
//! - [`bridge`]: [`bridge::BridgeDriver`], the above put together for a bridge network:
//!   create/restore/remove a network, connect/disconnect a container, each step undone
//!   when a later one fails (unit-tested on the fakes).
//!
//! # How the engine is meant to call it
//!
//! Daemon start: `Firewall::init` (idempotent: the user chain, the sets and maps, hence
//! running containers' published ports, are kept), the [`ipam::Ipam`] read back from the
//! store; for each bridge network `Netlink::ensure_bridge` (kept if it exists) and
//! `Firewall::add_network` (idempotent); for each running container on a user network an
//! embedded DNS again ([`dns::bind_in_netns`] on `/proc/<pid>/ns/net`, [`dns::serve`]);
//! `Firewall::published_containers` against the records, unpublishing what no running
//! container owns (their `PortMap`s are in the records).
//!
//! Create a network: `Netlink::routes` → `Ipam::add_network` (persist) →
//! `Netlink::ensure_bridge` (gateway addresses; sysctl `net/ipv4/conf/<br>/route_localnet`
//! = 1 and `net/ipv4/ip_forward` = 1 through [`link::sysctl`]) → `Firewall::add_network`.
//!
//! Start a container (its namespace made by the runtime, as today; the shim stays
//! network-free): `Ipam::allocate` (honours `--ip`; persisted with the container's record
//! in one transaction) → [`files`] for `resolv.conf`/`hosts`/`hostname` →
//! `Netlink::attach` (veth, `eth0`, [`link::mac_for_ip`], routes) → `PortAllocator` and
//! `Firewall::publish` → on a user network, names into the [`dns::NameTable`] and the
//! embedded DNS in the container's namespace.
//!
//! Stop, in reverse: drop the DNS server and the names, `Firewall::unpublish` (exactly
//! what was published), `Netlink::delete_link` of the host veth (the peer goes with it;
//! it goes anyway when the namespace dies), `Ipam::release` (exactly once), persist.
//! Remove a network: `Firewall::remove_network`, `Netlink::delete_link` of the bridge,
//! `Ipam::remove_network`. Shutdown with no container left: `Firewall::teardown`.

pub mod bridge;
pub mod dns;
pub mod files;
pub mod firewall;
pub mod ipam;
pub mod link;
pub mod ports;
