//! What code decides about a delivery request: required fields, formats (UK postcode, UK
//! phone number, e-mail, date, time window), the date in the future and within a year,
//! lengths. Each check also normalises the value (`sw1a1aa` -> `SW1A 1AA`, `tomorrow` -> an
//! ISO date).

use super::DeliveryRequest;
use schemars::JsonSchema;
use serde::Serialize;

/// Deliveries are booked at most this many days ahead.
pub const MAX_DAYS_AHEAD: i64 = 365;
/// Longest value of any field, in characters (instructions aside).
const MAX_FIELD_CHARS: usize = 200;
/// Longest delivery instructions, in characters.
pub const MAX_INSTRUCTIONS_CHARS: usize = 500;
/// Delivery hours: the earliest start and latest end of a time window, in minutes.
const DAY_START: u32 = 8 * 60;
const DAY_END: u32 = 20 * 60;

/// Something wrong with one field.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Problem {
    /// The field (`postcode`, `date`, ...).
    pub field: String,
    /// What is wrong, in one sentence.
    pub problem: String,
    /// Who found it: `code` or `model`.
    pub found_by: String,
}

impl Problem {
    pub(crate) fn code(field: &str, problem: impl Into<String>) -> Problem {
        Problem {
            field: field.into(),
            problem: problem.into(),
            found_by: "code".into(),
        }
    }
}

/// A calendar date (proleptic Gregorian).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date {
    /// The year.
    pub year: i64,
    /// The month, 1-12.
    pub month: u32,
    /// The day, 1-31.
    pub day: u32,
}

impl Date {
    /// The date `days` days after 1970-01-01 (negative: before).
    pub fn from_days(days: i64) -> Date {
        // Howard Hinnant's civil_from_days.
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = yoe + era * 400 + i64::from(month <= 2);
        Date { year, month, day }
    }

    /// Days since 1970-01-01.
    pub fn days(self) -> i64 {
        let y = self.year - i64::from(self.month <= 2);
        let era = y.div_euclid(400);
        let yoe = y.rem_euclid(400);
        let m = i64::from(self.month);
        let mp = if m > 2 { m - 3 } else { m + 9 };
        let doy = (153 * mp + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// The date if `year-month-day` exists.
    pub fn new(year: i64, month: u32, day: u32) -> Option<Date> {
        let d = Date { year, month, day };
        ((1..=12).contains(&month) && day >= 1 && Date::from_days(d.days()) == d).then_some(d)
    }

    /// Today in UTC, by `clock`.
    pub fn today(clock: &dyn mcp_proto::clock::Clock) -> Date {
        let secs = match clock.now().duration_since(std::time::UNIX_EPOCH) {
            Ok(d) => d.as_secs() as i64,
            Err(e) => -(e.duration().as_secs() as i64),
        };
        Date::from_days(secs.div_euclid(86_400))
    }

    /// Its day of the week, in English.
    pub fn weekday(self) -> &'static str {
        const NAMES: [&str; 7] = [
            "Thursday",
            "Friday",
            "Saturday",
            "Sunday",
            "Monday",
            "Tuesday",
            "Wednesday",
        ];
        NAMES[self.days().rem_euclid(7) as usize]
    }
}

impl std::fmt::Display for Date {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// Reads a date: `YYYY-MM-DD`, `DD/MM/YYYY` (British order), `today`, `tomorrow` or
/// `in N days`.
pub fn parse_date(s: &str, today: Date) -> Result<Date, String> {
    let s = s.trim().to_lowercase();
    let relative = match s.as_str() {
        "today" => Some(0),
        "tomorrow" => Some(1),
        _ => s
            .strip_prefix("in ")
            .and_then(|r| r.strip_suffix(" days").or_else(|| r.strip_suffix(" day")))
            .and_then(|n| n.trim().parse::<i64>().ok())
            .filter(|n| (0..=10_000).contains(n)),
    };
    if let Some(n) = relative {
        return Ok(Date::from_days(today.days() + n));
    }
    let nums = |parts: Vec<&str>| -> Option<Vec<i64>> {
        parts.iter().map(|p| p.parse::<i64>().ok()).collect()
    };
    let ymd = if s.contains('-') {
        nums(s.split('-').collect()).filter(|v| v.len() == 3 && v[0] >= 1000)
    } else if s.contains('/') {
        nums(s.split('/').collect())
            .filter(|v| v.len() == 3 && v[2] >= 1000)
            .map(|v| vec![v[2], v[1], v[0]])
    } else {
        None
    };
    let Some(v) = ymd else {
        return Err(format!(
            "{s:?} is not a date: write it as YYYY-MM-DD (or DD/MM/YYYY, tomorrow, in N days)"
        ));
    };
    let valid = u32::try_from(v[1])
        .ok()
        .zip(u32::try_from(v[2]).ok())
        .and_then(|(m, d)| Date::new(v[0], m, d));
    valid.ok_or_else(|| format!("{s:?} is not a day of the calendar"))
}

/// A UK postcode, normalised (`SW1A 1AA`): an outward code (letter, then 1-3 letters or
/// digits) and an inward code (a digit and two letters).
pub fn postcode(s: &str) -> Result<String, String> {
    let compact: String = s
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_uppercase();
    let chars: Vec<char> = compact.chars().collect();
    let ok = (5..=7).contains(&chars.len())
        && chars.iter().all(char::is_ascii_alphanumeric)
        && chars[0].is_ascii_alphabetic()
        && {
            let (out, inward) = chars.split_at(chars.len() - 3);
            out.iter().any(char::is_ascii_digit)
                && inward[0].is_ascii_digit()
                && inward[1..].iter().all(char::is_ascii_alphabetic)
        };
    if !ok {
        return Err(format!(
            "{:?} is not a UK postcode (like SW1A 1AA or M1 1AE)",
            s.trim()
        ));
    }
    let (out, inward) = chars.split_at(chars.len() - 3);
    Ok(format!(
        "{} {}",
        out.iter().collect::<String>(),
        inward.iter().collect::<String>()
    ))
}

/// A UK phone number, normalised to its digits with a leading `0` (`07700900123`): 10 or 11
/// digits starting with 0, or +44 / 0044 and the number without its 0. Spaces, dashes,
/// dots and brackets are allowed.
pub fn phone(s: &str) -> Result<String, String> {
    let bad = || {
        format!(
            "{:?} is not a UK phone number (like 07700 900123 or +44 20 7946 0018)",
            s.trim()
        )
    };
    let t = s.trim();
    if t.chars()
        .any(|c| !(c.is_ascii_digit() || " -.()+".contains(c)))
    {
        return Err(bad());
    }
    let plus = t.starts_with('+');
    let digits: String = t.chars().filter(char::is_ascii_digit).collect();
    let national = if plus || digits.starts_with("0044") {
        let rest = digits.strip_prefix("0044").or(digits.strip_prefix("44"));
        rest.map(|r| format!("0{}", r.trim_start_matches('0')))
    } else {
        Some(digits)
    };
    match national {
        Some(n) if n.starts_with('0') && (10..=11).contains(&n.len()) => Ok(n),
        _ => Err(bad()),
    }
}

/// An e-mail address: one `@`, a local part, a domain with a dot, no spaces.
fn email(s: &str) -> Result<String, String> {
    let t = s.trim();
    let ok = match t.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !t.contains(char::is_whitespace)
        }
        None => false,
    };
    if ok {
        Ok(t.to_owned())
    } else {
        Err(format!("{t:?} is not an e-mail address"))
    }
}

