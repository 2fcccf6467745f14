//! The round trip the model tests share: parse a body into its type, write it back, and
//! find every field of the body in what comes back, with the same value.

#![allow(dead_code)]

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// The swagger's examples, by definition name or `request|response METHOD PATH [CODE]`.
pub fn examples() -> Map<String, Value> {
    serde_json::from_str(include_str!("../fixtures/swagger/examples.json"))
        .expect("examples.json is JSON")
}

/// Parse `body` as a `T` and write it back; the differences from `body`, as
/// `name path: what` lines, except those `allowed` lists as `(name, path, why)`.
pub fn check<T: DeserializeOwned + Serialize>(
    name: &str,
    body: &Value,
    allowed: &[(&str, &str, &str)],
) -> Vec<String> {
    let mut errors = Vec::new();
    let mut body = body.clone();
    for (n, path, _) in allowed {
        if *n == name {
            remove(&mut body, path);
        }
    }
    let parsed: T = match serde_json::from_value(body.clone()) {
        Ok(t) => t,
        Err(e) => return vec![format!("{name}: does not parse: {e}")],
    };
    let back = match serde_json::to_value(&parsed) {
        Ok(v) => v,
        Err(e) => return vec![format!("{name}: does not serialize: {e}")],
    };
    contains(&body, &back, "", &mut |path, what| {
        errors.push(format!("{name} {path}: {what}"));
    });
    errors
}

/// Remove what `path` (`.A.B`, `[0].A`) names from `v`.
fn remove(v: &mut Value, path: &str) {
    let parts: Vec<String> = path
        .replace('[', ".[")
        .split('.')
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect();
    let Some((last, parents)) = parts.split_last() else {
        return;
    };
    let mut cur = v;
    for p in parents {
        let next = match p.strip_prefix('[').and_then(|i| i.strip_suffix(']')) {
            Some(i) => i.parse::<usize>().ok().and_then(|i| cur.get_mut(i)),
            None => cur.get_mut(p.as_str()),
        };
        match next {
            Some(n) => cur = n,
            None => return,
        }
    }
    if let Some(o) = cur.as_object_mut() {
        o.remove(last.as_str());
    }
}

/// Go leaves these out of its JSON (`omitempty`): a body that has them says the same as
/// one that does not.
fn empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
    }
}

/// Report each field of `want` that `got` lacks or has another value for.
fn contains(want: &Value, got: &Value, path: &str, report: &mut dyn FnMut(&str, String)) {
    match (want, got) {
        (Value::Object(w), Value::Object(g)) => {
            for (k, wv) in w {
                let p = format!("{path}.{k}");
                match g.get(k) {
                    Some(gv) => contains(wv, gv, &p, report),
                    None if empty(wv) => {}
                    None => report(&p, format!("lost (was {wv})")),
                }
            }
        }
        (Value::Array(w), Value::Array(g)) => {
            if w.len() != g.len() {
                report(path, format!("{} items, {} came back", w.len(), g.len()));
                return;
            }
            for (i, (wv, gv)) in w.iter().zip(g).enumerate() {
                contains(wv, gv, &format!("{path}[{i}]"), report);
            }
        }
        (Value::Number(w), Value::Number(g)) if w.as_f64() == g.as_f64() => {}
        (w, g) if w == g => {}
        (w, g) if empty(w) && empty(g) => {}
        (w, g) => report(path, format!("was {w}, came back {g}")),
    }
}
