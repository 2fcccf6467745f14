//! Output as the docker CLI prints it: aligned tables ([`table`]), `--format` templates
//! ([`Template`]: Go's text/template through the `gotmpl` crate, with the docker CLI's
//! functions `json`, `join`, `split`, `title`, `lower`, `upper`, `pad`, `truncate`),
//! list output with `table`/`json`/template formats ([`rows`]), and JSON as `inspect`
//! prints it ([`indent_json`]).
//!
//! Template data is the typed answer serialized (the `berth-models` types, or a list
//! command's row type), so fields are named and shaped as the docker CLI's. Go's `json` of
//! a struct keeps its field order; gotmpl's maps are sorted, so `json` looks the value up
//! in the data it was converted from (by the identity of gotmpl's shared map or list) and
//! prints that, in the typed value's order; values a template builds itself (e.g. `split`)
//! print as Go prints maps, keys sorted.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use gotmpl::Value as Tv;
use serde::Serialize;
use serde_json::Value;

/// Columns padded to their widest cell plus three spaces, at least ten wide (the docker
/// CLI's tabwriter settings).
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    table_min(10, header, rows)
}

/// [`table`] with columns at least `min` wide (`top`'s tabwriter has 20).
pub fn table_min(min: usize, header: &[&str], rows: &[Vec<String>]) -> String {
    let mut lines = vec![header.iter().map(|h| h.to_string()).collect()];
    lines.extend(rows.iter().cloned());
    align(&lines, min)
}

/// Lines of cells as the docker CLI's tabwriter (padding 3, columns at least `min` wide)
/// aligns them: every cell but a line's last one is padded to its column's width.
fn align(lines: &[Vec<String>], min: usize) -> String {
    let mut widths: Vec<usize> = Vec::new();
    for l in lines {
        for (i, c) in l.iter().enumerate().take(l.len().saturating_sub(1)) {
            let w = (c.chars().count() + 3).max(min);
            match widths.get_mut(i) {
                Some(x) => *x = (*x).max(w),
                None => widths.push(w),
            }
        }
    }
    let mut out = String::new();
    for l in lines {
        let mut s = String::new();
        for (i, c) in l.iter().enumerate() {
            s.push_str(c);
            if i + 1 < l.len() {
                s.push_str(&" ".repeat(widths[i] - c.chars().count()));
            }
        }
        out.push_str(s.trim_end());
        out.push('\n');
    }
    out
}

/// The values `json` prints in their typed order, by the address of gotmpl's shared map
/// or list made from them.
type Originals = Arc<Mutex<HashMap<usize, Value>>>;

/// A parsed `--format` template with the docker CLI's functions.
pub struct Template {
    tmpl: gotmpl::Template,
    originals: Originals,
}

impl Template {
    /// Parse `src` (errors as Go's parser reports them).
    pub fn parse(src: &str) -> Result<Template, String> {
        Template::with_functions(src, false)
    }

    /// Parse `src` for a table header: `json`, `split`, `join`, `title`, `lower`, `upper`
    /// and `truncate` leave the column title as it is (the docker CLI's
    /// `HeaderFunctions`).
    fn header(src: &str) -> Result<Template, String> {
        Template::with_functions(src, true)
    }

    fn with_functions(src: &str, header: bool) -> Result<Template, String> {
        let originals = Originals::default();
        let seen = originals.clone();
        let mut t = gotmpl::Template::new("").func("json", move |a| Ok(json(&seen, arg(a, 0))));
        if header {
            for name in [
                "split", "join", "title", "lower", "upper", "truncate", "json",
            ] {
                t = t.func(name, |a| Ok(arg(a, 0).clone()));
            }
        } else {
            t = t
                .func("split", |a| {
                    let (s, sep) = (text(a, 0, "split")?, text(a, 1, "split")?);
                    let parts: Vec<Tv> = if sep.is_empty() {
                        s.chars()
                            .map(|c| Tv::String(c.to_string().into()))
                            .collect()
                    } else {
                        s.split(sep).map(|p| Tv::String(p.into())).collect()
                    };
                    Ok(Tv::List(parts.into()))
                })
                .func("join", |a| {
                    let Tv::List(items) = arg(a, 0) else {
                        return Err(wrong_type("join", "[]string", arg(a, 0)));
                    };
                    let sep = text(a, 1, "join")?;
                    let items: Vec<String> = items.iter().map(ToString::to_string).collect();
                    Ok(Tv::String(items.join(sep).into()))
                })
                .func("title", |a| {
                    Ok(Tv::String(title(text(a, 0, "title")?).into()))
                })
                .func("lower", |a| {
                    Ok(Tv::String(text(a, 0, "lower")?.to_lowercase().into()))
                })
                .func("upper", |a| {
                    Ok(Tv::String(text(a, 0, "upper")?.to_uppercase().into()))
                })
                .func("truncate", |a| {
                    let s = text(a, 0, "truncate")?;
                    let n = number(a, 1, "truncate")?;
                    Ok(Tv::String(truncate(s, n).into()))
                });
        }
        let tmpl = t
            .func("pad", |a| {
                let s = text(a, 0, "pad")?;
                let (before, after) = (number(a, 1, "pad")?, number(a, 2, "pad")?);
                if s.is_empty() {
                    return Ok(Tv::String("".into()));
                }
                Ok(Tv::String(
                    format!("{}{s}{}", " ".repeat(before), " ".repeat(after)).into(),
                ))
            })
            .parse(src)
            .map_err(|e| e.to_string())?;
        Ok(Template { tmpl, originals })
    }

