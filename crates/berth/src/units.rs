//! Sizes, durations and times as the docker CLI shows and reads them (go-units' human
//! sizes and durations, Go's time formats, `--since`/`--until` values, `--memory` sizes).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Now, in Unix seconds.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// go-units `HumanDuration` of `secs` seconds: "Less than a second", "About a minute",
/// "3 hours", "2 weeks"...
pub fn human_duration(secs: i64) -> String {
    let s = secs.max(0);
    let minutes = s / 60;
    let hours = (s as f64 / 3600.0).round() as i64;
    match (s, minutes, hours) {
        (0, ..) => "Less than a second".into(),
        (1, ..) => "1 second".into(),
        (2..=59, ..) => format!("{s} seconds"),
        (_, 1, _) => "About a minute".into(),
        (_, 2..=59, _) => format!("{minutes} minutes"),
        (.., 1) => "About an hour".into(),
        (.., 2..=47) => format!("{hours} hours"),
        (.., h) if h < 24 * 7 * 2 => format!("{} days", h / 24),
        (.., h) if h < 24 * 30 * 2 => format!("{} weeks", h / 24 / 7),
        (.., h) if h < 24 * 365 * 2 => format!("{} months", h / 24 / 30),
        _ => format!("{} years", s / 3600 / 24 / 365),
    }
}

/// go-units `HumanSizeWithPrecision(bytes, 3)`: decimal units, three significant digits
/// (the docker CLI's image and container sizes).
pub fn human_size(bytes: i64) -> String {
    scaled(bytes, 1000.0, &["B", "kB", "MB", "GB", "TB", "PB"], 3)
}

/// go-units `HumanSize`: four significant digits (`VirtualSize`, `system df`).
pub fn human_size_precise(bytes: i64) -> String {
    scaled(bytes, 1000.0, &["B", "kB", "MB", "GB", "TB", "PB"], 4)
}

/// go-units `BytesSize`: binary units, as `docker stats` shows memory.
pub fn human_size_binary(bytes: i64) -> String {
    let (v, unit) = scale(bytes, 1024.0, 4);
    let s = format!("{v:.2}");
    let units = ["B", "KiB", "MiB", "GiB", "TiB"];
    format!(
        "{}{}",
        s.trim_end_matches('0').trim_end_matches('.'),
        units[unit]
    )
}

/// `bytes` divided by `base` until below it (at most `max_unit` times): the value and the
/// unit's index.
fn scale(bytes: i64, base: f64, max_unit: usize) -> (f64, usize) {
    let mut v = bytes.max(0) as f64;
    let mut unit = 0;
    while v >= base && unit < max_unit {
        v /= base;
        unit += 1;
    }
    (v, unit)
}

/// Go's `%.{precision}g` of the scaled value, with its unit.
fn scaled(bytes: i64, base: f64, units: &[&str], precision: usize) -> String {
    let (v, unit) = scale(bytes, base, units.len() - 1);
    let int_digits = match v {
        v if v >= 100.0 => 3,
        v if v >= 10.0 => 2,
        _ => 1,
    };
    let digits = precision.saturating_sub(int_digits);
    let mut s = format!("{v:.digits$}");
    if s.contains('.') {
        s = s.trim_end_matches('0').trim_end_matches('.').to_string();
    }
    format!("{s}{}", units[unit])
}

/// Parse `512m`, `1g`, `100k`, `1024` into bytes (binary units, as docker does).
pub fn parse_bytes(s: &str) -> Result<i64, String> {
    let t = s.trim().to_ascii_lowercase();
    let t = t.strip_suffix('b').unwrap_or(&t);
    let (num, shift) = match t.chars().last() {
        Some('k') => (&t[..t.len() - 1], 10),
        Some('m') => (&t[..t.len() - 1], 20),
        Some('g') => (&t[..t.len() - 1], 30),
        Some('t') => (&t[..t.len() - 1], 40),
        _ => (t, 0),
    };
    let n: f64 = num.parse().map_err(|_| format!("invalid size: '{s}'"))?;
    if n < 0.0 {
        return Err(format!("invalid size: '{s}'"));
    }
    Ok((n * (1i64 << shift) as f64) as i64)
}

/// A size flag that also takes `-1` (unlimited), e.g. `--memory-swap`.
pub fn parse_bytes_or_unlimited(s: &str) -> Result<i64, String> {
    if s == "-1" { Ok(-1) } else { parse_bytes(s) }
}

/// `--since`/`--until` as the docker CLI sends them: a duration ago (`10m`, `1h30m`) or an
/// RFC 3339 time as Unix seconds with nanoseconds; anything else (Unix seconds) as given.
pub fn api_time(v: &str) -> String {
    let t = match humantime::parse_duration(v) {
        Ok(d) => SystemTime::now().checked_sub(d),
        Err(_) => humantime::parse_rfc3339_weak(v.trim_end_matches('Z')).ok(),
    };
    match t.and_then(|t| t.duration_since(UNIX_EPOCH).ok()) {
        Some(t) => format!("{}.{:09}", t.as_secs(), t.subsec_nanos()),
        None => v.to_string(),
    }
}

