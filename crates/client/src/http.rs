//! One request on one connection: connecting, the version prefix, request bodies, error
//! answers turned into [`Error::Api`], JSON answers decoded, and the upgrade of attach and
//! exec.

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Empty, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};

use crate::error::{Error, Result};
use crate::stream::{ByteStream, Hijacked};
use crate::{Client, Host};

/// A request body.
pub type Body = BoxBody<Bytes, std::io::Error>;

/// No body.
pub fn empty_body() -> Body {
    Empty::new().map_err(|never| match never {}).boxed()
}

fn full(data: impl Into<Bytes>) -> Body {
    Full::new(data.into())
        .map_err(|never| match never {})
        .boxed()
}

/// A body streamed from `reader` (a file, stdin, a pipe).
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

/// A body of the chunks a stream yields (e.g. a tar written by another thread).
pub fn stream_body(
    chunks: impl futures_util::Stream<Item = std::io::Result<Bytes>> + Send + Sync + 'static,
) -> Body {
    use futures_util::StreamExt;
    BodyExt::boxed(StreamBody::new(chunks.map(|c| c.map(Frame::data))))
}

/// A bidirectional byte stream (a Unix or TCP socket).
trait Socket: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Socket for T {}

/// The content type of a JSON request body.
const JSON: (&str, &str) = ("content-type", "application/json");
/// The content type of a tar request body.
pub(crate) const TAR: (&str, &str) = ("content-type", "application/x-tar");

impl Client {
    async fn connect(&self) -> Result<Box<dyn Socket>> {
        let res: std::io::Result<Box<dyn Socket>> = match &self.host {
            Host::Unix(p) => tokio::net::UnixStream::connect(p)
                .await
                .map(|s| Box::new(s) as Box<dyn Socket>),
            Host::Tcp(a) => tokio::net::TcpStream::connect(a)
                .await
                .map(|s| Box::new(s) as Box<dyn Socket>),
        };
        res.map_err(|source| Error::Connect {
            host: self.host_str.clone(),
            source,
        })
    }

    /// Send one request on a new connection; `path` gets the version prefix when
    /// `versioned`. The answer whatever its status.
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
    pub(crate) async fn send(
        &self,
        method: Method,
        path: &str,
        body: Body,
        headers: &[(&str, &str)],
    ) -> Result<Response<Incoming>> {
        let resp = self.send_raw(method, path, body, headers, true).await?;
        check(resp).await
    }

    /// `GET /_ping`: the API version the daemon speaks (the oldest when it does not say).
    pub(crate) async fn ping(&self) -> Result<berth_models::ApiVersion> {
        let resp = self
            .send_raw(Method::GET, "/_ping", empty_body(), &[], false)
            .await?;
        Ok(resp
            .headers()
            .get("api-version")
            .and_then(|v| v.to_str().ok())
            .and_then(berth_models::ApiVersion::parse)
            .unwrap_or(crate::API_VERSION_MIN))
    }

    /// A request without a body; the answer's body to stream.
    pub(crate) async fn stream(&self, method: Method, path: &str) -> Result<ByteStream> {
        let resp = self.send(method, path, empty_body(), &[]).await?;
        Ok(ByteStream::new(resp.into_body()))
    }

    /// `GET` and decode the JSON answer.
    pub(crate) async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        let body = self.stream(Method::GET, path).await?.collect().await?;
        decode(&body)
    }

    /// `GET` a JSON answer: decoded, and its bytes as they came.
    pub(crate) async fn get_with_raw<T: DeserializeOwned>(&self, path: &str) -> Result<(T, Bytes)> {
        let body = self.stream(Method::GET, path).await?.collect().await?;
        Ok((decode(&body)?, body))
    }

    /// `POST` without a body, the answer dropped.
    pub(crate) async fn post(&self, path: &str) -> Result<()> {
        self.stream(Method::POST, path).await?.collect().await?;
        Ok(())
    }

    /// `DELETE`, the answer dropped.
    pub(crate) async fn delete(&self, path: &str) -> Result<()> {
        self.stream(Method::DELETE, path).await?.collect().await?;
        Ok(())
    }

    /// `POST` without a body and decode the JSON answer.
    pub(crate) async fn post_for<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        let body = self.stream(Method::POST, path).await?.collect().await?;
        decode(&body)
    }

    /// `POST` a JSON body; the answer to stream.
    pub(crate) async fn post_json(&self, path: &str, body: &impl Serialize) -> Result<ByteStream> {
        let data = serde_json::to_vec(body).map_err(|e| Error::Decode(e.to_string()))?;
        let resp = self.send(Method::POST, path, full(data), &[JSON]).await?;
        Ok(ByteStream::new(resp.into_body()))
    }

    /// `POST` a JSON body and decode the JSON answer.
    pub(crate) async fn post_json_for<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &impl Serialize,
    ) -> Result<T> {
        let answer = self.post_json(path, body).await?.collect().await?;
        decode(&answer)
    }

    /// A request with `body` (and its `headers`); decode the JSON answer.
    pub(crate) async fn send_for<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Body,
        headers: &[(&str, &str)],
    ) -> Result<T> {
        let resp = self.send(method, path, body, headers).await?;
        let answer = ByteStream::new(resp.into_body()).collect().await?;
        decode(&answer)
    }

    /// `POST` with `Upgrade: tcp` and take over the connection (attach, exec start).
    pub(crate) async fn hijack(&self, path: &str, body: Option<Vec<u8>>) -> Result<Hijacked> {
        let resp = self
            .send_raw(
                Method::POST,
                path,
                full(body.unwrap_or_default()),
                &[JSON, ("connection", "Upgrade"), ("upgrade", "tcp")],
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
    Err(api_error(status.as_u16(), &bytes))
}

/// An error answer's body as [`Error::Api`]: Docker's `{"message"}`, else the text.
fn api_error(status: u16, body: &[u8]) -> Error {
    let message = serde_json::from_slice::<berth_models::ErrorResponse>(body)
        .map(|e| e.message)
        .unwrap_or_else(|_| String::from_utf8_lossy(body).trim().to_string());
    Error::Api { status, message }
}

fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T> {
    serde_json::from_slice(body).map_err(|e| Error::Decode(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_answers_carry_status_and_message() {
        let e = api_error(404, br#"{"message":"No such container: x"}"#);
        assert!(e.is_not_found());
        assert_eq!(
            e.to_string(),
            "Error response from daemon: No such container: x"
        );
        let e = api_error(500, b"plain text\n");
        assert_eq!(e.status(), Some(500));
        assert_eq!(e.to_string(), "Error response from daemon: plain text");
    }
}
