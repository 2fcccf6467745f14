//! The `filters=` query parameter of list, prune and events routes: parsed once, checked
//! against the keys a route knows (`invalid filter 'KEY'`, as dockerd), and the matchers
//! several domains share (labels, `until`).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::{Error, Result, time};

/// Parsed `filters=` of the API: `{"k":{"v":true}}` (what the docker CLI sends) or
/// `{"k":["v"]}`.
pub type Filters = BTreeMap<String, Vec<String>>;

/// Parse the `filters` query parameter.
pub fn parse_filters(raw: Option<&str>) -> Result<Filters> {
    let mut out = Filters::new();
    let Some(raw) = raw.filter(|r| !r.trim().is_empty()) else {
        return Ok(out);
    };
    let v: Value =
        serde_json::from_str(raw).map_err(|e| Error::invalid(format!("invalid filter: {e}")))?;
    let Value::Object(map) = v else {
        return Err(Error::invalid("invalid filter: not a JSON object"));
    };
    for (k, vals) in map {
        let list: Vec<String> = match vals {
            Value::Object(m) => m
                .into_iter()
                .filter(|(_, b)| b.as_bool().unwrap_or(true))
                .map(|(v, _)| v)
                .collect(),
            Value::Array(a) => a
                .into_iter()
                .map(|v| match v {
                    Value::String(s) => s,
                    other => other.to_string(),
                })
                .collect(),
            Value::String(s) => vec![s],
            _ => return Err(Error::invalid(format!("invalid filter '{k}'"))),
        };
        out.entry(k).or_default().extend(list);
    }
    Ok(out)
}

/// `invalid filter 'KEY'` for a key not in `allowed`.
pub(crate) fn check_keys(f: &Filters, allowed: &[&str]) -> Result<()> {
    match f.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(Error::invalid(format!("invalid filter '{k}'"))),
        None => Ok(()),
    }
}

/// Docker's `label` filter: every `key` or `key=value` of `wanted` is among the labels
/// (`label(key)` looks one up).
pub(crate) fn labels_match<'a>(
    label: impl Fn(&str) -> Option<&'a String>,
    wanted: &[String],
) -> bool {
    wanted.iter().all(|w| match w.split_once('=') {
        Some((k, v)) => label(k).is_some_and(|x| x == v),
        None => label(w).is_some(),
    })
}

/// `until=`: a Unix timestamp, an RFC 3339 time, or a duration before now (`10m`, `2h`).
pub(crate) fn parse_until(v: &str) -> Result<i64> {
    if let Ok(n) = v.split('.').next().unwrap_or(v).parse::<i64>() {
        return Ok(n);
    }
    if let Some(t) = time::parse(v) {
        return Ok(t
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64));
    }
    if let Ok(d) = humantime::parse_duration(v) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        return Ok(now - d.as_secs() as i64);
    }
    Err(Error::invalid(format!("invalid filter 'until={v}'")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_parse_both_forms() {
        let f = parse_filters(Some(r#"{"dangling":{"true":true},"label":["a=b"]}"#)).unwrap();
        assert_eq!(f["dangling"], ["true"]);
        assert_eq!(f["label"], ["a=b"]);
        assert!(parse_filters(Some("nope")).is_err());
        assert!(parse_filters(None).unwrap().is_empty());
    }
}
