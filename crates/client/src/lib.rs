//! A small client for the Docker Engine API, as Berth's daemon (or dockerd) serves it over
//! a Unix socket or TCP: version negotiation, JSON calls, streamed request and response
//! bodies, and hijacked connections for attach and exec.
//!
//! Each call opens its own HTTP/1.1 connection (a local socket connects in microseconds),
//! which keeps the client free of pools and background tasks.

use std::path::PathBuf;
use std::pin::Pin;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Empty, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};

/// The daemon's default socket.
pub const DEFAULT_HOST: &str = "unix:///run/berth/berthd.sock";
/// Newest API version this client speaks.
pub const API_VERSION: &str = "1.50";
/// Oldest API version, assumed when the daemon does not say.
pub const API_VERSION_MIN: &str = "1.24";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The daemon answered with an error status.
    #[error("Error response from daemon: {message}")]
    Api { status: u16, message: String },
    #[error(
        "Cannot connect to the Berth daemon at {host}. Is the berth daemon running? ({source})"
    )]
    Connect {
        host: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("http: {0}")]
    Http(#[from] hyper::Error),
    #[error("invalid response from daemon: {0}")]
    Decode(String),
    #[error("invalid host {0}: use unix:///path or tcp://host:port")]
    Host(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A request or response body.
pub type Body = BoxBody<Bytes, std::io::Error>;

/// Where the daemon listens.
#[derive(Debug, Clone)]
enum Host {
    Unix(PathBuf),
    Tcp(String),
}

/// A bidirectional byte stream (a Unix or TCP socket).
pub trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// A hijacked connection: what is left of the HTTP connection after `101 Switching
/// Protocols`.
pub type Hijacked = TokioIo<hyper::upgrade::Upgraded>;

/// An API client.
#[derive(Debug, Clone)]
pub struct Client {
    host: Host,
    host_str: String,
    version: String,
}

pub fn empty() -> Body {
    Empty::new().map_err(|never| match never {}).boxed()
}

pub fn full(data: impl Into<Bytes>) -> Body {
    Full::new(data.into())
        .map_err(|never| match never {})
        .boxed()
}

/// A body streamed from `reader`.
pub fn reader_body(reader: impl AsyncRead + Send + Sync + Unpin + 'static) -> Body {
    let stream = futures_util::stream::unfold(reader, |mut r| async move {
        let mut buf = vec![0u8; 256 * 1024];
        match r.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok(Frame::data(Bytes::from(buf))), r))
            }
            Err(e) => Some((Err(e), r)),
        }
    });
    BodyExt::boxed(StreamBody::new(stream))
}

impl Client {
    /// A client for `host` (`-H`), else `BERTH_HOST`, else `DOCKER_HOST`, else the default
    /// socket. The API version is not negotiated yet: see [`Client::negotiate`].
    pub fn from_env(host: Option<&str>) -> Result<Client> {
        let h = host
            .map(str::to_string)
            .or_else(|| std::env::var("BERTH_HOST").ok().filter(|s| !s.is_empty()))
            .or_else(|| std::env::var("DOCKER_HOST").ok().filter(|s| !s.is_empty()))
            .unwrap_or_else(|| DEFAULT_HOST.to_string());
        let host = if let Some(p) = h.strip_prefix("unix://") {
            Host::Unix(PathBuf::from(p))
        } else if let Some(a) = h.strip_prefix("tcp://") {
            Host::Tcp(a.trim_end_matches('/').to_string())
        } else if h.starts_with('/') {
            Host::Unix(PathBuf::from(&h))
        } else {
            return Err(Error::Host(h));
        };
        Ok(Client {
            host,
            host_str: h,
            version: API_VERSION.to_string(),
        })
    }

    pub fn host(&self) -> &str {
        &self.host_str
    }