    /// Execute with `data` (a typed value, serialized) as dot.
    pub fn render(&self, data: &impl Serialize) -> Result<String, String> {
        let data = serde_json::to_value(data).map_err(|e| e.to_string())?;
        self.render_value(&data)
    }

    fn render_value(&self, data: &Value) -> Result<String, String> {
        let mut originals = self.originals.lock().map_err(|e| e.to_string())?;
        originals.clear();
        let dot = convert(data, &mut originals);
        drop(originals);
        let out = self.tmpl.execute_to_string(&dot).map_err(|e| e.to_string());
        if let Ok(mut o) = self.originals.lock() {
            o.clear();
        }
        out
    }
}

/// The `i`th argument of a template function (nil when missing).
fn arg(args: &[Tv], i: usize) -> &Tv {
    args.get(i).unwrap_or(&Tv::Nil)
}

fn wrong_type(func: &str, want: &str, got: &Tv) -> gotmpl::TemplateError {
    gotmpl::TemplateError::Exec(format!(
        "error calling {func}: wrong type for value; expected {want}; got {}",
        got.type_name()
    ))
}

/// A string argument, as Go's typed functions take it.
fn text<'a>(args: &'a [Tv], i: usize, func: &str) -> Result<&'a str, gotmpl::TemplateError> {
    arg(args, i)
        .as_str()
        .ok_or_else(|| wrong_type(func, "string", arg(args, i)))
}

/// A non-negative int argument.
fn number(args: &[Tv], i: usize, func: &str) -> Result<usize, gotmpl::TemplateError> {
    match arg(args, i) {
        Tv::Int(n) => Ok((*n).max(0) as usize),
        Tv::Uint(n) => Ok(*n as usize),
        other => Err(wrong_type(func, "int", other)),
    }
}

