//! The working calendar (工作日历) and deadline arithmetic.
//!
//! Weekends are rest days and Monday–Friday working days, except the listed public holidays
//! and the adjusted working days (调休) on which a weekend day is worked. Time is counted in
//! Asia/Shanghai, which has been UTC+8 without daylight saving since 1991, so local time is
//! a fixed offset. Working hours are 09:00–12:00 and 13:00–18:00. Everything here is pure:
//! the caller passes `now`.

use crate::Invalid;
use std::collections::BTreeMap;

pub const OFFSET_MS: i64 = 8 * 3_600_000;
pub const DAY_MS: i64 = 86_400_000;
const HOUR_MS: i64 = 3_600_000;
/// Working periods within a working day, as milliseconds after local midnight.
const PERIODS: [(i64, i64); 2] = [(9 * HOUR_MS, 12 * HOUR_MS), (13 * HOUR_MS, 18 * HOUR_MS)];

/// Days since 1970-01-01 of a civil date (proleptic Gregorian).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day number.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// The local (Asia/Shanghai) day number of an instant.
pub fn local_day(ms: i64) -> i64 {
    (ms + OFFSET_MS).div_euclid(DAY_MS)
}

/// `YYYY-MM-DD` of a local day.
pub fn format_day(day: i64) -> String {
    let (y, m, d) = civil_from_days(day);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Local `YYYY-MM-DDTHH:MM:SS+08:00` of an instant.
pub fn format_local(ms: i64) -> String {
    let local = ms + OFFSET_MS;
    let day = local.div_euclid(DAY_MS);
    let t = local.rem_euclid(DAY_MS) / 1000;
    format!("{}T{:02}:{:02}:{:02}+08:00", format_day(day), t / 3600, t / 60 % 60, t % 60)
}

pub fn parse_day(field: &str, s: &str) -> Result<i64, Invalid> {
    let bad = || Invalid::new(field, format!("`{s}` is not a date YYYY-MM-DD"));
    let mut it = s.trim().splitn(3, '-');
    let y: i64 = it.next().and_then(|v| v.parse().ok()).ok_or_else(bad)?;
    let m: u32 = it.next().and_then(|v| v.parse().ok()).ok_or_else(bad)?;
    let d: u32 = it.next().and_then(|v| v.parse().ok()).ok_or_else(bad)?;
    if !(1..=12).contains(&m) || d == 0 || d > 31 {
        return Err(bad());
    }
    let day = days_from_civil(y, m, d);
    if civil_from_days(day) != (y, m, d) {
        return Err(bad());
    }
    Ok(day)
}

/// A W3C date-time (ISO 8601) in epoch milliseconds: `2026-11-27T09:30:00+08:00`,
/// `…T01:30:00Z`, with optional fractional seconds; a bare date is local midnight and a
/// time without a zone is local (Asia/Shanghai) time.
pub fn parse_datetime(field: &str, s: &str) -> Result<i64, Invalid> {
    let s = s.trim();
    let bad = || Invalid::new(field, format!("`{s}` is not a date-time like 2026-11-27T09:30:00+08:00"));
    let (date, rest) = match s.find(['T', 't', ' ']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    if date.len() != 10 {
        return Err(bad());
    }
    let day = parse_day(field, date).map_err(|_| bad())?;
    let Some(rest) = rest else {
        return Ok(day * DAY_MS - OFFSET_MS);
    };
    let (time, offset_ms) = if let Some(t) = rest.strip_suffix(['Z', 'z']) {
        (t, 0)
    } else if let Some(i) = rest.rfind(['+', '-']) {
        let (t, z) = rest.split_at(i);
        let sign = if z.starts_with('-') { -1 } else { 1 };
        let z = &z[1..];
        let (h, m) = match z.split_once(':') {
            Some((h, m)) => (h, m),
            None if z.len() == 4 => z.split_at(2),
            None => (z, "0"),
        };
        let h: i64 = h.parse().map_err(|_| bad())?;
        let m: i64 = m.parse().map_err(|_| bad())?;
        if h > 14 || m > 59 {
            return Err(bad());
        }
        (t, sign * (h * 3_600_000 + m * 60_000))
    } else {
        (rest, OFFSET_MS)
    };
    let (hms, frac) = match time.split_once('.') {
        Some((a, b)) => (a, b),
        None => (time, ""),
    };
    let parts: Vec<&str> = hms.split(':').collect();
    if !(2..=3).contains(&parts.len()) || parts.iter().any(|p| p.len() != 2) {
        return Err(bad());
    }
    let num = |p: &str| p.parse::<i64>().map_err(|_| bad());
    let (h, mi, se) = (num(parts[0])?, num(parts[1])?, if parts.len() == 3 { num(parts[2])? } else { 0 });
    if h > 23 || mi > 59 || se > 60 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let ms = frac.get(..3).map(|f| format!("{f:0<3}")).unwrap_or_else(|| format!("{frac:0<3}"));
    let ms: i64 = ms.parse().map_err(|_| bad())?;
    Ok(day * DAY_MS + h * 3_600_000 + mi * 60_000 + se * 1000 + ms - offset_ms)
}

/// A time limit as categories state it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeLimit {
    /// Clock minutes (emergencies: 15 or 30 minutes, day and night).
    Minutes(u32),
    /// Clock hours.
    Hours(u32),
    /// Hours inside working periods of working days.
    WorkingHours(u32),
    /// Working days.
    WorkingDays(u32),
    /// Calendar days.
    Days(u32),
}

impl TimeLimit {
    /// `15m`, `2h`, `4wh`, `3wd`, `7d`.
    pub fn parse(field: &str, s: &str) -> Result<TimeLimit, Invalid> {
        let s = s.trim();
        let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        let (n, unit) = s.split_at(split);
        let n: u32 = n.parse().map_err(|_| Invalid::new(field, format!("`{s}` must start with a number")))?;
        if n == 0 || n > 10_000 {
            return Err(Invalid::new(field, format!("`{s}` must be between 1 and 10000 units")));
        }
        Ok(match unit {
            "m" => TimeLimit::Minutes(n),
            "h" => TimeLimit::Hours(n),
            "wh" => TimeLimit::WorkingHours(n),
            "wd" => TimeLimit::WorkingDays(n),
            "d" => TimeLimit::Days(n),
            _ => {
                return Err(Invalid::new(field, format!("`{s}`: the unit must be m, h, wh, wd or d")));
            }
        })
    }

    pub fn to_text(self) -> String {
        match self {
            TimeLimit::Minutes(n) => format!("{n}m"),
            TimeLimit::Hours(n) => format!("{n}h"),
            TimeLimit::WorkingHours(n) => format!("{n}wh"),
            TimeLimit::WorkingDays(n) => format!("{n}wd"),
            TimeLimit::Days(n) => format!("{n}d"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DayKind {
    Holiday,
    /// A weekend day worked (调休).
    Workday,
}

/// Weekends plus listed exceptions.
#[derive(Debug, Clone, Default)]
pub struct Calendar {
    exceptions: BTreeMap<i64, DayKind>,
}

impl Calendar {
    pub fn new(exceptions: impl IntoIterator<Item = (i64, DayKind)>) -> Calendar {
        Calendar { exceptions: exceptions.into_iter().collect() }
    }

    /// Parses `date,kind,name` rows (kind `holiday` or `workday`), header first.
    pub fn parse_csv(text: &str) -> Result<Calendar, Invalid> {
        let mut ex = BTreeMap::new();
        for (i, line) in text.lines().enumerate().skip(1) {
            if line.trim().is_empty() {
                continue;
            }
            let mut cols = line.split(',');
            let at = format!("line {}", i + 1);
            let day = parse_day(&format!("{at}: date"), cols.next().unwrap_or(""))?;
            let kind = match cols.next().map(str::trim) {
                Some("holiday") => DayKind::Holiday,
                Some("workday") => DayKind::Workday,
                other => {
                    return Err(Invalid::new(
                        format!("{at}: kind"),
                        format!("`{}` is not holiday or workday", other.unwrap_or("")),
                    ));
                }
            };
            ex.insert(day, kind);
        }
        Ok(Calendar { exceptions: ex })
    }

    /// Monday = 0 … Sunday = 6.
    pub fn weekday(day: i64) -> i64 {
        (day + 3).rem_euclid(7)
    }

    pub fn is_workday(&self, day: i64) -> bool {
        match self.exceptions.get(&day) {
            Some(DayKind::Holiday) => false,
            Some(DayKind::Workday) => true,
            None => Calendar::weekday(day) < 5,
        }
    }

    fn next_workday(&self, mut day: i64) -> i64 {
        day += 1;
        while !self.is_workday(day) {
            day += 1;
        }
        day
    }

    /// When a stage that starts at `start_ms` with `limit` is due.
    pub fn due(&self, start_ms: i64, limit: TimeLimit) -> i64 {
        match limit {
            TimeLimit::Minutes(n) => start_ms + n as i64 * 60_000,
            TimeLimit::Hours(n) => start_ms + n as i64 * HOUR_MS,
            TimeLimit::Days(n) => start_ms + n as i64 * DAY_MS,
            TimeLimit::WorkingDays(n) => {
                let day = local_day(start_ms);
                if self.is_workday(day) {
                    let time_of_day = start_ms + OFFSET_MS - day * DAY_MS;
                    let mut d = day;
                    for _ in 0..n {
                        d = self.next_workday(d);
                    }
                    d * DAY_MS + time_of_day - OFFSET_MS
                } else {
                    // Counted from the next working day, which is day one; due at the end of
                    // working hours on the last.
                    let mut d = self.next_workday(day);
                    for _ in 1..n {
                        d = self.next_workday(d);
                    }
                    d * DAY_MS + PERIODS[1].1 - OFFSET_MS
                }
            }
            TimeLimit::WorkingHours(n) => {
                let mut remaining = n as i64 * HOUR_MS;
                let mut local = start_ms + OFFSET_MS;
                loop {
                    let day = local.div_euclid(DAY_MS);
                    if self.is_workday(day) {
                        for (a, b) in PERIODS {
                            let (a, b) = (day * DAY_MS + a, day * DAY_MS + b);
                            if local < b {
                                let s = local.max(a);
                                if remaining <= b - s {
                                    return s + remaining - OFFSET_MS;
                                }
                                remaining -= b - s;
                                local = b;
                            }
                        }
                    }
                    local = (day + 1) * DAY_MS;
                }
            }
        }
    }

    /// Working time (ms inside working periods) between two instants, for handling-time
    /// statistics.
    pub fn working_ms_between(&self, from_ms: i64, to_ms: i64) -> i64 {
        if to_ms <= from_ms {
            return 0;
        }
        let (from, to) = (from_ms + OFFSET_MS, to_ms + OFFSET_MS);
        let mut total = 0;
        for day in from.div_euclid(DAY_MS)..=to.div_euclid(DAY_MS) {
            if !self.is_workday(day) {
                continue;
            }
            for (a, b) in PERIODS {
                let (a, b) = (day * DAY_MS + a, day * DAY_MS + b);
                total += (b.min(to) - a.max(from)).max(0);
            }
        }
        total
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn w3c_date_times_parse_with_their_zone() {
        let at = super::parse_datetime("t", "2026-11-27T09:30:00+08:00").unwrap();
        assert_eq!(super::format_local(at), "2026-11-27T09:30:00+08:00");
        assert_eq!(super::parse_datetime("t", "2026-11-27T01:30:00Z").unwrap(), at);
        assert_eq!(super::parse_datetime("t", "2026-11-26T17:30:00.000-08:00").unwrap(), at);
        assert_eq!(super::parse_datetime("t", "2026-11-27T09:30:00").unwrap(), at);
        assert_eq!(super::parse_datetime("t", "2026-11-27T09:30:00.25+0800").unwrap(), at + 250);
        assert_eq!(super::format_local(super::parse_datetime("t", "2026-11-27").unwrap()), "2026-11-27T00:00:00+08:00");
        for bad in ["", "2026-13-01", "2026-11-27T25:00:00Z", "yesterday", "2026-11-27T09:30:00+99:00", "2026-2-1"] {
            let e = super::parse_datetime("start_date", bad).unwrap_err();
            assert_eq!(e.field, "start_date", "{bad}");
        }
    }

    use super::*;

    const CN: &str = include_str!("../../../data/calendar/cn_2025_2026.csv");

    fn at(s: &str) -> i64 {
        // "YYYY-MM-DD HH:MM" local
        let (d, t) = s.split_once(' ').unwrap();
        let (h, m) = t.split_once(':').unwrap();
        parse_day("t", d).unwrap() * DAY_MS + h.parse::<i64>().unwrap() * HOUR_MS + m.parse::<i64>().unwrap() * 60_000
            - OFFSET_MS
    }

    #[test]
    fn civil_dates_round_trip() {
        for z in [-1000, 0, 19_000, 20_500, 60_000] {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
        }
        assert_eq!(format_day(days_from_civil(2026, 11, 27)), "2026-11-27");
        assert_eq!(Calendar::weekday(days_from_civil(2026, 11, 27)), 4, "a Friday");
        assert!(parse_day("d", "2026-02-30").is_err());
        assert_eq!(format_local(at("2026-11-27 09:05")), "2026-11-27T09:05:00+08:00");
    }

    #[test]
    fn holidays_and_adjusted_working_days() {
        let c = Calendar::parse_csv(CN).unwrap();
        let day = |s| parse_day("d", s).unwrap();
        assert!(!c.is_workday(day("2026-10-01")), "National Day");
        assert!(c.is_workday(day("2026-10-10")), "a Saturday worked");
        assert!(!c.is_workday(day("2026-11-28")), "an ordinary Saturday");
        assert!(c.is_workday(day("2026-11-27")));
        assert!(c.is_workday(day("2025-02-08")), "Spring Festival 调休 2025");
        assert!(!c.is_workday(day("2025-01-31")));
    }

    #[test]
    fn deadlines_skip_nights_weekends_and_holidays() {
        let c = Calendar::parse_csv(CN).unwrap();
        let check = |start: &str, limit: &str, want: &str| {
            let got = c.due(at(start), TimeLimit::parse("limit", limit).unwrap());
            assert_eq!(format_local(got), format_local(at(want)), "{start} + {limit}");
        };
        check("2026-11-27 10:00", "15m", "2026-11-27 10:15");
        check("2026-11-27 23:50", "30m", "2026-11-28 00:20");
        check("2026-11-27 10:00", "1wd", "2026-11-30 10:00"); // Friday → Monday
        check("2026-11-28 10:00", "1wd", "2026-11-30 18:00"); // Saturday → end of Monday
        check("2026-09-30 16:00", "1wd", "2026-10-08 16:00"); // across National Day
        check("2026-10-09 09:00", "1wd", "2026-10-10 09:00"); // the 调休 Saturday counts
        check("2026-11-27 16:00", "4wh", "2026-11-30 11:00"); // 2 h Friday, 2 h Monday
        check("2026-11-27 12:30", "1wh", "2026-11-27 14:00"); // lunch does not count
        check("2026-11-27 20:00", "2h", "2026-11-27 22:00");
        check("2026-11-27 10:00", "3d", "2026-11-30 10:00");
        assert_eq!(c.working_ms_between(at("2026-11-27 16:00"), at("2026-11-30 11:00")), 4 * HOUR_MS);
    }

    #[test]
    fn limits_parse_with_reasons() {
        assert_eq!(TimeLimit::parse("l", "3wd").unwrap(), TimeLimit::WorkingDays(3));
        assert_eq!(TimeLimit::parse("l", "15m").unwrap().to_text(), "15m");
        assert!(TimeLimit::parse("l", "3 weeks").is_err());
        assert!(TimeLimit::parse("l", "0h").is_err());
        assert!(TimeLimit::parse("l", "wd").is_err());
    }
}
