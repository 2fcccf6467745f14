//! Streamed answers: raw bytes ([`ByteStream`]: logs, export, save, archives), JSON
//! values one after another ([`JsonStream`]: events, load and import progress), Docker's
//! multiplexed stdio frames ([`Demux`]) and hijacked connections ([`Hijacked`]: attach,
//! exec).

use std::marker::PhantomData;

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};

/// A hijacked connection: what is left of the HTTP connection after `101 Switching
/// Protocols`, both ways.
pub type Hijacked = TokioIo<hyper::upgrade::Upgraded>;

/// A response body read chunk by chunk.
#[derive(Debug)]
pub struct ByteStream {
    body: Incoming,
}

impl ByteStream {
    pub(crate) fn new(body: Incoming) -> ByteStream {
        ByteStream { body }
    }

    /// The next chunk, `None` at the end.
    pub async fn next(&mut self) -> Result<Option<Bytes>> {
        loop {
            match self.body.frame().await {
                None => return Ok(None),
                Some(frame) => {
                    if let Ok(data) = frame?.into_data() {
                        return Ok(Some(data));
                    }
                }
            }
        }
    }

    /// The whole rest of the body.
    pub async fn collect(self) -> Result<Bytes> {
        Ok(self.body.collect().await?.to_bytes())
    }
}

/// JSON values streamed one after another (Docker's json.Encoder output: a value a line),
/// decoded as they complete.
#[derive(Debug)]
pub struct JsonStream<T> {
    body: ByteStream,
    buf: Vec<u8>,
    item: PhantomData<fn() -> T>,
}

impl<T: DeserializeOwned> JsonStream<T> {
    pub(crate) fn new(body: Incoming) -> JsonStream<T> {
        JsonStream {
            body: ByteStream::new(body),
            buf: Vec::new(),
            item: PhantomData,
        }
    }

    /// The next value, `None` at the end of the stream.
    pub async fn next(&mut self) -> Result<Option<T>> {
        loop {
            let start = self
                .buf
                .iter()
                .position(|b| !b.is_ascii_whitespace())
                .unwrap_or(self.buf.len());
            self.buf.drain(..start);
            if !self.buf.is_empty() {
                let mut values = serde_json::Deserializer::from_slice(&self.buf).into_iter::<T>();
                match values.next() {
                    Some(Ok(v)) => {
                        let used = values.byte_offset();
                        self.buf.drain(..used);
                        return Ok(Some(v));
                    }
                    Some(Err(e)) if e.is_eof() => {}
                    Some(Err(e)) => return Err(Error::Decode(e.to_string())),
                    None => {}
                }
            }
            match self.body.next().await? {
                Some(chunk) => self.buf.extend_from_slice(&chunk),
                None if self.buf.is_empty() => return Ok(None),
                None => {
                    return Err(Error::Decode(format!(
                        "truncated JSON stream: {}",
                        String::from_utf8_lossy(&self.buf)
                    )));
                }
            }
        }
    }
}

/// Which stream a frame of Docker's multiplexed stdio belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StdStream {
    Stdin,
    Stdout,
    Stderr,
}

/// Splits Docker's multiplexed stream (8-byte headers: stream, 0, 0, 0, big-endian
/// length) into (stream, payload) pieces, across chunk boundaries.
#[derive(Debug, Default)]
pub struct Demux {
    buf: Vec<u8>,
}

impl Demux {
    /// Feed bytes; returns the complete frames now available.
    pub fn push(&mut self, data: &[u8]) -> Vec<(StdStream, Vec<u8>)> {
        self.buf.extend_from_slice(data);
        let mut out = Vec::new();
        while self.buf.len() >= 8 {
            let len =
                u32::from_be_bytes([self.buf[4], self.buf[5], self.buf[6], self.buf[7]]) as usize;
            if self.buf.len() < 8 + len {
                break;
            }
            let stream = match self.buf[0] {
                0 => StdStream::Stdin,
                2 => StdStream::Stderr,
                _ => StdStream::Stdout,
            };
            let payload = self.buf[8..8 + len].to_vec();
            self.buf.drain(..8 + len);
            out.push((stream, payload));
        }
        out
    }
}

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
        assert_eq!(frames, vec![(StdStream::Stdout, b"abc".to_vec())]);
        assert_eq!(
            d.push(&data[13..]),
            vec![(StdStream::Stderr, b"de".to_vec())]
        );
    }
}