/// Go's `strings.Title`: the first letter of each word in upper case.
fn title(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut after_separator = true;
    for c in s.chars() {
        if after_separator {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        after_separator = !(c.is_alphanumeric() || c == '_');
    }
    out
}

/// The docker CLI's `truncate`: the first `n` bytes, when there are `n` or more (cut at a
/// character boundary here).
fn truncate(s: &str, n: usize) -> &str {
    if s.len() < n {
        return s;
    }
    let mut end = n;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Fields the docker CLI's Go types name otherwise than their JSON (templates see the Go
/// names): `{{.ID}}` of an inspected container or image, `{{.Server.APIVersion}}` of
/// `version`. Both names work, as with the docker CLI's typed data and its raw fallback.
const GO_NAMES: &[(&str, &str)] = &[("Id", "ID"), ("ApiVersion", "APIVersion")];

/// A JSON value as template data: objects as maps, arrays as lists; each map and list
/// remembered with the value it was made from, for `json`.
fn convert(v: &Value, originals: &mut HashMap<usize, Value>) -> Tv {
    match v {
        Value::Null => Tv::Nil,
        Value::Bool(b) => Tv::Bool(*b),
        Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => Tv::Int(i),
            (None, Some(u)) => Tv::Uint(u),
            _ => Tv::Float(n.as_f64().unwrap_or(0.0)),
        },
        Value::String(s) => Tv::String(s.as_str().into()),
        Value::Array(items) => {
            let list: Arc<[Tv]> = items.iter().map(|i| convert(i, originals)).collect();
            originals.insert(Arc::as_ptr(&list) as *const () as usize, v.clone());
            Tv::List(list)
        }
        Value::Object(fields) => {
            let mut map: BTreeMap<Arc<str>, Tv> = fields
                .iter()
                .map(|(k, f)| (Arc::from(k.as_str()), convert(f, originals)))
                .collect();
            for (json, go) in GO_NAMES {
                if let Some(v) = map.get(*json).cloned() {
                    map.entry(Arc::from(*go)).or_insert(v);
                }
            }
            let map = Arc::new(map);
            originals.insert(Arc::as_ptr(&map) as usize, v.clone());
            Tv::Map(map)
        }
    }
}

/// The docker CLI's `json`: the value as JSON, without HTML escaping.
fn json(originals: &Originals, v: &Tv) -> Tv {
    let known = |addr: usize| originals.lock().ok()?.get(&addr).cloned();
    let value = match v {
        Tv::List(l) => known(Arc::as_ptr(l) as *const () as usize),
        Tv::Map(m) => known(Arc::as_ptr(m) as usize),
        _ => None,
    }
    .unwrap_or_else(|| to_json(v));
    Tv::String(serde_json::to_string(&value).unwrap_or_default().into())
}

/// Template data back to JSON (maps with their keys sorted, as Go encodes maps).
fn to_json(v: &Tv) -> Value {
    match v {
        Tv::Nil | Tv::Function(_) => Value::Null,
        Tv::Bool(b) => Value::Bool(*b),
        Tv::Int(i) => Value::from(*i),
        Tv::Uint(u) => Value::from(*u),
        Tv::Float(f) => Value::from(*f),
        Tv::String(s) => Value::from(s.as_ref()),
        Tv::List(l) => Value::Array(l.iter().map(to_json).collect()),
        Tv::Map(m) => Value::Object(m.iter().map(|(k, v)| (k.to_string(), to_json(v))).collect()),
    }
}

/// `--format` of a list command, as the docker CLI reads it: `table TEMPLATE` prints a
/// header line (the template applied to `titles`, each field's column title) and aligns
/// tab-separated cells; `json` is `{{json .}}`; anything else is the template once per
/// row, as is. `\t` and `\n` typed as two characters are a tab and a newline.
/// No format, an empty one or plain `table` is the command's `default` table.
pub fn rows<R: Serialize>(
    format: Option<&str>,
    default: &str,
    titles: &R,
    rows: &[R],
) -> Result<String, String> {
    let format = match format {
        None | Some("") | Some("table") => default,
        Some(f) => f,
    };
    let format = format.replace("\\t", "\t").replace("\\n", "\n");
    if format == "json" || format == "{{json .}}" {
        // Each row as the docker CLI marshals it (Go's encoding/json escapes <, > and &).
        let mut out = String::new();
        for r in rows {
            let line = serde_json::to_string(r).map_err(|e| e.to_string())?;
            out.push_str(
                &line
                    .replace('<', "\\u003c")
                    .replace('>', "\\u003e")
                    .replace('&', "\\u0026"),
            );
            out.push('\n');
        }
        return Ok(out);
    }
    let parse_error = |e: String| format!("failed to parse template: {e}");
    let exec_error = |e: String| format!("failed to execute template: {e}");
    if let Some(tpl) = format.strip_prefix("table") {
        let tpl = tpl.trim();
        let header = Template::header(tpl).map_err(parse_error)?;
        let body = Template::parse(tpl).map_err(parse_error)?;
        let cells = |t: &Template, r: &R| -> Result<Vec<String>, String> {
            let line = t.render(r).map_err(exec_error)?;
            Ok(line.split('\t').map(str::to_string).collect())
        };
        let mut lines = vec![cells(&header, titles)?];
        for r in rows {
            lines.push(cells(&body, r)?);
        }
        return Ok(align(&lines, 10));
    }
    let t = Template::parse(&format).map_err(parse_error)?;
    let mut out = String::new();
    for r in rows {
        out.push_str(&t.render(r).map_err(exec_error)?);
        out.push('\n');
    }
    Ok(out)
}

/// JSON answers as the docker CLI prints them for `inspect` (Go's `json.Indent` of the
/// daemon's bytes, four spaces): the daemon's text and field order kept, whitespace
/// outside strings replaced. The values are joined in one array.
pub fn indent_json(values: &[&[u8]]) -> String {
    let mut out = String::from("[");
    let mut depth = 1usize;
    let mut empty = true;
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        out.push_str(&"    ".repeat(depth));
    };
    for (n, raw) in values.iter().enumerate() {
        if n > 0 {
            out.push(',');
        }
        newline(&mut out, depth);
        let text = String::from_utf8_lossy(raw);
        let mut chars = text.chars().peekable();
        let mut in_string = false;
        while let Some(c) = chars.next() {
            if in_string {
                out.push(c);
                match c {
                    '\\' => out.extend(chars.next()),
                    '"' => in_string = false,
                    _ => {}
                }
                continue;
            }
            match c {
                ' ' | '\t' | '\n' | '\r' => {}
                '"' => {
                    in_string = true;
                    out.push(c);
                }
                '{' | '[' => {
                    out.push(c);
                    depth += 1;
                    empty = true;
                    // An empty object or array stays `{}` / `[]`.
                    while chars.peek().is_some_and(|c| c.is_ascii_whitespace()) {
                        chars.next();
                    }
                    if !matches!(chars.peek(), Some('}' | ']')) {
                        empty = false;
                        newline(&mut out, depth);
                    }
                }
                '}' | ']' => {
                    depth -= 1;
                    if !empty {
                        newline(&mut out, depth);
                    }
                    empty = false;
                    out.push(c);
                }
                ',' => {
                    out.push(c);
                    newline(&mut out, depth);
                }
                ':' => out.push_str(": "),
                _ => out.push(c),
            }
        }
    }
    if values.is_empty() {
        return "[]".into();
    }
    out.push_str("\n]");
    out
}

