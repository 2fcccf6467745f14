//! Request bodies made of tars that the archive crate writes from local files (`cp` to a
//! container, `load -i DIR`), written on a blocking thread while the request streams.

use std::path::Path;

use berth_archive::{Dir, WriteOptions, Writer, XattrSet};
use berth_client::{Body, stream_body};
use tokio::task::JoinHandle;

/// A directory to archive, opened.
pub fn open_dir(path: &Path) -> berth_archive::Result<Dir> {
    Dir::open(path).map_err(|source| berth_archive::Error::Io {
        context: format!("opening {}", path.display()),
        source,
    })
}

/// The archive crate's writer into a request body.
pub type TarWriter = Writer<std::io::BufWriter<ChannelWriter>>;

/// A tar that `write` makes with the archive crate's writer on a blocking thread, as a
/// request body; the thread's result says whether the tar is whole. The tar goes through
/// a channel the body reads (not a pipe: a daemon that answers early must not kill this
/// process with SIGPIPE).
pub fn tar_body<F>(xattrs: XattrSet, write: F) -> (Body, JoinHandle<Result<(), String>>)
where
    F: FnOnce(&mut TarWriter) -> berth_archive::Result<()> + Send + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::channel::<bytes::Bytes>(8);
    let writer = tokio::task::spawn_blocking(move || -> Result<(), String> {
        let out = std::io::BufWriter::with_capacity(256 * 1024, ChannelWriter { tx });
        let mut tar = Writer::new(out, WriteOptions { xattrs });
        write(&mut tar).map_err(|e| e.to_string())?;
        tar.finish()
            .map_err(|e| e.to_string())?
            .into_inner()
            .map_err(|e| e.into_error().to_string())?;
        Ok(())
    });
    let chunks = futures_util::stream::unfold(rx, |mut rx| async move {
        let chunk = rx.recv().await?;
        Some((Ok(chunk), rx))
    });
    (stream_body(chunks), writer)
}

/// Blocking writes into a channel of chunks (a request body on the other side).
pub struct ChannelWriter {
    tx: tokio::sync::mpsc::Sender<bytes::Bytes>,
}

impl std::io::Write for ChannelWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.tx
            .blocking_send(bytes::Bytes::copy_from_slice(buf))
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::BrokenPipe))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
