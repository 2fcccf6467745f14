//! The embedded DNS server a container on a user-defined network finds at 127.0.0.11.
//!
//! The daemon opens a UDP and a TCP socket on 127.0.0.11:53 inside the container's
//! network namespace ([`bind_in_netns`]: a short-lived thread `setns`es and binds) and
//! serves them from its own runtime ([`serve`]); the shim and the container have nothing
//! to run. Names come from a [`NameTable`] the engine fills ([`MemoryTable`]): container
//! names, network aliases and short ids, per network, so a container resolves only the
//! names of the networks it is on. Everything else goes to an [`Upstream`] (the host's
//! resolvers, loopback ones replaced: [`crate::files::ResolvConf::external_nameservers`]),
//! forwarded from the daemon's namespace. Messages are read and written with hickory-proto.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use hickory_proto::op::{Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA, PTR};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::task::JoinHandle;

use crate::link::{LinkError, in_netns};

/// Docker's TTL for the names it serves.
pub const TTL: u32 = 600;
/// Where the embedded DNS listens in a container.
pub const ADDRESS: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 11)), 53);

/// What a DNS server of Berth's can fail at.
#[derive(Debug, thiserror::Error)]
pub enum DnsError {
    #[error(transparent)]
    Netns(#[from] LinkError),
    #[error("upstream {0}: {1}")]
    Upstream(SocketAddr, std::io::Error),
    #[error("no upstream resolver answered")]
    NoUpstream,
}

/// The names the embedded DNS answers, filled by the engine.
pub trait NameTable: Send + Sync {
    /// The addresses of `name` (lowercase, no trailing dot) on any of `networks`.
    fn lookup(&self, networks: &[String], name: &str) -> Vec<IpAddr>;
    /// The name of `ip` on any of `networks`.
    fn reverse(&self, networks: &[String], ip: IpAddr) -> Option<String>;
}

/// A [`NameTable`] in memory: per network, names (container name, aliases, short id) to
/// addresses. The engine adds a container's names at connect and removes them at
/// disconnect.
#[derive(Debug, Default)]
pub struct MemoryTable {
    // network -> name -> addresses; the first name registered for an address answers PTR.
    inner: RwLock<BTreeMap<String, Vec<(String, IpAddr)>>>,
}

impl MemoryTable {
    /// Registers `names` for `ips` on `network`.
    pub fn add(&self, network: &str, names: &[&str], ips: &[IpAddr]) {
        if let Ok(mut t) = self.inner.write() {
            let entries = t.entry(network.to_string()).or_default();
            for n in names {
                for ip in ips {
                    entries.push((n.to_ascii_lowercase(), *ip));
                }
            }
        }
    }

    /// Removes every name of `ips` on `network`.
    pub fn remove(&self, network: &str, ips: &[IpAddr]) {
        if let Ok(mut t) = self.inner.write()
            && let Some(entries) = t.get_mut(network)
        {
            entries.retain(|(_, ip)| !ips.contains(ip));
        }
    }
}

impl NameTable for MemoryTable {
    fn lookup(&self, networks: &[String], name: &str) -> Vec<IpAddr> {
        let Ok(t) = self.inner.read() else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for n in networks {
            for (entry, ip) in t.get(n).into_iter().flatten() {
                if entry == name && !out.contains(ip) {
                    out.push(*ip);
                }
            }
        }
        out
    }