/// The docker CLI's sort order for names (`sortorder.NaturalLess`): runs of digits
/// compared as numbers (`n2` before `n10`), digits before other bytes, the rest bytewise.
pub fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        let (da, db) = (a[i].is_ascii_digit(), b[j].is_ascii_digit());
        if da != db {
            return if da {
                Ordering::Less
            } else {
                Ordering::Greater
            };
        }
        if !da {
            if a[i] != b[j] {
                return a[i].cmp(&b[j]);
            }
            i += 1;
            j += 1;
            continue;
        }
        // Numbers: leading zeros skipped, then the shorter is less, then bytewise, then
        // the one with fewer zeros.
        let (za, zb) = (i, j);
        while i < a.len() && a[i] == b'0' {
            i += 1;
        }
        while j < b.len() && b[j] == b'0' {
            j += 1;
        }
        let (na, nb) = (i, j);
        while i < a.len() && a[i].is_ascii_digit() {
            i += 1;
        }
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
        let order = (i - na)
            .cmp(&(j - nb))
            .then_with(|| a[na..i].cmp(&b[nb..j]))
            .then_with(|| (na - za).cmp(&(nb - zb)));
        if order != Ordering::Equal {
            return order;
        }
    }
    (a.len() - i).cmp(&(b.len() - j))
}

