//! Request and response bodies for work on blocking threads: [`body_reader`] (a request
//! body as a blocking `Read`, for load and import) and [`blocking_body`] (a response body
//! written by a blocking `Write`, for save and export), in 256 KiB chunks.

use std::io::{Read, Write};

use axum::body::Body;
use bytes::Bytes;
use futures_util::StreamExt;
use tokio::sync::mpsc;

/// Bytes a response body is sent in.
const CHUNK: usize = 256 * 1024;

/// A blocking writer that sends what it is given, in chunks, to an async response body.
pub(crate) struct ChannelWriter {
    tx: mpsc::Sender<Result<Bytes, std::io::Error>>,
    buf: Vec<u8>,
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.flush()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK)));
        self.tx
            .blocking_send(Ok(chunk))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "client went away"))
    }
}

/// A response body that `write` fills from a blocking thread. It streams as it is
/// written; an error midway (logged with `what`) ends the body abruptly, so the client
/// sees a truncated transfer rather than an archive that looks complete.
pub(crate) fn blocking_body<E: std::fmt::Display>(
    what: String,
    write: impl FnOnce(&mut ChannelWriter) -> Result<(), E> + Send + 'static,
) -> Body {
    let (tx, mut rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(8);
    tokio::task::spawn_blocking(move || {
        let mut w = ChannelWriter {
            tx: tx.clone(),
            buf: Vec::with_capacity(CHUNK),
        };
        let result = write(&mut w)
            .map_err(|e| e.to_string())
            .and_then(|()| w.flush().map_err(|e| format!("sending the body: {e}")));
        if let Err(e) = result {
            tracing::warn!("{what}: {e}");
            let _ = tx.blocking_send(Err(std::io::Error::other(e)));
        }
    });
    Body::from_stream(futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx)))
}

/// A blocking reader over body chunks sent from the async side.
pub(crate) struct ChannelReader {
    pub(crate) rx: mpsc::Receiver<Result<Bytes, std::io::Error>>,
    pub(crate) cur: Bytes,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.cur.is_empty() {
            match self.rx.blocking_recv() {
                Some(Ok(b)) => self.cur = b,
                Some(Err(e)) => return Err(e),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.cur.len());
        buf[..n].copy_from_slice(&self.cur[..n]);
        let _ = self.cur.split_to(n);
        Ok(n)
    }
}

/// The request body as a blocking reader (for work on a blocking thread), fed by a task.
pub(crate) fn body_reader(body: Body) -> ChannelReader {
    let (tx, rx) = mpsc::channel(16);
    tokio::spawn(async move {
        // When the reader gives up (the request failed), the body is dropped here and the
        // server reads the rest of it (`DrainOnDrop`), so the client gets the answer.
        let mut stream = body.into_data_stream();
        while let Some(chunk) = stream.next().await {
            let item =
                chunk.map_err(|e| std::io::Error::other(format!("reading request body: {e}")));
            let stop = item.is_err();
            if tx.send(item).await.is_err() || stop {
                break;
            }
        }
    });
    ChannelReader {
        rx,
        cur: Bytes::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_reader_reads_across_chunks() {
        let (tx, rx) = mpsc::channel(4);
        tx.try_send(Ok(Bytes::from_static(b"ab"))).expect("send");
        tx.try_send(Ok(Bytes::from_static(b"cde"))).expect("send");
        drop(tx);
        let mut r = ChannelReader {
            rx,
            cur: Bytes::new(),
        };
        let mut s = String::new();
        r.read_to_string(&mut s).expect("read");
        assert_eq!(s, "abcde");
    }
}
