//! 志愿服务 (新时代文明实践): activities that a practice station, a volunteer team or a
//! community publishes; volunteers sign up (at once, or waiting for the organiser's
//! approval); the organiser confirms at the activity who came and for how long — never the
//! volunteer themselves — and those verified hours are credited, with points when the
//! activity names an earning rule. This file holds the words and the arithmetic; the store
//! enforces capacity and one sign-up per person with constraints.

use crate::Invalid;

/// Where a sign-up stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignupState {
    /// Waiting for the organiser (activities that approve their volunteers).
    Applied,
    /// Has a place.
    Accepted,
    /// The organiser said no (with a reason).
    Declined,
    /// The volunteer withdrew before the activity.
    Withdrawn,
}

impl SignupState {
    pub const ALL: [SignupState; 4] =
        [SignupState::Applied, SignupState::Accepted, SignupState::Declined, SignupState::Withdrawn];

    pub fn as_str(self) -> &'static str {
        match self {
            SignupState::Applied => "applied",
            SignupState::Accepted => "accepted",
            SignupState::Declined => "declined",
            SignupState::Withdrawn => "withdrawn",
        }
    }

    pub fn parse(s: &str) -> Result<SignupState, Invalid> {
        SignupState::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| Invalid::new("state", format!("`{s}` is not applied, accepted, declined or withdrawn")))
    }

    /// Whether the sign-up holds one of the activity's places.
    pub fn holds_a_place(self) -> bool {
        self == SignupState::Accepted
    }
}

/// Where an activity stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActivityState {
    /// Published: open for sign-ups until it starts, then for attendance.
    Open,
    /// The organiser closed it: attendance is final.
    Completed,
    /// Called off; its sign-ups are told.
    Cancelled,
}

impl ActivityState {
    pub fn as_str(self) -> &'static str {
        match self {
            ActivityState::Open => "open",
            ActivityState::Completed => "completed",
            ActivityState::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Result<ActivityState, Invalid> {
        [ActivityState::Open, ActivityState::Completed, ActivityState::Cancelled]
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| Invalid::new("state", format!("`{s}` is not open, completed or cancelled")))
    }
}

const MINUTE_MS: i64 = 60_000;
/// How long after an activity ends its organiser may still record attendance (a paper
/// sign-in sheet typed in the next days).
pub const ATTENDANCE_GRACE_DAYS: i64 = 3;
/// The longest activity (one day's service), and so the most hours one attendance gives.
pub const LONGEST_MINUTES: i64 = 12 * 60;

/// The latest time anything is planned for (2100-01-01): times past it are typing errors,
/// and keeping below it keeps every sum of times far from overflowing.
pub const LATEST_MS: i64 = 4_102_444_800_000;

/// An activity's time, checked: it ends after it starts and lasts at most twelve hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub starts_at_ms: i64,
    pub ends_at_ms: i64,
}

impl Span {
    pub fn parse(starts_at_ms: i64, ends_at_ms: i64) -> Result<Span, Invalid> {
        for (field, v) in [("starts_at_ms", starts_at_ms), ("ends_at_ms", ends_at_ms)] {
            if !(0..=LATEST_MS).contains(&v) {
                return Err(Invalid::new(field, format!("{v} is not a time between 1970 and 2100")));
            }
        }
        if ends_at_ms <= starts_at_ms {
            return Err(Invalid::new("ends_at_ms", "must be after starts_at_ms"));
        }
        if ends_at_ms - starts_at_ms > LONGEST_MINUTES * MINUTE_MS {
            return Err(Invalid::new(
                "ends_at_ms",
                format!("an activity lasts at most {} hours; publish a longer one day by day", LONGEST_MINUTES / 60),
            ));
        }
        Ok(Span { starts_at_ms, ends_at_ms })
    }

    pub fn minutes(self) -> i64 {
        (self.ends_at_ms - self.starts_at_ms) / MINUTE_MS
    }

    /// Whether sign-ups are still taken (until the activity starts).
    pub fn open_for_signup(self, now_ms: i64) -> bool {
        now_ms < self.starts_at_ms
    }

    /// Attendance is confirmed at the activity: from its start to a few days after its end.
    pub fn attendance(self, now_ms: i64) -> Result<(), Invalid> {
        if now_ms < self.starts_at_ms {
            return Err(Invalid::new("activity", "attendance is confirmed at the activity, which has not started"));
        }
        if now_ms > self.ends_at_ms + ATTENDANCE_GRACE_DAYS * 86_400_000 {
            return Err(Invalid::new(
                "activity",
                format!("attendance closed {ATTENDANCE_GRACE_DAYS} days after the activity ended"),
            ));
        }
        Ok(())
    }

