//! Output formatting as the docker CLI does it: tables, human durations and sizes, and
//! the subset of Go templates `--format` needs most.

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

/// `--format` of a list command, as the docker CLI reads it: `table TEMPLATE` prints a
/// header line (the template applied to `titles`, each field's column title) and aligns
/// tab-separated cells; `json` is `{{json .}}`; anything else is the template once per
/// row, as is. `\t` and `\n` typed as two characters are a tab and a newline.
/// No format, an empty one or plain `table` is the command's `default` table.
pub fn rows(
    format: Option<&str>,
    default: &str,
    titles: &Value,
    rows: &[Value],
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
    // A bad template is an error even with nothing to list.
    template(&format, titles).map_err(|e| format!("failed to parse template: {e}"))?;
    if let Some(tpl) = format.strip_prefix("table") {
        let tpl = tpl.trim_start();
        let cells = |v: &Value| -> Result<Vec<String>, String> {
            Ok(template(tpl, v)?.split('\t').map(str::to_string).collect())
        };
        let mut lines = vec![cells(titles)?];
        for r in rows {
            lines.push(cells(r)?);
        }
        return Ok(align(&lines, 10));
    }
    let mut out = String::new();
    for r in rows {
        out.push_str(&template(&format, r)?);
        out.push('\n');
    }
    Ok(out)
}

/// `--since`/`--until` as the docker CLI sends them: a duration ago (`10m`, `1h30m`) or an
/// RFC 3339 time as Unix seconds with nanoseconds; anything else (Unix seconds) as given.
pub fn api_time(v: &str) -> String {
    let t = match humantime::parse_duration(v) {
        Ok(d) => std::time::SystemTime::now().checked_sub(d),
        Err(_) => humantime::parse_rfc3339_weak(v.trim_end_matches('Z')).ok(),
    };
    match t.and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok()) {
        Some(t) => format!("{}.{:09}", t.as_secs(), t.subsec_nanos()),
        None => v.to_string(),
    }
}

/// Unix seconds as Go prints a `time.Time` in UTC (`2006-01-02 15:04:05 +0000 UTC`), the
/// docker CLI's `CreatedAt`.
pub fn go_time(secs: i64) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs.max(0) as u64);
    let s = humantime::format_rfc3339_seconds(t).to_string();
    format!(
        "{} +0000 UTC",
        s.trim_end_matches('Z').replacen('T', " ", 1)
    )
}

/// go-units `HumanDuration`.
pub fn human_duration(secs: i64) -> String {
    let s = secs.max(0);
    let (m, h) = (s / 60, (s as f64 / 3600.0).round() as i64);
    if s < 1 {
        "Less than a second".into()
    } else if s == 1 {
        "1 second".into()
    } else if s < 60 {
        format!("{s} seconds")
    } else if m == 1 {
        "About a minute".into()
    } else if m < 60 {
        format!("{m} minutes")
    } else if h == 1 {
        "About an hour".into()
    } else if h < 48 {
        format!("{h} hours")
    } else if h < 24 * 7 * 2 {
        format!("{} days", h / 24)
    } else if h < 24 * 30 * 2 {
        format!("{} weeks", h / 24 / 7)
    } else if h < 24 * 365 * 2 {
        format!("{} months", h / 24 / 30)
    } else {
        format!("{} years", h / 24 / 365)
    }
}

/// go-units `HumanSizeWithPrecision(bytes, 3)`: decimal units, three significant digits
/// (the docker CLI's image and container sizes).
pub fn human_size(bytes: i64) -> String {
    human_size_with_precision(bytes, 3)
}

/// go-units `HumanSize`: four significant digits (the docker CLI's `VirtualSize`).
pub fn human_size_precise(bytes: i64) -> String {
    human_size_with_precision(bytes, 4)
}

/// go-units `HumanSizeWithPrecision`: Go's `%.{precision}g` of the value in decimal units.
fn human_size_with_precision(bytes: i64, precision: usize) -> String {
    let units = ["B", "kB", "MB", "GB", "TB", "PB"];
    let mut v = bytes.max(0) as f64;
    let mut i = 0;
    while v >= 1000.0 && i < units.len() - 1 {
        v /= 1000.0;
        i += 1;
    }
    let int_digits = if v >= 100.0 {
        3
    } else if v >= 10.0 {
        2
    } else {
        1
    };
    let digits = precision.saturating_sub(int_digits);
    let mut s = format!("{v:.digits$}");
    if s.contains('.') {
        s = s.trim_end_matches('0').trim_end_matches('.').to_string();
    }
    format!("{s}{}", units[i])
}

