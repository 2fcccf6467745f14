//! A fake daemon for the client's round-trip tests: a Unix socket in a temporary
//! directory that answers each connection with the next canned [`Answer`] and records
//! what the client sent ([`Served`]).

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

/// A canned answer: status and body.
#[derive(Debug, Clone)]
pub struct Answer {
    status: u16,
    body: String,
}

impl Answer {
    /// `status` with a JSON body.
    pub fn json(status: u16, body: &str) -> Answer {
        Answer {
            status,
            body: body.to_string(),
        }
    }

    /// `status` with no body.
    pub fn empty(status: u16) -> Answer {
        Answer {
            status,
            body: String::new(),
        }
    }
}

/// One request as the fake daemon received it.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    pub uri: String,
    pub body: Vec<u8>,
}

/// The requests received so far, in order.
#[derive(Debug, Clone, Default)]
pub struct Served(Arc<Mutex<Vec<Received>>>);

impl Served {
    pub fn all(&self) -> Vec<Received> {
        self.0.lock().expect("lock").clone()
    }

    /// The one request received (panics if there were more or none).
    pub fn one(&self) -> Received {
        let all = self.all();
        assert_eq!(all.len(), 1, "requests: {all:?}");
        all.into_iter().next().expect("one")
    }
}

/// Listen at `<dir>/s` (the directory is returned, to be kept) and answer connections
/// with `answers`, one each, in order. Runs on the calling test's runtime.
pub fn serve(answers: Vec<Answer>) -> (tempfile::TempDir, Served) {
    let dir = tempfile::tempdir().expect("tempdir");
    let std_listener = std::os::unix::net::UnixListener::bind(dir.path().join("s")).expect("bind");
    std_listener.set_nonblocking(true).expect("nonblocking");
    let listener = tokio::net::UnixListener::from_std(std_listener).expect("listener");
    let served = Served::default();
    let log = served.clone();
    tokio::spawn(async move {
        for answer in answers {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let log = log.clone();
            let svc = hyper::service::service_fn(move |req: Request<Incoming>| {
                let (answer, log) = (answer.clone(), log.clone());
                async move {
                    let method = req.method().to_string();
                    let uri = req.uri().to_string();
                    let body = req.into_body().collect().await?.to_bytes().to_vec();
                    log.0
                        .lock()
                        .expect("lock")
                        .push(Received { method, uri, body });
                    let resp = Response::builder()
                        .status(answer.status)
                        .header("content-type", "application/json")
                        .body(Full::new(Bytes::from(answer.body)))
                        .expect("response");
                    Ok::<_, hyper::Error>(resp)
                }
            });
            tokio::spawn(
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc),
            );
        }
    });
    (dir, served)
}
