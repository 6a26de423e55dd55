//! The string formats the spec lists, read practically (not every corner of the RFCs).

use super::schema::StringFormat;

/// Whether `s` is in the format (a practical reading of each: not every corner of the RFCs).
pub fn format_ok(f: StringFormat, s: &str) -> bool {
    match f {
        StringFormat::Email => email_ok(s),
        StringFormat::Uri => uri_ok(s),
        StringFormat::Date => date_ok(s),
        StringFormat::DateTime => date_time_ok(s),
    }
}

/// `local@domain`: both parts non-empty, no spaces, one `@`, a domain of dot-separated
/// labels of letters, digits and hyphens.
fn email_ok(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    let label_ok = |l: &str| {
        !l.is_empty()
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_alphanumeric() || c == '-')
    };
    !local.is_empty()
        && !local.chars().any(|c| c.is_whitespace() || c == '@')
        && domain.split('.').all(label_ok)
}

/// An absolute URI: `scheme:rest`, the scheme a letter then letters, digits, `+`, `-`, `.`;
/// no spaces.
fn uri_ok(s: &str) -> bool {
    let Some((scheme, rest)) = s.split_once(':') else {
        return false;
    };
    let mut chars = scheme.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        && !rest.is_empty()
        && !s.chars().any(|c| c.is_whitespace() || c.is_control())
}

fn digits(s: &str, n: usize) -> Option<u32> {
    (s.len() == n && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

/// `YYYY-MM-DD`, a real day (leap years counted).
fn date_ok(s: &str) -> bool {
    let mut parts = s.split('-');
    let (Some(y), Some(m), Some(d), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let (Some(y), Some(m), Some(d)) = (digits(y, 4), digits(m, 2), digits(d, 2)) else {
        return false;
    };
    let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&d)
}

/// RFC 3339: `date "T" hh:mm:ss[.frac] ("Z" | ±hh:mm)` (`t` and `z` accepted too).
fn date_time_ok(s: &str) -> bool {
    let Some((date, time)) = s.split_once(['T', 't']) else {
        return false;
    };
    if !date_ok(date) {
        return false;
    }
    let (clock, offset) = if let Some(c) = time.strip_suffix(['Z', 'z']) {
        (c, None)
    } else {
        match time.rsplit_once(['+', '-']) {
            Some((clock, offset)) => (clock, Some(offset)),
            None => return false,
        }
    };
    let (hms, frac) = match clock.split_once('.') {
        Some((hms, frac)) => (hms, Some(frac)),
        None => (clock, None),
    };
    if frac.is_some_and(|f| f.is_empty() || !f.bytes().all(|b| b.is_ascii_digit())) {
        return false;
    }
    let hms_ok = |t: &str, with_seconds: bool| {
        let mut p = t.split(':');
        let two =
            |p: Option<&str>, max: u32| p.and_then(|x| digits(x, 2)).is_some_and(|n| n <= max);
        two(p.next(), 23)
            && two(p.next(), 59)
            // 60: a leap second.
            && (!with_seconds || two(p.next(), 60))
            && p.next().is_none()
    };
    hms_ok(hms, true) && offset.is_none_or(|o| hms_ok(o, false))
}
