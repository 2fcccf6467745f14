//! Compressed input (gzip, zstd, told apart by their first bytes) and hashing a stream
//! as it passes.

use std::io::{self, BufRead, BufReader, Read};

use sha2::{Digest, Sha256};

/// How an input was compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

/// Wrap `input` in the decompressor its first bytes call for.
pub fn decompress<'a>(input: impl Read + 'a) -> io::Result<Box<dyn Read + 'a>> {
    Ok(decompress_kind(input)?.0)
}

/// [`decompress`], and how the input was compressed.
pub fn decompress_kind<'a>(input: impl Read + 'a) -> io::Result<(Box<dyn Read + 'a>, Compression)> {
    let mut buf = BufReader::with_capacity(256 * 1024, input);
    let head = buf.fill_buf()?;
    if head.starts_with(&[0x1f, 0x8b]) {
        Ok((
            Box::new(flate2::bufread::MultiGzDecoder::new(buf)),
            Compression::Gzip,
        ))
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Ok((
            Box::new(zstd::stream::read::Decoder::with_buffer(buf)?),
            Compression::Zstd,
        ))
    } else {
        Ok((Box::new(buf), Compression::None))
    }
}

/// `sha256:<hex>` of a finished hash.
pub fn sha256_string(h: Sha256) -> String {
    format!("sha256:{}", hex::encode(h.finalize()))
}

/// A reader that counts, and optionally hashes, what passes through it.
pub struct HashReader<R> {
    inner: R,
    /// `None`: only count (the caller hashes the same bytes elsewhere).
    hasher: Option<Sha256>,
    count: u64,
}

impl<R: Read> HashReader<R> {
    /// Count and hash.
    pub fn new(inner: R) -> Self {
        HashReader {
            inner,
            hasher: Some(Sha256::new()),
            count: 0,
        }
    }

    /// Only count.
    pub fn counting(inner: R) -> Self {
        HashReader {
            inner,
            hasher: None,
            count: 0,
        }
    }

    /// Read to the end, then `sha256:<hex>` of everything and the byte count.
    pub fn finish(self) -> io::Result<(String, u64)> {
        let (d, n) = self.finish_opt()?;
        Ok((d.unwrap_or_default(), n))
    }

    /// Read to the end, then the digest (if hashing) and the byte count.
    pub fn finish_opt(mut self) -> io::Result<(Option<String>, u64)> {
        io::copy(&mut self, &mut io::sink())?;
        Ok((self.hasher.map(sha256_string), self.count))
    }
}

impl<R: Read> Read for HashReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(h) = &mut self.hasher {
            h.update(&buf[..n]);
        }
        self.count += n as u64;
        Ok(n)
    }
}