    fn reverse(&self, networks: &[String], ip: IpAddr) -> Option<String> {
        let t = self.inner.read().ok()?;
        networks.iter().find_map(|n| {
            t.get(n)?
                .iter()
                .find(|(_, i)| *i == ip)
                .map(|(name, _)| name.clone())
        })
    }
}

/// Where queries for other names go.
pub trait Upstream: Send + Sync {
    /// Sends a query (wire format) and returns the answer.
    fn forward(
        &self,
        query: Vec<u8>,
        tcp: bool,
    ) -> impl Future<Output = Result<Vec<u8>, DnsError>> + Send;
}

/// The host's resolvers, tried in order, over UDP (TCP for queries that came over TCP),
/// from the daemon's namespace.
#[derive(Debug, Clone)]
pub struct NameServers {
    pub servers: Vec<SocketAddr>,
    pub timeout: Duration,
}

impl NameServers {
    async fn one(&self, server: SocketAddr, query: &[u8], tcp: bool) -> std::io::Result<Vec<u8>> {
        if tcp {
            let mut s = tokio::net::TcpStream::connect(server).await?;
            let len = u16::try_from(query.len()).map_err(std::io::Error::other)?;
            s.write_all(&len.to_be_bytes()).await?;
            s.write_all(query).await?;
            let mut l = [0u8; 2];
            s.read_exact(&mut l).await?;
            let mut buf = vec![0u8; usize::from(u16::from_be_bytes(l))];
            s.read_exact(&mut buf).await?;
            return Ok(buf);
        }
        let bind: SocketAddr = if server.is_ipv4() {
            "0.0.0.0:0"
        } else {
            "[::]:0"
        }
        .parse()
        .map_err(std::io::Error::other)?;
        let s = tokio::net::UdpSocket::bind(bind).await?;
        s.connect(server).await?;
        s.send(query).await?;
        let mut buf = vec![0u8; 65535];
        let n = s.recv(&mut buf).await?;
        buf.truncate(n);
        Ok(buf)
    }
}

impl Upstream for NameServers {
    async fn forward(&self, query: Vec<u8>, tcp: bool) -> Result<Vec<u8>, DnsError> {
        let mut last = DnsError::NoUpstream;
        for s in &self.servers {
            match tokio::time::timeout(self.timeout, self.one(*s, &query, tcp)).await {
                Ok(Ok(answer)) => return Ok(answer),
                Ok(Err(e)) => last = DnsError::Upstream(*s, e),
                Err(_) => last = DnsError::Upstream(*s, std::io::ErrorKind::TimedOut.into()),
            }
        }
        Err(last)
    }
}

/// One container's view: the networks it is on, the table, the upstream.
pub struct Resolver<T, U> {
    pub networks: Vec<String>,
    pub table: Arc<T>,
    pub upstream: Arc<U>,
}

impl<T: NameTable, U: Upstream> Resolver<T, U> {
    /// Answers one query (wire format); `None` for what deserves no answer (not a query).
    pub async fn handle(&self, query: &[u8], tcp: bool) -> Option<Vec<u8>> {
        let req = match Message::from_vec(query) {
            Ok(m) => m,
            Err(_) => {
                // Not parseable: FORMERR if there is at least an id to answer.
                let id = u16::from_be_bytes([*query.first()?, *query.get(1)?]);
                return Message::error_msg(id, OpCode::Query, ResponseCode::FormErr)
                    .to_vec()
                    .ok();
            }
        };
        if req.metadata.message_type != MessageType::Query {
            return None;
        }
        let q = req.queries.first()?.clone();
        let name = q
            .name()
            .to_ascii()
            .trim_end_matches('.')
            .to_ascii_lowercase();
        let local: Option<Vec<Record>> = match q.query_type() {
            RecordType::A | RecordType::AAAA => {
                let ips = self.table.lookup(&self.networks, &name);
                (!ips.is_empty()).then(|| {
                    ips.into_iter()
                        .filter_map(|ip| match (ip, q.query_type()) {
                            (IpAddr::V4(v4), RecordType::A) => Some(RData::A(A(v4))),
                            (IpAddr::V6(v6), RecordType::AAAA) => Some(RData::AAAA(AAAA(v6))),
                            _ => None,
                        })
                        .map(|rd| Record::from_rdata(q.name().clone(), TTL, rd))
                        .collect()
                })
            }
            RecordType::PTR => q
                .name()
                .parse_arpa_name()
                .ok()
                .and_then(|net| self.table.reverse(&self.networks, net.addr()))
                .and_then(|n| Name::from_ascii(format!("{n}.")).ok())
                .map(|n| {
                    vec![Record::from_rdata(
                        q.name().clone(),
                        TTL,
                        RData::PTR(PTR(n)),
                    )]
                }),
            _ => None,
        };
        let mut resp = Message::response(req.metadata.id, req.metadata.op_code);
        resp.metadata.recursion_desired = req.metadata.recursion_desired;
        resp.metadata.recursion_available = true;
        resp.add_query(q);
        match local {
            // A name of ours: its records (none of the asked type is an empty NOERROR).
            Some(records) => {
                resp.metadata.authoritative = true;
                resp.add_answers(records);
            }
            None => match self.upstream.forward(query.to_vec(), tcp).await {
                Ok(answer) => return Some(answer),
                Err(e) => {
                    tracing::debug!("embedded DNS: forwarding {name}: {e}");
                    resp.metadata.response_code = ResponseCode::ServFail;
                }
            },
        }
        resp.to_vec().ok()
    }
}

/// The sockets of one container's embedded DNS, bound inside its namespace.
pub struct DnsSockets {
    pub udp: std::net::UdpSocket,
    pub tcp: std::net::TcpListener,
}

/// Binds UDP and TCP `addr` (normally [`ADDRESS`]) in the network namespace at `netns`.
pub async fn bind_in_netns(netns: &Path, addr: SocketAddr) -> Result<DnsSockets, DnsError> {
    Ok(in_netns(netns, move || {
        let udp = std::net::UdpSocket::bind(addr)?;
        let tcp = std::net::TcpListener::bind(addr)?;
        udp.set_nonblocking(true)?;
        tcp.set_nonblocking(true)?;
        Ok(DnsSockets { udp, tcp })
    })
    .await?)
}

/// A running embedded DNS; dropping it stops it and closes its sockets.
pub struct DnsServer {
    tasks: Vec<JoinHandle<()>>,
}

impl DnsServer {
    /// Stops serving and waits until the sockets are closed (queries in flight may still
    /// be answered on their own tasks).
    pub async fn shutdown(mut self) {
        for t in std::mem::take(&mut self.tasks) {
            t.abort();
            let _ = t.await;
        }
    }
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Serves `sockets` from the current runtime with `resolver`.
pub fn serve<T, U>(sockets: DnsSockets, resolver: Resolver<T, U>) -> std::io::Result<DnsServer>
where
    T: NameTable + 'static,
    U: Upstream + 'static,
{
    let resolver = Arc::new(resolver);
    let udp = Arc::new(tokio::net::UdpSocket::from_std(sockets.udp)?);
    let tcp = tokio::net::TcpListener::from_std(sockets.tcp)?;
    let r = resolver.clone();
    let udp_task = tokio::spawn(async move {
        let mut buf = vec![0u8; 4096];
        loop {
            let Ok((n, peer)) = udp.recv_from(&mut buf).await else {
                continue;
            };
            let (udp, r, query) = (udp.clone(), r.clone(), buf[..n].to_vec());
            // Each query on its own task: a slow upstream does not hold the others.
            tokio::spawn(async move {
                if let Some(answer) = r.handle(&query, false).await {
                    let _ = udp.send_to(&answer, peer).await;
                }
            });
        }
    });
    let tcp_task = tokio::spawn(async move {
        while let Ok((mut s, _)) = tcp.accept().await {
            let r = resolver.clone();
            tokio::spawn(async move {
                loop {
                    let mut l = [0u8; 2];
                    if s.read_exact(&mut l).await.is_err() {
                        return;
                    }
                    let mut q = vec![0u8; usize::from(u16::from_be_bytes(l))];
                    if s.read_exact(&mut q).await.is_err() {
                        return;
                    }
                    let Some(answer) = r.handle(&q, true).await else {
                        return;
                    };
                    let Ok(len) = u16::try_from(answer.len()) else {
                        return;
                    };
                    if s.write_all(&len.to_be_bytes()).await.is_err()
                        || s.write_all(&answer).await.is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    Ok(DnsServer {
        tasks: vec![udp_task, tcp_task],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::op::Query;

    /// Answers every forwarded query with SERVFAIL-free 9.9.9.9 and counts them.
    struct FakeUpstream {
        calls: std::sync::Mutex<Vec<String>>,
    }

    impl Upstream for FakeUpstream {
        async fn forward(&self, query: Vec<u8>, _tcp: bool) -> Result<Vec<u8>, DnsError> {
            let req = Message::from_vec(&query).expect("query");
            let q = req.queries[0].clone();
            self.calls.lock().expect("lock").push(q.name().to_ascii());
            let mut m = Message::response(req.metadata.id, OpCode::Query);
            m.add_answer(Record::from_rdata(
                q.name().clone(),
                5,
                RData::A(A(Ipv4Addr::new(9, 9, 9, 9))),
            ));
            m.add_query(q);
            Ok(m.to_vec().expect("encode"))
        }
    }

    pub(crate) fn query(name: &str, t: RecordType) -> Vec<u8> {
        let mut m = Message::query();
        m.metadata.id = 4242;
        m.metadata.recursion_desired = true;
        m.add_query(Query::query(Name::from_ascii(name).expect("name"), t));
        m.to_vec().expect("encode")
    }

    fn answers(wire: &[u8]) -> (ResponseCode, Vec<String>) {
        let m = Message::from_vec(wire).expect("answer");
        assert_eq!(m.metadata.id, 4242);
        (
            m.metadata.response_code,
            m.answers.iter().map(|r| r.data.to_string()).collect(),
        )
    }

    fn resolver(
        networks: &[&str],
    ) -> (
        Resolver<MemoryTable, FakeUpstream>,
        Arc<MemoryTable>,
        Arc<FakeUpstream>,
    ) {
        let table = Arc::new(MemoryTable::default());
        table.add(
            "n1",
            &["web", "www", "4f8973a50523"],
            &[
                "10.1.0.2".parse().expect("ip"),
                "fd00::2".parse().expect("ip"),
            ],
        );
        table.add("n2", &["db"], &["10.2.0.2".parse().expect("ip")]);
        let up = Arc::new(FakeUpstream {
            calls: Default::default(),
        });
        let r = Resolver {
            networks: networks.iter().map(|s| s.to_string()).collect(),
            table: table.clone(),
            upstream: up.clone(),
        };
        (r, table, up)
    }

    #[tokio::test]
    async fn names_aliases_and_short_ids_of_its_networks() {
        let (r, _, up) = resolver(&["n1"]);
        for name in ["web.", "WWW.", "4f8973a50523."] {
            let (code, a) = answers(
                &r.handle(&query(name, RecordType::A), false)
                    .await
                    .expect("answer"),
            );
            assert_eq!(
                (code, a),
                (ResponseCode::NoError, vec!["10.1.0.2".to_string()]),
                "{name}"
            );
        }
        let (_, a) = answers(
            &r.handle(&query("web.", RecordType::AAAA), false)
                .await
                .expect("answer"),
        );
        assert_eq!(a, vec!["fd00::2".to_string()]);
        let (_, a) = answers(
            &r.handle(&query("2.0.1.10.in-addr.arpa.", RecordType::PTR), true)
                .await
                .expect("answer"),
        );
        assert_eq!(a, vec!["web.".to_string()]);
        assert!(
            up.calls.lock().expect("lock").is_empty(),
            "our names are never forwarded"
        );
        // db is on n2, which this container is not on: forwarded like any other name.
        let (_, a) = answers(
            &r.handle(&query("db.", RecordType::A), false)
                .await
                .expect("answer"),
        );
        assert_eq!(a, vec!["9.9.9.9".to_string()]);
        let (_, a) = answers(
            &r.handle(&query("example.com.", RecordType::A), false)
                .await
                .expect("answer"),
        );
        assert_eq!(a, vec!["9.9.9.9".to_string()]);
        assert_eq!(
            *up.calls.lock().expect("lock"),
            vec!["db.".to_string(), "example.com.".to_string()]
        );
    }

    #[tokio::test]
    async fn removed_names_are_forwarded_and_a_dead_upstream_is_servfail() {
        let (r, table, _) = resolver(&["n1", "n2"]);
        let (_, a) = answers(
            &r.handle(&query("db.", RecordType::A), false)
                .await
                .expect("answer"),
        );
        assert_eq!(a, vec!["10.2.0.2".to_string()]);
        table.remove("n2", &["10.2.0.2".parse().expect("ip")]);
        let (_, a) = answers(
            &r.handle(&query("db.", RecordType::A), false)
                .await
                .expect("answer"),
        );
        assert_eq!(a, vec!["9.9.9.9".to_string()]);

        let dead = Resolver {
            networks: vec!["n1".into()],
            table: table.clone(),
            upstream: Arc::new(NameServers {
                servers: vec![],
                timeout: Duration::from_secs(1),
            }),
        };
        let (code, a) = answers(
            &dead
                .handle(&query("example.com.", RecordType::A), false)
                .await
                .expect("answer"),
        );
        assert_eq!((code, a.len()), (ResponseCode::ServFail, 0));
        // Garbage with an id gets FORMERR.
        let bad = dead
            .handle(&[0x10, 0x92, 0xff], false)
            .await
            .expect("answer");
        assert_eq!(
            Message::from_vec(&bad).expect("msg").metadata.response_code,
            ResponseCode::FormErr
        );
    }
}
