//! Query strings: [`Query`] builds one with every value percent-encoded; [`Filters`] is the
//! API's `filters` parameter.

use std::collections::BTreeMap;

/// What [`encode`] escapes: everything but RFC 3986's unreserved characters.
const ESCAPED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Percent-encode a query value or a path segment (RFC 3986 unreserved characters kept).
pub fn encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, ESCAPED).to_string()
}

/// A path with its query parameters, in the order they are added.
#[derive(Debug, Clone)]
pub struct Query {
    url: String,
    first: bool,
}

impl Query {
    /// `path` is as given (callers encode ids and names in it with [`encode`]).
    pub fn new(path: impl Into<String>) -> Query {
        Query {
            url: path.into(),
            first: true,
        }
    }

    /// `key=value`, the value encoded.
    pub fn str(mut self, key: &str, value: &str) -> Query {
        self.url.push(if self.first { '?' } else { '&' });
        self.first = false;
        self.url.push_str(key);
        self.url.push('=');
        self.url.push_str(&encode(value));
        self
    }

    /// `key=value` when there is a value.
    pub fn opt(self, key: &str, value: Option<impl ToString>) -> Query {
        match value {
            Some(v) => self.str(key, &v.to_string()),
            None => self,
        }
    }

    /// `key=1` or `key=0`, as the docker CLI sends booleans.
    pub fn flag(self, key: &str, value: bool) -> Query {
        self.str(key, if value { "1" } else { "0" })
    }

    /// `key=` once per value.
    pub fn each<S: AsRef<str>>(mut self, key: &str, values: &[S]) -> Query {
        for v in values {
            self = self.str(key, v.as_ref());
        }
        self
    }

    /// `filters=` when there are any.
    pub fn filters(self, filters: &Filters) -> Query {
        if filters.is_empty() {
            self
        } else {
            self.str("filters", &filters.to_json())
        }
    }

    pub fn build(self) -> String {
        self.url
    }
}

/// The API's `filters` parameter: each key with its values, sent as
/// `{"key":{"value":true}}` (the form the docker CLI sends).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filters(BTreeMap<String, Vec<String>>);

impl Filters {
    pub fn new() -> Filters {
        Filters::default()
    }

    /// Add `value` to `key` (once).
    pub fn add(&mut self, key: impl Into<String>, value: impl Into<String>) -> &mut Filters {
        let values = self.0.entry(key.into()).or_default();
        let value = value.into();
        if !values.contains(&value) {
            values.push(value);
        }
        self
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `key` has a value.
    pub fn has(&self, key: &str) -> bool {
        self.0.contains_key(key)
    }

    pub fn to_json(&self) -> String {
        let map: BTreeMap<&str, BTreeMap<&str, bool>> = self
            .0
            .iter()
            .map(|(k, vs)| (k.as_str(), vs.iter().map(|v| (v.as_str(), true)).collect()))
            .collect();
        serde_json::to_string(&map).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_encode_their_values() {
        let mut f = Filters::new();
        f.add("label", "a=b")
            .add("dangling", "true")
            .add("label", "a=b");
        let q = Query::new("/images/json")
            .flag("all", true)
            .opt("limit", Some(3))
            .opt("since", None::<String>)
            .each("names", &["a b", "c/d:1"])
            .filters(&f)
            .build();
        assert_eq!(
            q,
            "/images/json?all=1&limit=3&names=a%20b&names=c%2Fd%3A1&filters=\
             %7B%22dangling%22%3A%7B%22true%22%3Atrue%7D%2C%22label%22%3A%7B%22a%3Db%22%3Atrue%7D%7D"
        );
        assert_eq!(
            f.to_json(),
            r#"{"dangling":{"true":true},"label":{"a=b":true}}"#
        );
        assert!(f.has("label") && !f.has("all"));
        assert_eq!(Query::new("/x").filters(&Filters::new()).build(), "/x");
    }
}
