//! API version negotiation: `/v1.NN/...` prefixes, accepted from 1.24 to 1.50. The
//! version a request names is put in its extensions ([`ApiVersion`]) for the handlers,
//! which adapt requests and answers to it with [`berth_models::compat`].

use axum::http::{StatusCode, Uri};

use crate::error::ApiError;

pub use berth_models::version::{ApiVersion, MAX, MIN};

/// Strip a `/vX.Y` prefix from `uri`. Returns the version the request speaks (MAX when it
/// names none) and the URI without the prefix, or an error for a version out of range.
pub fn split(uri: &Uri) -> Result<(ApiVersion, Option<Uri>), ApiError> {
    let path = uri.path();
    let Some(rest) = path.strip_prefix("/v") else {
        return Ok((MAX, None));
    };
    let (ver, tail) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let Some(v) = ApiVersion::parse(ver) else {
        return Ok((MAX, None));
    };
    if v > MAX {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("client version {v} is too new. Maximum supported API version is {MAX}"),
        ));
    }
    if v < MIN {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            format!(
                "client version {v} is too old. Minimum supported API version is {MIN}, please upgrade your client to a newer version"
            ),
        ));
    }
    let pq = match uri.query() {
        Some(q) => format!("{tail}?{q}"),
        None => tail.to_string(),
    };
    let new = pq
        .parse::<Uri>()
        .map_err(|e| ApiError::bad_request(format!("invalid request path: {e}")))?;
    Ok((v, Some(new)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_prefix_and_checks_range() {
        let (v, u) = split(&"/v1.50/containers/json?all=1".parse().expect("uri")).expect("ok");
        assert_eq!(v, ApiVersion(1, 50));
        assert_eq!(u.expect("rewritten").to_string(), "/containers/json?all=1");
        let (v, u) = split(&"/_ping".parse().expect("uri")).expect("ok");
        assert_eq!(v, MAX);
        assert!(u.is_none());
        let (v, _) = split(&"/v1.24/info".parse().expect("uri")).expect("ok");
        assert_eq!(v, ApiVersion(1, 24));
        let e = split(&"/v1.51/info".parse().expect("uri")).expect_err("too new");
        assert!(e.message.contains("too new"), "{}", e.message);
        let e = split(&"/v1.12/info".parse().expect("uri")).expect_err("too old");
        assert!(e.message.contains("too old"), "{}", e.message);
        assert!(ApiVersion(1, 9) < ApiVersion(1, 24));
    }
}