/// Parse `512m`, `1g`, `100k`, `1024` into bytes (binary units, as docker does).
pub fn parse_bytes(s: &str) -> Result<i64, String> {
    let t = s.trim().to_ascii_lowercase();
    let t = t.strip_suffix('b').unwrap_or(&t);
    let (num, mult) = match t.chars().last() {
        Some('k') => (&t[..t.len() - 1], 1i64 << 10),
        Some('m') => (&t[..t.len() - 1], 1 << 20),
        Some('g') => (&t[..t.len() - 1], 1 << 30),
        Some('t') => (&t[..t.len() - 1], 1 << 40),
        _ => (t, 1),
    };
    let n: f64 = num.parse().map_err(|_| format!("invalid size: '{s}'"))?;
    if n < 0.0 {
        return Err(format!("invalid size: '{s}'"));
    }
    Ok((n * mult as f64) as i64)
}

/// Render a Go-template subset: `{{.A.B}}`, `{{json .A}}`, `{{.}}`; text kept as is.
pub fn template(tpl: &str, v: &Value) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = tpl;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find("}}")
            .ok_or_else(|| "template: :1: unclosed action".to_string())?;
        let action = after[..end]
            .trim()
            .trim_start_matches('-')
            .trim_end_matches('-')
            .trim();
        let (json, path) = match action.strip_prefix("json ") {
            Some(p) => (true, p.trim()),
            None => (false, action),
        };
        if !path.starts_with('.') {
            return Err(format!("template: unsupported action {{{{{action}}}}}"));
        }
        let mut cur = v;
        for part in path.split('.').filter(|p| !p.is_empty()) {
            cur = cur.get(part).unwrap_or(&Value::Null);
        }
        if json {
            out.push_str(&serde_json::to_string(cur).unwrap_or_default());
        } else {
            out.push_str(&go_value(cur));
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// How Go's text/template prints a decoded JSON value.
fn go_value(v: &Value) -> String {
    match v {
        Value::Null => "<no value>".into(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Array(a) => format!("[{}]", a.iter().map(go_value).collect::<Vec<_>>().join(" ")),
        Value::Object(o) => format!(
            "map[{}]",
            o.iter()
                .map(|(k, v)| format!("{k}:{}", go_value(v)))
                .collect::<Vec<_>>()
                .join(" ")
        ),
    }
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
    fn durations_and_sizes() {
        assert_eq!(human_duration(0), "Less than a second");
        assert_eq!(human_duration(5), "5 seconds");
        assert_eq!(human_duration(65), "About a minute");
        assert_eq!(human_duration(3 * 3600), "3 hours");
        assert_eq!(human_duration(3 * 86400), "3 days");
        assert_eq!(human_duration(800 * 86400), "2 years");
        assert_eq!(human_size(1_979_000), "1.98MB");
        assert_eq!(human_size(4_261_000), "4.26MB");
        assert_eq!(human_size(117_000_000), "117MB");
        assert_eq!(human_size(0), "0B");
        assert_eq!(parse_bytes("512m").unwrap(), 512 << 20);
        assert_eq!(parse_bytes("1g").unwrap(), 1 << 30);
        assert_eq!(parse_bytes("100").unwrap(), 100);
        assert!(parse_bytes("abc").is_err());
    }

    #[test]
    fn templates() {
        let v = json!({"State": {"Status": "running", "ExitCode": 3}, "Config": {"Env": ["A=1"]}});
        assert_eq!(template("{{.State.Status}}", &v).unwrap(), "running");
        assert_eq!(
            template("code={{ .State.ExitCode }}", &v).unwrap(),
            "code=3"
        );
        assert_eq!(template("{{json .Config.Env}}", &v).unwrap(), "[\"A=1\"]");
        assert_eq!(template("{{.Nope}}", &v).unwrap(), "<no value>");
        assert!(template("{{range .X}}", &v).is_err());
    }

    #[test]
    fn list_formats_like_docker() {
        let titles = json!({"ID": "CONTAINER ID", "Names": "NAMES"});
        let list = [
            json!({"ID": "abc", "Names": "web"}),
            json!({"ID": "d", "Names": "db"}),
        ];
        assert_eq!(
            rows(Some("table {{.ID}}\t{{.Names}}"), "", &titles, &list).unwrap(),
            "CONTAINER ID   NAMES\nabc            web\nd              db\n"
        );
        assert_eq!(
            rows(None, "{{.Names}}:{{.ID}}", &titles, &list).unwrap(),
            "web:abc\ndb:d\n"
        );
        assert_eq!(
            rows(Some("{{json .}}"), "", &titles, &list[..1]).unwrap(),
            "{\"ID\":\"abc\",\"Names\":\"web\"}\n"
        );
        assert_eq!(go_time(1_764_118_255), "2025-11-26 00:50:55 +0000 UTC");
        assert_eq!(api_time("2025-11-26T00:50:55Z"), "1764118255.000000000");
        assert_eq!(api_time("1764118255"), "1764118255");
        let ago: f64 = api_time("10m").parse().unwrap();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        assert!((now - ago - 600.0).abs() < 5.0);
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
}
