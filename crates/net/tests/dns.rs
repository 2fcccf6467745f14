//! Root test of `dns`: the embedded DNS bound at 127.0.0.11:53 in a namespace the test
//! owns, queried from inside over UDP and TCP (and by busybox nslookup), forwarding to an
//! upstream the test runs on the host's loopback.

mod common;

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream, UdpSocket};
use std::sync::Arc;
use std::time::Duration;

use berth_net::dns::{self, MemoryTable, NameServers, Resolver};
use berth_net::link::in_netns;
use common::{Netns, can_run};
use hickory_proto::op::{Message, OpCode, Query};
use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{Name, RData, Record, RecordType};

fn query(name: &str, t: RecordType) -> Vec<u8> {
    let mut m = Message::query();
    m.metadata.id = 7;
    m.metadata.recursion_desired = true;
    m.add_query(Query::query(Name::from_ascii(name).expect("name"), t));
    m.to_vec().expect("encode")
}

fn first_answer(wire: &[u8]) -> Option<String> {
    let m = Message::from_vec(wire).expect("answer");
    m.answers.first().map(|r| r.data.to_string())
}

/// An upstream on 127.0.0.1 answering every A query with 9.9.9.9.
async fn fake_upstream() -> SocketAddr {
    let s = tokio::net::UdpSocket::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = s.local_addr().expect("addr");
    tokio::spawn(async move {
        let mut buf = [0u8; 512];
        while let Ok((n, peer)) = s.recv_from(&mut buf).await {
            let Ok(req) = Message::from_vec(&buf[..n]) else {
                continue;
            };
            let q = req.queries[0].clone();
            let mut m = Message::response(req.metadata.id, OpCode::Query);
            m.add_answer(Record::from_rdata(
                q.name().clone(),
                5,
                RData::A(A(Ipv4Addr::new(9, 9, 9, 9))),
            ));
            m.add_query(q);
            let _ = s.send_to(&m.to_vec().expect("encode"), peer).await;
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_dns_in_a_network_namespace() {
    if !can_run() {
        return;
    }
    let ctr = Netns::new("dn");
    let table = Arc::new(MemoryTable::default());
    table.add("n1", &["web", "alias1"], &["10.1.0.2".parse().expect("ip")]);
    let upstream = fake_upstream().await;
    let sockets = dns::bind_in_netns(&ctr.path(), dns::ADDRESS)
        .await
        .expect("bind in netns");
    let server = dns::serve(
        sockets,
        Resolver {
            networks: vec!["n1".into()],
            table: table.clone(),
            upstream: Arc::new(NameServers {
                servers: vec![upstream],
                timeout: Duration::from_secs(2),
            }),
        },
    )
    .expect("serve");

    let ask_udp = |name: &'static str| {
        in_netns(&ctr.path(), move || {
            let s = UdpSocket::bind("127.0.0.1:0")?;
            s.set_read_timeout(Some(Duration::from_secs(3)))?;
            s.send_to(&query(name, RecordType::A), "127.0.0.11:53")?;
            let mut buf = [0u8; 512];
            let n = s.recv(&mut buf)?;
            Ok(first_answer(&buf[..n]))
        })
    };
    assert_eq!(ask_udp("web.").await.expect("udp"), Some("10.1.0.2".into()));
    assert_eq!(
        ask_udp("alias1.").await.expect("udp"),
        Some("10.1.0.2".into())
    );
    // Forwarded from the daemon's namespace to the upstream.
    assert_eq!(
        ask_udp("example.com.").await.expect("udp"),
        Some("9.9.9.9".into())
    );
    let tcp = in_netns(&ctr.path(), || {
        let mut s = TcpStream::connect_timeout(&dns::ADDRESS, Duration::from_secs(3))?;
        s.set_read_timeout(Some(Duration::from_secs(3)))?;
        let q = query("web.", RecordType::A);
        s.write_all(&(q.len() as u16).to_be_bytes())?;
        s.write_all(&q)?;
        let mut l = [0u8; 2];
        s.read_exact(&mut l)?;
        let mut buf = vec![0u8; u16::from_be_bytes(l) as usize];
        s.read_exact(&mut buf)?;
        Ok(first_answer(&buf))
    })
    .await
    .expect("tcp");
    assert_eq!(tcp, Some("10.1.0.2".into()));
    // A real client.
    let out = ctr.exec(&["busybox", "nslookup", "web", "127.0.0.11"]);
    assert!(out.contains("10.1.0.2"), "{out}");

    // Stopped: the sockets are closed, nothing answers any more.
    server.shutdown().await;
    let after = in_netns(&ctr.path(), || {
        let s = UdpSocket::bind("127.0.0.1:0")?;
        s.set_read_timeout(Some(Duration::from_secs(2)))?;
        s.connect("127.0.0.11:53")?;
        s.send(&query("web.", RecordType::A))?;
        let mut buf = [0u8; 512];
        s.recv(&mut buf).map(|_| ())
    })
    .await;
    assert!(after.is_err(), "still answering after drop");
}