/// `HH:MM` as minutes after midnight.
fn clock_time(s: &str) -> Option<u32> {
    let (h, m) = s.trim().split_once(':')?;
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60).then_some(h * 60 + m)
}

/// A time window: `morning` (08:00-12:00), `afternoon` (12:00-17:00), `evening`
/// (17:00-20:00), `any`, or `HH:MM-HH:MM` within delivery hours, at least an hour long.
pub fn time_window(s: &str) -> Result<String, String> {
    let t = s.trim().to_lowercase();
    let named = match t.as_str() {
        "morning" => Some("08:00-12:00"),
        "afternoon" => Some("12:00-17:00"),
        "evening" => Some("17:00-20:00"),
        "any" | "any time" | "anytime" => Some("08:00-20:00"),
        _ => None,
    };
    if let Some(w) = named {
        return Ok(w.into());
    }
    let parsed = t
        .split_once('-')
        .and_then(|(a, b)| Some((clock_time(a)?, clock_time(b)?)));
    let Some((from, to)) = parsed else {
        return Err(format!(
            "{:?} is not a time window: write HH:MM-HH:MM, morning, afternoon, evening or any",
            s.trim()
        ));
    };
    if from < DAY_START || to > DAY_END {
        return Err("deliveries run from 08:00 to 20:00".into());
    }
    if to < from + 60 {
        return Err("the time window must be at least one hour long".into());
    }
    Ok(format!(
        "{:02}:{:02}-{:02}:{:02}",
        from / 60,
        from % 60,
        to / 60,
        to % 60
    ))
}

/// The date check: a real date, after today (no same-day delivery), at most a year ahead.
fn date(s: &str, today: Date) -> Result<String, String> {
    let d = parse_date(s, today)?;
    let ahead = d.days() - today.days();
    if ahead < 1 {
        return Err(format!(
            "{d} is not in the future: the earliest delivery day is {}",
            Date::from_days(today.days() + 1)
        ));
    }
    if ahead > MAX_DAYS_AHEAD {
        return Err(format!(
            "{d} is more than {MAX_DAYS_AHEAD} days ahead; deliveries are booked within a year"
        ));
    }
    Ok(d.to_string())
}