    /// The API version in use.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// Ask the daemon (`GET /_ping`) which API version it speaks and use the lower of
    /// that and ours.
    pub async fn negotiate(&mut self) -> Result<()> {
        let resp = self
            .send_raw(Method::GET, "/_ping", empty(), &[], false)
            .await?;
        let server = resp
            .headers()
            .get("api-version")
            .and_then(|v| v.to_str().ok())
            .unwrap_or(API_VERSION_MIN)
            .to_string();
        let parse = |v: &str| -> (u32, u32) {
            let (a, b) = v.split_once('.').unwrap_or((v, "0"));
            (a.parse().unwrap_or(1), b.parse().unwrap_or(0))
        };
        if parse(&server) < parse(API_VERSION) {
            self.version = server;
        }
        Ok(())
    }

    async fn connect(&self) -> Result<Box<dyn Stream>> {
        let res: std::io::Result<Box<dyn Stream>> = match &self.host {
            Host::Unix(p) => tokio::net::UnixStream::connect(p)
                .await
                .map(|s| Box::new(s) as Box<dyn Stream>),
            Host::Tcp(a) => tokio::net::TcpStream::connect(a)
                .await
                .map(|s| Box::new(s) as Box<dyn Stream>),
        };
        res.map_err(|source| Error::Connect {
            host: self.host_str.clone(),
            source,
        })
    }

    /// Send one request on a new connection. `path` is without the version prefix
    /// unless `raw`.
    async fn send_raw(
        &self,
        method: Method,
        path: &str,
        body: Body,
        headers: &[(&str, &str)],
        versioned: bool,
    ) -> Result<Response<Incoming>> {
        let io = TokioIo::new(self.connect().await?);
        let (mut sender, conn) = hyper::client::conn::http1::handshake(io).await?;
        tokio::spawn(async move {
            let _ = conn.with_upgrades().await;
        });
        let uri = if versioned {
            format!("/v{}{path}", self.version)
        } else {
            path.to_string()
        };
        let mut req = Request::builder()
            .method(method)
            .uri(uri)
            .header("host", "berth")
            .header("user-agent", concat!("berth/", env!("CARGO_PKG_VERSION")));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req
            .body(body)
            .map_err(|e| Error::Decode(format!("building request: {e}")))?;
        Ok(sender.send_request(req).await?)
    }

    /// Send a request; error statuses become [`Error::Api`].
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Body,
        headers: &[(&str, &str)],
    ) -> Result<Response<Incoming>> {
        let resp = self.send_raw(method, path, body, headers, true).await?;
        check(resp).await
    }

    /// `GET` and decode JSON.
    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        let resp = self.send(Method::GET, path, empty(), &[]).await?;
        decode(resp).await
    }

    /// `POST` a JSON body (or nothing for `Value::Null`) and return the response body
    /// decoded as JSON (`Value::Null` when empty).
    pub async fn post(&self, path: &str, body: &Value) -> Result<Value> {
        let resp = self.post_stream(path, body).await?;
        let bytes = resp.into_body().collect().await?.to_bytes();
        if bytes.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&bytes).map_err(|e| Error::Decode(e.to_string()))
    }

    /// `POST` a JSON body and hand back the response to stream.
    pub async fn post_stream(&self, path: &str, body: &Value) -> Result<Response<Incoming>> {
        let (body, headers): (Body, &[(&str, &str)]) = if body.is_null() {
            (empty(), &[])
        } else {
            (
                full(serde_json::to_vec(body).map_err(|e| Error::Decode(e.to_string()))?),
                &[("content-type", "application/json")],
            )
        };
        self.send(Method::POST, path, body, headers).await
    }

    pub async fn delete(&self, path: &str) -> Result<()> {
        let resp = self.send(Method::DELETE, path, empty(), &[]).await?;
        resp.into_body().collect().await?;
        Ok(())
    }

    /// `POST` with `Upgrade: tcp` and take over the connection (attach, exec start).
    pub async fn hijack(&self, path: &str, body: &Value) -> Result<Hijacked> {
        let data = if body.is_null() {
            Vec::new()
        } else {
            serde_json::to_vec(body).map_err(|e| Error::Decode(e.to_string()))?
        };
        let resp = self
            .send_raw(
                Method::POST,
                path,
                full(data),
                &[
                    ("content-type", "application/json"),
                    ("connection", "Upgrade"),
                    ("upgrade", "tcp"),
                ],
                true,
            )
            .await?;
        if resp.status() != StatusCode::SWITCHING_PROTOCOLS {
            let resp = check(resp).await?;
            return Err(Error::Decode(format!(
                "expected 101 Switching Protocols, got {}",
                resp.status()
            )));
        }
        let upgraded = hyper::upgrade::on(resp).await?;
        Ok(TokioIo::new(upgraded))
    }
}