    /// The minutes a confirmation credits: what the organiser saw, at most the activity's
    /// length.
    pub fn served(self, minutes: i64) -> Result<i64, Invalid> {
        if minutes < 1 || minutes > self.minutes() {
            return Err(Invalid::new(
                "minutes",
                format!("{minutes} is outside 1–{} (the activity's length in minutes)", self.minutes()),
            ));
        }
        Ok(minutes)
    }
}

/// The points verified service earns by a rule of `per_hour` points an hour: whole half
/// hours count, so 45 minutes at 10 an hour give 5.
pub fn points_for(per_hour: i64, minutes: i64) -> i64 {
    per_hour.saturating_mul(minutes / 30) / 2
}

/// Hours for people: `90` → "1.5".
pub fn hours_text(minutes: i64) -> String {
    let tenths = (minutes * 10 + 30) / 60;
    if tenths % 10 == 0 { format!("{}", tenths / 10) } else { format!("{}.{}", tenths / 10, tenths % 10) }
}

/// The facts a service certificate's number seals: who, how many minutes in how many
/// activities, up to which confirmation. Anyone may check a certificate by its number, and a
/// changed figure no longer matches.
pub fn certificate_text(person_id: i64, minutes: i64, activities: i64, last_signup: i64) -> String {
    format!("volunteer-certificate|{person_id}|{minutes}|{activities}|{last_signup}")
}

/// A skills list as people type it ("急救, 心理疏导；电工"): trimmed, deduplicated, each at
/// most 20 characters, at most 10.
pub fn skills(field: &str, s: &str) -> Result<Vec<String>, Invalid> {
    let mut out: Vec<String> = Vec::new();
    for part in s.split([',', '，', ';', '；', '、', '\n']) {
        let p = part.trim();
        if p.is_empty() {
            continue;
        }
        if p.chars().count() > 20 {
            return Err(Invalid::new(field, format!("`{p}` is longer than 20 characters")));
        }
        if !out.iter().any(|o| o == p) {
            out.push(p.to_owned());
        }
    }
    if out.len() > 10 {
        return Err(Invalid::new(field, format!("{} skills; give at most 10", out.len())));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3_600_000;

    #[test]
    fn a_span_ends_after_it_starts_and_within_a_day() {
        assert!(Span::parse(10, 10).is_err());
        assert_eq!(Span::parse(0, 2 * H).unwrap().minutes(), 120);
        assert_eq!(Span::parse(0, 13 * H).unwrap_err().field, "ends_at_ms");
        assert_eq!(Span::parse(i64::MIN, i64::MAX).unwrap_err().field, "starts_at_ms");
        assert_eq!(Span::parse(LATEST_MS, i64::MAX).unwrap_err().field, "ends_at_ms");
    }

    #[test]
    fn attendance_is_taken_at_the_activity_not_before_and_not_weeks_after() {
        let s = Span::parse(100 * H, 102 * H).unwrap();
        assert!(s.attendance(100 * H - 1).is_err());
        assert!(s.attendance(100 * H).is_ok());
        assert!(s.attendance(102 * H + 3 * 24 * H).is_ok());
        assert!(s.attendance(102 * H + 3 * 24 * H + 1).is_err());
        assert!(s.open_for_signup(100 * H - 1));
        assert!(!s.open_for_signup(100 * H));
    }

    #[test]
    fn served_minutes_are_within_the_activity() {
        let s = Span::parse(0, 2 * H).unwrap();
        assert_eq!(s.served(90).unwrap(), 90);
        assert!(s.served(0).is_err());
        assert!(s.served(121).is_err());
    }

    #[test]
    fn points_count_whole_half_hours() {
        assert_eq!(points_for(10, 29), 0);
        assert_eq!(points_for(10, 45), 5);
        assert_eq!(points_for(10, 60), 10);
        assert_eq!(points_for(10, 150), 25);
        assert_eq!(points_for(3, 30), 1);
    }

    #[test]
    fn hours_read_as_people_write_them() {
        assert_eq!(hours_text(120), "2");
        assert_eq!(hours_text(90), "1.5");
        assert_eq!(hours_text(50), "0.8");
        assert_eq!(hours_text(0), "0");
    }

    #[test]
    fn skills_split_on_chinese_and_latin_separators() {
        assert_eq!(skills("skills", "急救, 心理疏导；电工、急救").unwrap(), ["急救", "心理疏导", "电工"]);
        assert!(skills("skills", "").unwrap().is_empty());
        assert_eq!(skills("skills", &"长".repeat(21)).unwrap_err().field, "skills");
    }

    #[test]
    fn signup_states_read_back() {
        for s in SignupState::ALL {
            assert_eq!(SignupState::parse(s.as_str()).unwrap(), s);
        }
        assert!(SignupState::parse("maybe").is_err());
        assert!(SignupState::Accepted.holds_a_place() && !SignupState::Applied.holds_a_place());
    }
}