/// A name or an address: some letters, not too long.
fn text(s: &str, what: &str, min_letters: usize) -> Result<String, String> {
    let t = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if t.chars().count() > MAX_FIELD_CHARS {
        return Err(format!(
            "the {what} is longer than {MAX_FIELD_CHARS} characters"
        ));
    }
    if t.chars().filter(|c| c.is_alphabetic()).count() < min_letters {
        return Err(format!("the {what} {t:?} is too short"));
    }
    Ok(t)
}

/// Checks and normalises every field of `r`: the problems found, and `r` with the values
/// that passed normalised (the others kept as given).
pub fn check(r: &DeliveryRequest, today: Date) -> (DeliveryRequest, Vec<Problem>) {
    let mut out = r.clone();
    let mut problems = Vec::new();
    type Check<'a> = Box<dyn Fn(&str) -> Result<String, String> + 'a>;
    let checks: Vec<(&str, bool, Check)> = vec![
        ("name", true, Box::new(|s| text(s, "name", 2))),
        ("address", true, Box::new(|s| text(s, "address", 3))),
        ("town", false, Box::new(|s| text(s, "town", 2))),
        ("postcode", true, Box::new(postcode)),
        ("date", true, Box::new(|s| date(s, today))),
        ("time_window", false, Box::new(time_window)),
        ("phone", true, Box::new(phone)),
        ("email", false, Box::new(email)),
        (
            "instructions",
            false,
            Box::new(|s| {
                if s.chars().count() > MAX_INSTRUCTIONS_CHARS {
                    Err(format!(
                        "the instructions are longer than {MAX_INSTRUCTIONS_CHARS} characters"
                    ))
                } else {
                    Ok(s.trim().to_owned())
                }
            }),
        ),
    ];
    for (field, required, f) in checks {
        let Some(slot) = out.field_mut(field) else {
            continue;
        };
        match slot.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
            None => {
                *slot = None;
                if required {
                    problems.push(Problem::code(
                        field,
                        format!("the {} is missing", field.replace('_', " ")),
                    ));
                }
            }
            Some(v) => match f(v) {
                Ok(norm) => *slot = Some(norm),
                Err(why) => problems.push(Problem::code(field, why)),
            },
        }
    }
    (out, problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip_and_parse() {
        for days in [-1000, 0, 59, 60, 365, 11_016, 20_000, 50_000] {
            assert_eq!(Date::from_days(days).days(), days);
        }
        assert_eq!(Date::from_days(0).to_string(), "1970-01-01");
        assert_eq!(Date::from_days(0).weekday(), "Thursday");
        let today = Date::new(2030, 2, 27).unwrap();
        assert_eq!(
            parse_date("tomorrow", today).unwrap().to_string(),
            "2030-02-28"
        );
        assert_eq!(
            parse_date("in 2 days", today).unwrap().to_string(),
            "2030-03-01"
        );
        assert_eq!(
            parse_date("01/03/2030", today).unwrap().to_string(),
            "2030-03-01"
        );
        assert!(parse_date("2030-02-29", today).is_err());
        assert!(parse_date("2032-02-29", today).is_ok());
        assert!(parse_date("next week", today).is_err());
        assert!(date("2030-02-27", today)
            .unwrap_err()
            .contains("not in the future"));
        assert!(date("2031-03-01", today)
            .unwrap_err()
            .contains("within a year"));
    }

    #[test]
    fn formats() {
        assert_eq!(postcode("sw1a1aa").unwrap(), "SW1A 1AA");
        assert_eq!(postcode(" M1 1AE ").unwrap(), "M1 1AE");
        assert!(postcode("12345").is_err());
        assert!(postcode("SW1A").is_err());
        assert!(postcode("ÄB1 1AA").is_err());
        assert_eq!(phone("07700 900123").unwrap(), "07700900123");
        assert_eq!(phone("+44 (0)20 7946 0018").unwrap(), "02079460018");
        assert_eq!(phone("0044 161 496 0000").unwrap(), "01614960000");
        assert!(phone("555-0100").is_err());
        assert!(phone("call me").is_err());
        assert_eq!(time_window("morning").unwrap(), "08:00-12:00");
        assert_eq!(time_window("9:30-11:00").unwrap(), "09:30-11:00");
        assert!(time_window("07:00-09:00").is_err());
        assert!(time_window("10:00-10:30").is_err());
        assert!(time_window("soon").is_err());
        assert!(email("ann@example.com").is_ok());
        assert!(email("ann@example").is_err());
    }
}