/// Turn an error status into [`Error::Api`] with the daemon's message.
async fn check(resp: Response<Incoming>) -> Result<Response<Incoming>> {
    let status = resp.status();
    if status.is_success() || status == StatusCode::SWITCHING_PROTOCOLS || status.as_u16() == 304 {
        return Ok(resp);
    }
    let bytes = resp.into_body().collect().await?.to_bytes();
    let message = serde_json::from_slice::<Value>(&bytes)
        .ok()
        .and_then(|v| v["message"].as_str().map(str::to_string))
        .unwrap_or_else(|| String::from_utf8_lossy(&bytes).trim().to_string());
    Err(Error::Api {
        status: status.as_u16(),
        message,
    })
}

async fn decode<T: DeserializeOwned>(resp: Response<Incoming>) -> Result<T> {
    let bytes = resp.into_body().collect().await?.to_bytes();
    serde_json::from_slice(&bytes).map_err(|e| Error::Decode(e.to_string()))
}

/// Read the next chunk of a streamed response body (`None` at the end).
pub async fn next_chunk(body: &mut Incoming) -> Result<Option<Bytes>> {
    loop {
        match body.frame().await {
            None => return Ok(None),
            Some(f) => {
                if let Ok(data) = f?.into_data() {
                    return Ok(Some(data));
                }
            }
        }
    }
}

/// Splits Docker's multiplexed stream (8-byte headers: stream, 0, 0, 0, big-endian
/// length) into (stream, payload) pieces, across chunk boundaries.
#[derive(Debug, Default)]
pub struct Demux {
    buf: Vec<u8>,
}

impl Demux {
    /// Feed bytes; returns the complete frames now available.
    pub fn push(&mut self, data: &[u8]) -> Vec<(u8, Vec<u8>)> {
        self.buf.extend_from_slice(data);
        let mut out = Vec::new();
        loop {
            if self.buf.len() < 8 {
                break;
            }
            let len =
                u32::from_be_bytes([self.buf[4], self.buf[5], self.buf[6], self.buf[7]]) as usize;
            if self.buf.len() < 8 + len {
                break;
            }
            let stream = self.buf[0];
            let payload = self.buf[8..8 + len].to_vec();
            self.buf.drain(..8 + len);
            out.push((stream, payload));
        }
        out
    }
}

/// Pin helper for callers holding a boxed stream.
pub type BoxedStream = Pin<Box<dyn Stream>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demux_across_chunks() {
        let mut d = Demux::default();
        let mut data = vec![1, 0, 0, 0, 0, 0, 0, 3];
        data.extend_from_slice(b"abc");
        data.extend_from_slice(&[2, 0, 0, 0, 0, 0, 0, 2]);
        data.extend_from_slice(b"de");
        assert!(d.push(&data[..5]).is_empty());
        let frames = d.push(&data[5..13]);
        assert_eq!(frames, vec![(1, b"abc".to_vec())]);
        assert_eq!(d.push(&data[13..]), vec![(2, b"de".to_vec())]);
    }

    #[test]
    fn hosts() {
        let c = Client::from_env(Some("unix:///tmp/x.sock")).unwrap();
        assert!(matches!(c.host, Host::Unix(ref p) if p == std::path::Path::new("/tmp/x.sock")));
        let c = Client::from_env(Some("tcp://127.0.0.1:2375")).unwrap();
        assert!(matches!(c.host, Host::Tcp(ref a) if a == "127.0.0.1:2375"));
        assert!(Client::from_env(Some("http://x")).is_err());
    }
}
