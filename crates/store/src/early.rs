//! Unpacking layers while the archive streams in.
//!
//! A load reads its archive once: each file that may be a layer (a docker-save
//! `*/layer.tar`, a big OCI blob) is written to its spool file and, at the same time,
//! handed in chunks to a thread that unpacks it into its own directory under the load's
//! work dir. Which files are layers is only known at the end (`manifest.json` comes last),
//! so this is speculative: results nobody names are removed with the work dir, and a
//! failed attempt (not a tar, a hostile one) is simply redone from the spool file the
//! usual way, which reports the error. The unpacker gets exactly the bytes spooled, so for
//! an uncompressed tar the spool's sha256 is its diff id and it is computed only once.

use std::io::{self, Read};
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, Sender, SyncSender, channel, sync_channel};
use std::thread::JoinHandle;

use crate::unpack::unpack_layer_opt;
use crate::{Error, Result};

/// Bytes per chunk handed over.
pub(crate) const CHUNK: usize = 1 << 20;
/// Chunks in flight before the spooling side waits for the unpacker.
const DEPTH: usize = 8;

/// What unpacking found: the diff id unless the input was a plain tar, the unpacked size,
/// the tar's size.
pub(crate) type Outcome = Result<(Option<String>, u64, u64)>;

/// What an early unpack produced, in `dir`.
pub(crate) struct Done {
    pub dir: PathBuf,
    pub result: Outcome,
}

/// An unpack in progress, fed by the spooling loop.
pub(crate) struct Early {
    dir: PathBuf,
    tx: Option<SyncSender<(Vec<u8>, usize)>>,
    back: Receiver<Vec<u8>>,
    handle: Option<JoinHandle<Outcome>>,
}

impl Early {
    /// Start unpacking into the new directory `dir`.
    pub fn start(dir: PathBuf) -> Result<Early> {
        std::fs::create_dir(&dir).map_err(|source| Error::Io {
            context: "creating a layer directory".into(),
            source,
        })?;
        let (tx, rx) = sync_channel(DEPTH);
        let (back_tx, back) = channel();
        let dest = dir.clone();
        let handle = std::thread::Builder::new()
            .name("berth-unpack".into())
            .spawn(move || {
                let reader = ChanReader {
                    rx,
                    back: back_tx,
                    cur: None,
                };
                unpack_layer_opt(reader, &dest, false)
            })
            .map_err(|source| Error::Io {
                context: "starting an unpacker".into(),
                source,
            })?;
        Ok(Early {
            dir,
            tx: Some(tx),
            back,
            handle: Some(handle),
        })
    }

    /// A buffer to read the next chunk into (one the unpacker is done with, if any).
    pub fn buffer(&self) -> Vec<u8> {
        self.back.try_recv().unwrap_or_else(|_| vec![0u8; CHUNK])
    }

    /// Hand the first `len` bytes of `chunk` over. Once the unpacker has given up (its
    /// result will be an error), chunks are dropped.
    pub fn feed(&mut self, chunk: Vec<u8>, len: usize) {
        if let Some(tx) = &self.tx
            && tx.send((chunk, len)).is_err()
        {
            self.tx = None;
        }
    }

    /// The end of the file: the unpacker reads what is left, then ends.
    pub fn close(&mut self) {
        self.tx = None;
    }

    /// Wait for the unpacker to finish.
    pub fn finish(mut self) -> Done {
        self.tx = None;
        let result = match self.handle.take().map(JoinHandle::join) {
            Some(Ok(r)) => r,
            _ => Err(Error::Invalid("invalid layer: the unpacker failed".into())),
        };
        Done {
            dir: self.dir.clone(),
            result,
        }
    }
}

impl Drop for Early {
    /// On an error path: end the input (the unpacker stops) and wait, so nothing is
    /// still writing in the work dir when it is removed.
    fn drop(&mut self) {
        self.tx = None;
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// The unpacker's side: chunks as a byte stream, ending when the sender is dropped.
struct ChanReader {
    rx: Receiver<(Vec<u8>, usize)>,
    back: Sender<Vec<u8>>,
    /// The current chunk, its length and how much of it was read.
    cur: Option<(Vec<u8>, usize, usize)>,
}

impl Read for ChanReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if let Some((chunk, len, pos)) = &mut self.cur {
                if *pos < *len {
                    let n = buf.len().min(*len - *pos);
                    buf[..n].copy_from_slice(&chunk[*pos..*pos + n]);
                    *pos += n;
                    return Ok(n);
                }
                if let Some((chunk, _, _)) = self.cur.take() {
                    let _ = self.back.send(chunk);
                }
            }
            match self.rx.recv() {
                Ok((chunk, len)) => self.cur = Some((chunk, len, 0)),
                Err(_) => return Ok(0),
            }
        }
    }
}
