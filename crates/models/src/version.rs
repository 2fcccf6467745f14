//! API versions: [`ApiVersion`] and the range Berth speaks ([`MIN`] to [`MAX`]). What
//! differs between versions is in [`crate::compat`].

use std::fmt;

/// An Engine API version, e.g. 1.50 as `ApiVersion(1, 50)`; ordered as versions are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ApiVersion(pub u32, pub u32);

/// Lowest API version Berth accepts.
pub const MIN: ApiVersion = ApiVersion(1, 24);
/// Highest API version Berth speaks (what docker CLI 28 asks for).
pub const MAX: ApiVersion = ApiVersion(1, 50);

impl ApiVersion {
    /// `"1.41"` → `ApiVersion(1, 41)`; `None` for anything else.
    pub fn parse(s: &str) -> Option<ApiVersion> {
        let (a, b) = s.split_once('.')?;
        Some(ApiVersion(a.parse().ok()?, b.parse().ok()?))
    }
}

impl fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.0, self.1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_orders() {
        assert_eq!(ApiVersion::parse("1.41"), Some(ApiVersion(1, 41)));
        assert_eq!(ApiVersion::parse("1"), None);
        assert_eq!(ApiVersion::parse("1.x"), None);
        assert!(ApiVersion(1, 9) < ApiVersion(1, 24));
        assert!(ApiVersion(1, 50) > ApiVersion(1, 49));
        assert_eq!(MAX.to_string(), crate::API_VERSION_MAX);
        assert_eq!(MIN.to_string(), crate::API_VERSION_MIN);
    }
}