/// Unix seconds as RFC 3339 in UTC (`2023-11-14T22:13:20Z`).
pub fn rfc3339(secs: i64) -> String {
    let t = UNIX_EPOCH + Duration::from_secs(secs.max(0) as u64);
    humantime::format_rfc3339_seconds(t).to_string()
}

/// Unix seconds as Go prints a `time.Time` in UTC (`2006-01-02 15:04:05 +0000 UTC`), the
/// docker CLI's `CreatedAt`.
pub fn go_time(secs: i64) -> String {
    let s = rfc3339(secs);
    format!(
        "{} +0000 UTC",
        s.trim_end_matches('Z').replacen('T', " ", 1)
    )
}

/// An RFC 3339 time from the API as Go prints the `time.Time` it decodes to
/// (`2025-01-02 03:04:05.5 +0000 UTC`; an offset's zone named by the offset itself,
/// `+0100 +0100`); Go's zero time when it is not one.
pub fn go_time_rfc3339(t: &str) -> String {
    const ZERO: &str = "0001-01-01 00:00:00 +0000 UTC";
    let Some((date, rest)) = t.split_once('T') else {
        return ZERO.into();
    };
    let zone_at = rest.find(['Z', 'z', '+', '-']).unwrap_or(rest.len());
    let (clock, zone) = rest.split_at(zone_at);
    let (hms, frac) = clock.split_once('.').unwrap_or((clock, ""));
    let frac = frac.trim_end_matches('0');
    let zone = match zone {
        "Z" | "z" => "+0000 UTC".to_string(),
        z if z.len() == 6 => {
            let off = z.replace(':', "");
            format!("{off} {off}")
        }
        _ => return ZERO.into(),
    };
    if date.len() != 10 || hms.len() != 8 {
        return ZERO.into();
    }
    let frac = if frac.is_empty() {
        String::new()
    } else {
        format!(".{frac}")
    };
    format!("{date} {hms}{frac} {zone}")
}

/// Unix nanoseconds as RFC 3339 with nanoseconds (`docker events` lines).
pub fn rfc3339_nanos(nanos: i64) -> String {
    let t = UNIX_EPOCH + Duration::from_nanos(nanos.max(0) as u64);
    humantime::format_rfc3339_nanos(t).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_times_as_go_prints_them() {
        assert_eq!(
            go_time_rfc3339("2025-01-02T03:04:05.123456789Z"),
            "2025-01-02 03:04:05.123456789 +0000 UTC"
        );
        assert_eq!(
            go_time_rfc3339("2025-01-01T00:00:00.500+01:00"),
            "2025-01-01 00:00:00.5 +0100 +0100"
        );
        assert_eq!(
            go_time_rfc3339("2025-01-03T00:00:00.000Z"),
            "2025-01-03 00:00:00 +0000 UTC"
        );
        assert_eq!(go_time_rfc3339(""), "0001-01-01 00:00:00 +0000 UTC");
    }

    #[test]
    fn durations_as_go_units() {
        for (secs, want) in [
            (0, "Less than a second"),
            (1, "1 second"),
            (5, "5 seconds"),
            (65, "About a minute"),
            (47 * 60, "47 minutes"),
            (3600, "About an hour"),
            (3 * 3600, "3 hours"),
            (3 * 86400, "3 days"),
            (20 * 86400, "2 weeks"),
            (90 * 86400, "3 months"),
            (800 * 86400, "2 years"),
        ] {
            assert_eq!(human_duration(secs), want, "{secs}");
        }
    }

    #[test]
    fn sizes_as_go_units() {
        assert_eq!(human_size(1_979_000), "1.98MB");
        assert_eq!(human_size(4_261_000), "4.26MB");
        assert_eq!(human_size(117_000_000), "117MB");
        assert_eq!(human_size(0), "0B");
        assert_eq!(human_size_precise(4_982_472), "4.982MB");
        assert_eq!(human_size_binary(1536), "1.5KiB");
        assert_eq!(human_size_binary(0), "0B");
        assert_eq!(parse_bytes("512m").unwrap(), 512 << 20);
        assert_eq!(parse_bytes("1g").unwrap(), 1 << 30);
        assert_eq!(parse_bytes("100").unwrap(), 100);
        assert_eq!(parse_bytes("64MB").unwrap(), 64 << 20);
        assert!(parse_bytes("abc").is_err());
        assert_eq!(parse_bytes_or_unlimited("-1").unwrap(), -1);
    }

    #[test]
    fn times_as_docker_prints_them() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(go_time(1_764_118_255), "2025-11-26 00:50:55 +0000 UTC");
        assert_eq!(api_time("2025-11-26T00:50:55Z"), "1764118255.000000000");
        assert_eq!(api_time("1764118255"), "1764118255");
        let ago: f64 = api_time("10m").parse().unwrap();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        assert!((now - ago - 600.0).abs() < 5.0);
        assert_eq!(
            rfc3339_nanos(1_764_118_255_000_000_001),
            "2025-11-26T00:50:55.000000001Z"
        );
    }
}
