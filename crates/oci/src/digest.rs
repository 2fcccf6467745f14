//! Content digests: `sha256:<64 lowercase hex>`, on oci-spec's [`oci_spec::image::Digest`].

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::Sha256;

use crate::Error;

/// A sha256 digest, the only algorithm Berth stores by. Parsing checks the form
/// (oci-spec's rules, and sha256 only): anything built from one can be used in a path.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Digest(oci_spec::image::Digest);

impl Digest {
    /// Parse `sha256:<hex>`.
    pub fn parse(s: &str) -> Result<Digest, Error> {
        let d = oci_spec::image::Digest::from_str(s)
            .map_err(|e| Error::Digest(s.to_string(), e.to_string()))?;
        Digest::try_from(d)
    }

    /// The digest of `data`.
    pub fn of(data: &[u8]) -> Digest {
        let mut h = Hasher::new();
        h.update(data);
        h.finish()
    }

    fn from_sha256(sum: &[u8]) -> Digest {
        let s: oci_spec::image::Sha256Digest = hex::encode(sum)
            .parse()
            .expect("32 bytes make 64 lowercase hex digits");
        Digest(s.into())
    }

    /// The 64 hex digits.
    pub fn hex(&self) -> &str {
        self.0.digest()
    }

    /// `sha256:<hex>`.
    pub fn as_str(&self) -> &str {
        self.0.as_ref()
    }

    /// The oci-spec digest.
    pub fn as_oci(&self) -> &oci_spec::image::Digest {
        &self.0
    }
}

impl TryFrom<oci_spec::image::Digest> for Digest {
    type Error = Error;

    fn try_from(d: oci_spec::image::Digest) -> Result<Digest, Error> {
        match d.algorithm() {
            oci_spec::image::DigestAlgorithm::Sha256 => Ok(Digest(d)),
            other => Err(Error::Digest(
                d.to_string(),
                format!("unsupported digest algorithm {other}"),
            )),
        }
    }
}

impl TryFrom<&oci_spec::image::Digest> for Digest {
    type Error = Error;

    fn try_from(d: &oci_spec::image::Digest) -> Result<Digest, Error> {
        Digest::try_from(d.clone())
    }
}

impl From<Digest> for oci_spec::image::Digest {
    fn from(d: Digest) -> Self {
        d.0
    }
}

impl FromStr for Digest {
    type Err = Error;

    fn from_str(s: &str) -> Result<Digest, Error> {
        Digest::parse(s)
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({})", self.as_str())
    }
}

impl PartialOrd for Digest {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Digest {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl PartialEq<str> for Digest {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Digest {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for Digest {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other
    }
}

impl Serialize for Digest {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Digest, D::Error> {
        let s = String::deserialize(d)?;
        Digest::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A running sha256, ending in a [`Digest`]; also an [`std::io::Write`] sink.
#[derive(Clone, Default)]
pub struct Hasher(Sha256);

impl Hasher {
    pub fn new() -> Hasher {
        Hasher::default()
    }

    pub fn update(&mut self, data: &[u8]) {
        sha2::Digest::update(&mut self.0, data);
    }

    pub fn finish(self) -> Digest {
        Digest::from_sha256(&sha2::Digest::finalize(self.0))
    }
}

impl std::io::Write for Hasher {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_parse_and_print() {
        let empty = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        let d = Digest::of(b"");
        assert_eq!(d.as_str(), empty);
        assert_eq!(d, Digest::parse(empty).expect("parse"));
        assert_eq!(d.hex(), &empty[7..]);
        assert_eq!(
            serde_json::to_string(&d).expect("json"),
            format!("\"{empty}\"")
        );
        let back: Digest = serde_json::from_str(&format!("\"{empty}\"")).expect("json");
        assert_eq!(back, d);
        for bad in [
            "",
            "sha256:",
            "sha256:abc",
            &empty.to_uppercase(),
            &format!("{empty}0"),
            "sha256:../../etc/passwd",
            "md5:d41d8cd98f00b204e9800998ecf8427e",
            "sha512:cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e",
        ] {
            assert!(Digest::parse(bad).is_err(), "{bad}");
        }
    }
}
