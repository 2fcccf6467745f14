//! Serde helpers for Go's JSON habits: `null` where a value is expected, a string where a
//! list is expected, and `omitempty`.

use serde::{Deserialize, Deserializer, Serialize};

/// `null` (or a missing field, with `#[serde(default)]`) becomes the type's default, as Go
/// leaves a field at its zero value when the JSON says `null`.
pub fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// A string or a list of strings: old clients send `"Cmd": "echo hi"`.
pub fn string_or_vec<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Option::<OneOrMany>::deserialize(d)? {
        None => None,
        Some(OneOrMany::One(s)) if s.is_empty() => Some(Vec::new()),
        Some(OneOrMany::One(s)) => Some(vec![s]),
        Some(OneOrMany::Many(v)) => Some(v),
    })
}

/// `omitempty` for booleans.
pub fn is_false(b: &bool) -> bool {
    !*b
}

/// `omitempty` for numbers.
pub fn is_zero<T: Default + PartialEq>(n: &T) -> bool {
    *n == T::default()
}

/// The `{}` that maps such as `ExposedPorts` and `Volumes` hold as values (whatever a
/// client sent there is dropped: the API defines no fields).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, Deserialize)]
pub struct EmptyObject {}

/// Write an empty map as `null`, as dockerd writes a volume's `Labels` and `Options`.
pub fn null_if_empty<S: serde::Serializer, K: Serialize, V: Serialize>(
    m: &std::collections::BTreeMap<K, V>,
    s: S,
) -> Result<S::Ok, S::Error> {
    if m.is_empty() {
        s.serialize_none()
    } else {
        m.serialize(s)
    }
}