/// `"sh -c 'echo…"`-style command column: quoted, at most 20 characters.
pub fn truncate_command(cmd: &str, full: bool) -> String {
    if full || cmd.chars().count() <= 20 {
        return format!("\"{cmd}\"");
    }
    let cut: String = cmd.chars().take(19).collect();
    format!("\"{cut}…\"")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_in_natural_order() {
        let mut names = vec!["n10", "bridge", "n2", "n02", "host", "a1b", "a01b", "1x"];
        names.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(
            names,
            ["1x", "a1b", "a01b", "bridge", "host", "n2", "n02", "n10"]
        );
    }

    fn render(tpl: &str, data: &Value) -> String {
        Template::parse(tpl).unwrap().render(data).unwrap()
    }

    /// The examples of the docker CLI's "Format command and log output" page and its
    /// command references, on an inspect-shaped value; outputs as the docker CLI 28 prints
    /// them.
    #[test]
    fn docker_docs_template_examples() {
        let c = json!({
            "Id": "c1",
            "Name": "/web_1",
            "Image": "busybox:1.36",
            "Args": ["-c", "sleep 1000"],
            "State": {"Status": "running", "Running": true, "ExitCode": 0, "Health": null},
            "Config": {"Env": ["PATH=/bin", "A=1"], "Labels": {"b": "2", "a": "1"}},
            "Mounts": [{"Type": "bind", "Source": "/h", "Destination": "/c", "RW": true}],
            "NetworkSettings": {"Networks": {
                "bridge": {"IPAddress": "172.17.0.2"},
                "back": {"IPAddress": "10.0.0.5"}
            }},
        });
        for (tpl, want) in [
            (r#"{{join .Args " , "}}"#, "-c , sleep 1000"),
            (
                "{{json .Mounts}}",
                r#"[{"Type":"bind","Source":"/h","Destination":"/c","RW":true}]"#,
            ),
            ("{{lower .Name}}", "/web_1"),
            (r#"{{split .Image ":"}}"#, "[busybox 1.36]"),
            ("{{title .Name}}", "/Web_1"),
            ("{{upper .Name}}", "/WEB_1"),
            (
                "{{range .NetworkSettings.Networks}}{{println .IPAddress}}{{end}}",
                "10.0.0.5\n172.17.0.2\n",
            ),
            ("{{.State.Status}}", "running"),
            ("code={{ .State.ExitCode }}", "code=0"),
            ("{{json .Config.Env}}", r#"["PATH=/bin","A=1"]"#),
            // A struct's fields in their order, a map's sorted.
            (
                "{{json .State}}",
                r#"{"Status":"running","Running":true,"ExitCode":0,"Health":null}"#,
            ),
            ("{{json .Config.Labels}}", r#"{"b":"2","a":"1"}"#),
            ("{{.Config.Labels}}", "map[a:1 b:2]"),
            (r#"{{index .Config.Labels "b"}}"#, "2"),
            ("{{len .Config.Env}}", "2"),
            ("{{if .State.Running}}up{{else}}down{{end}}", "up"),
            ("{{with .State}}{{.Status}}{{end}}", "running"),
            (
                r#"{{printf "%s:%d" .State.Status .State.ExitCode}}"#,
                "running:0",
            ),
            (
                r#"{{range $i, $e := .Config.Env}}{{$i}}={{$e}};{{end}}"#,
                "0=PATH=/bin;1=A=1;",
            ),
            ("{{json .State.Health}}", "null"),
            (
                r#"{{pad .Image 1 2}}|{{truncate .Image 4}}"#,
                " busybox:1.36  |busy",
            ),
            (r#"{{json (split .Image ":")}}"#, r#"["busybox","1.36"]"#),
            ("{{.Nope}}", "<no value>"),
            // Go's field names where they differ from the JSON's.
            ("{{.ID}} {{.Id}}", "c1 c1"),
        ] {
            assert_eq!(render(tpl, &c), want, "{tpl}");
        }
        assert!(Template::parse("{{.Names").is_err());
        // An unknown function fails (Go: when parsed; gotmpl: when run).
        assert!(
            Template::parse("{{nope .X}}")
                .and_then(|t| t.render(&c))
                .is_err()
        );
        let t = Template::parse("{{upper .State.Running}}").unwrap();
        assert!(t.render(&c).is_err());
    }

    #[test]
    fn list_formats_like_docker() {
        let titles = json!({"ID": "CONTAINER ID", "Names": "NAMES", "Image": "IMAGE"});
        let list = [
            json!({"ID": "abc", "Names": "web", "Image": "<none>"}),
            json!({"ID": "d", "Names": "db", "Image": "busybox"}),
        ];
        assert_eq!(
            rows(Some("table {{.ID}}\t{{.Names}}"), "", &titles, &list).unwrap(),
            "CONTAINER ID   NAMES\nabc            web\nd              db\n"
        );
        // Header functions leave titles as they are; `pad` still pads.
        assert_eq!(
            rows(
                Some(r"table {{upper .Names}}\t{{pad .ID 1 0}}"),
                "",
                &titles,
                &list
            )
            .unwrap(),
            "NAMES      CONTAINER ID\nWEB        abc\nDB         d\n"
        );
        assert_eq!(
            rows(None, "{{.Names}}:{{.ID}}", &titles, &list).unwrap(),
            "web:abc\ndb:d\n"
        );
        assert_eq!(
            rows(Some("json"), "", &titles, &list[..1]).unwrap(),
            "{\"ID\":\"abc\",\"Names\":\"web\",\"Image\":\"\\u003cnone\\u003e\"}\n"
        );
        let bad = rows(Some("{{.Names"), "", &titles, &list).unwrap_err();
        assert!(bad.starts_with("failed to parse template: "), "{bad}");
    }

    #[test]
    fn tables_pad_like_docker() {
        let t = table(&["A", "BB"], &[vec!["xyz".into(), "1".into()]]);
        assert_eq!(t, "A         BB\nxyz       1\n");
        let t = table(&["NAME", "X"], &[vec!["a-long-name".into(), "1".into()]]);
        assert_eq!(t, "NAME          X\na-long-name   1\n");
        assert_eq!(
            truncate_command("sh -c echo started; sleep 1000", false),
            "\"sh -c echo started;…\""
        );
    }

    #[test]
    fn inspect_json_is_indented_like_go() {
        let raw = br#"{"Id":"x","Args":[],"State":{"A":1,"B":"a, b: {c}"},"L":[1,2],"E":{}}"#;
        assert_eq!(
            indent_json(&[raw, b"{}"]),
            "[\n    {\n        \"Id\": \"x\",\n        \"Args\": [],\n        \"State\": {\n            \"A\": 1,\n            \"B\": \"a, b: {c}\"\n        },\n        \"L\": [\n            1,\n            2\n        ],\n        \"E\": {}\n    },\n    {}\n]"
        );
        assert_eq!(indent_json(&[]), "[]");
    }
}
