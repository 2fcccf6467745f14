//! Layer tars (plain, gzip or zstd) into overlayfs lower directories, with the archive
//! crate's rules for layers ([`berth_archive::Options::layer`]: hostile input contained,
//! whiteouts in overlayfs form); the uncompressed stream's sha256 (the layer's diff id) is
//! computed on the way.

use std::io::Read;
use std::path::Path;

use berth_archive::{Digesting, Options};

use crate::{Error, Result};

/// What unpacking a layer found.
#[derive(Debug)]
pub(crate) struct Unpacked {
    /// `sha256:<hex>` of the uncompressed tar.
    pub diff_id: String,
    /// Sum of the regular files' sizes (and symlinks' targets', as Docker counts).
    pub size: u64,
    /// Bytes of the uncompressed tar.
    pub tar_size: u64,
}

/// An archive error as the store reports a bad layer.
pub(crate) fn layer_err(e: berth_archive::Error) -> Error {
    match e {
        berth_archive::Error::Invalid(m) | berth_archive::Error::Limit(m) => {
            Error::Invalid(format!("invalid layer: {m}"))
        }
        e => e.into(),
    }
}

/// Unpack the layer tar `input` into the empty directory `dest`.
pub(crate) fn unpack_layer(input: impl Read, dest: &Path) -> Result<Unpacked> {
    let (diff_id, size, tar_size) = unpack_layer_opt(input, dest, true)?;
    Ok(Unpacked {
        diff_id: diff_id.unwrap_or_default(),
        size,
        tar_size,
    })
}

/// [`unpack_layer`]; when `input` is an uncompressed tar and `hash_plain` is false, its
/// digest is not computed (the caller hashes the very same bytes): `None`.
/// The diff id (if computed), the unpacked size and the tar's size.
pub(crate) fn unpack_layer_opt(
    input: impl Read,
    dest: &Path,
    hash_plain: bool,
) -> Result<(Option<String>, u64, u64)> {
    let opts = Options {
        digest: if hash_plain {
            Digesting::Always
        } else {
            Digesting::IfCompressed
        },
        ..Options::layer()
    };
    let got = berth_archive::extract(input, dest, &opts).map_err(layer_err)?;
    Ok((got.digest, got.size, got.tar_size))
}
