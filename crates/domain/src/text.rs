//! Small parsed text values: names, usernames, passwords, phone numbers, and the one table
//! of how long each free text may be.

use crate::Invalid;

/// The longest each free text of the case hub may be, in characters: one table, read by every
/// check (a field not listed is a short name, [`SHORT`]).
pub const LIMITS: &[(&str, usize)] = &[
    ("subject", 100),
    ("description", 5000),
    ("reason", 500),
    ("result", 2000),
    ("fixed_on_spot", 2000),
    ("text", 2000),
    ("note", 1000),
    ("found", 2000),
    ("needs", 1000),
    ("evidence", 1000),
    // 德治: what a report to residents says was done, a campaign's criteria, a nominee's
    // deeds, the committee's answer to an objection.
    ("done", 4000),
    ("criteria", 2000),
    ("deeds", 2000),
    ("answer", 2000),
];

/// The limit of a field the table does not list.
pub const SHORT: usize = 100;

/// How long `field` may be.
pub fn limit(field: &str) -> usize {
    LIMITS.iter().find(|(f, _)| *f == field).map(|(_, n)| *n).unwrap_or(SHORT)
}

/// A required free text of `field`: trimmed, non-empty, within the field's limit.
pub fn required(field: &str, s: &str) -> Result<String, Invalid> {
    name(field, s, limit(field))
}

/// An optional free text of `field` (a note, a rating's words): trimmed, within the field's
/// limit, possibly empty, line breaks allowed but no other control characters.
pub fn optional(field: &str, s: &str) -> Result<String, Invalid> {
    let t = s.trim();
    let max = limit(field);
    if t.chars().count() > max {
        return Err(Invalid::new(field, format!("is longer than {max} characters")));
    }
    if t.chars().any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t') {
        return Err(Invalid::new(field, "contains control characters"));
    }
    Ok(t.to_owned())
}

/// A trimmed, non-empty text of at most `max` characters without control characters.
pub fn name(field: &str, s: &str, max: usize) -> Result<String, Invalid> {
    let t = s.trim();
    if t.is_empty() {
        return Err(Invalid::new(field, "is empty"));
    }
    if t.chars().count() > max {
        return Err(Invalid::new(field, format!("is longer than {max} characters")));
    }
    if t.chars().any(char::is_control) {
        return Err(Invalid::new(field, "contains control characters"));
    }
    Ok(t.to_owned())
}

/// 3–64 of `a-z 0-9 _ . -`, starting with a letter or digit.
pub fn username(s: &str) -> Result<String, Invalid> {
    let ok_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || "_.-".contains(c);
    if !(3..=64).contains(&s.len()) {
        return Err(Invalid::new("username", "must be 3 to 64 characters"));
    }
    if !s.chars().all(ok_char) || !s.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err(Invalid::new("username", "may hold only a-z, 0-9, _ . - and must start with a letter or digit"));
    }
    Ok(s.to_owned())
}

/// The passwords people choose most often (the top of the public leak lists, and the ones
/// common in China), refused whatever else they satisfy. Compared in lower case.
const COMMON_PASSWORDS: &[&str] = &[
    "1234567890",
    "12345678910",
    "123456789a",
    "a123456789",
    "1234567890a",
    "qwertyuiop",
    "qwerty123456",
    "1q2w3e4r5t",
    "1qaz2wsx3edc",
    "1qaz@wsx3edc",
    "password1234",
    "password123",
    "password@123",
    "p@ssw0rd123",
    "administrator",
    "admin123456",
    "admin@123456",
    "iloveyou1314",
    "woaini1314520",
    "woaini5201314",
    "5201314520",
    "abc123456789",
    "abcd1234567",
    "zxcvbnm123",
    "qwe123456789",
    "aa123456789",
    "11111111111",
    "0000000000",
    "1111111111",
    "88888888888",
    "6666666666",
    "9876543210",
    "abcdefghij",
    "passw0rd123",
    "welcome123",
    "changeme123",
    "letmein1234",
    "tianjin123456",
    "tianjin2026",
    "wuzhi123456",
    "wuzhi2026",
];

/// A password a person chooses (GB/T 22239 level 3 and NIST SP 800-63B together): 10 to 128
/// characters; at least three of the four kinds — lower-case and upper-case letters, digits,
/// others — unless it is a passphrase of 20 characters or more; not the username nor holding
/// it; not one of the most common passwords.
pub fn password(field: &str, s: &str, username: Option<&str>) -> Result<(), Invalid> {
    let n = s.chars().count();
    if n < 10 {
        return Err(Invalid::new(field, "must be at least 10 characters"));
    }
    if n > 128 {
        return Err(Invalid::new(field, "must be at most 128 characters"));
    }
    let lower = s.to_lowercase();
    if let Some(u) = username.map(str::to_lowercase).filter(|u| u.chars().count() >= 3) {
        if lower.contains(&u) {
            return Err(Invalid::new(field, "must not contain the username"));
        }
    }
    if COMMON_PASSWORDS.contains(&lower.as_str()) || lower.chars().all(|c| Some(c) == lower.chars().next()) {
        return Err(Invalid::new(field, "is one of the most common passwords; choose another"));
    }
    let kinds = [
        s.chars().any(|c| c.is_lowercase()),
        s.chars().any(|c| c.is_uppercase()),
        s.chars().any(|c| c.is_ascii_digit()),
        s.chars().any(|c| !c.is_alphanumeric()),
    ]
    .iter()
    .filter(|k| **k)
    .count();
    if kinds < 3 && n < 20 {
        return Err(Invalid::new(
            field,
            "needs three of: lower-case letters, upper-case letters, digits, other characters (or 20 characters or more)",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod password_tests {
    use super::password;

    #[test]
    fn passwords_follow_the_rules() {
        assert!(password("p", "wuzhi-demo-2026", Some("admin")).is_ok(), "lower, digits, other");
        assert!(password("p", "a long enough passphrase", None).is_ok(), "a passphrase of 20+");
        assert!(password("p", "Short1!", None).is_err(), "too short");
        assert!(password("p", "onlylowercase", None).is_err(), "one kind, under 20");
        assert!(password("p", "Password1234", None).is_err(), "common (any case)");
        assert!(password("p", "Zhang-San-2026", Some("zhang-san")).is_err(), "holds the username");
        assert!(password("p", "aaaaaaaaaaaaaaaaaaaaaa", None).is_err(), "one character repeated");
        assert!(password("p", &"x".repeat(129), None).is_err(), "too long");
        let e = password("new_password", "abcdefghijk", None).unwrap_err();
        assert_eq!(e.field, "new_password");
    }
}

/// A mainland mobile (11 digits starting with 1) or a fixed line with area code
/// (`022-23456789`); spaces and dashes are dropped except the area-code dash.
pub fn phone(s: &str) -> Result<String, Invalid> {
    let digits: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    let plain: String = digits.chars().filter(|c| *c != '-').collect();
    if !plain.chars().all(|c| c.is_ascii_digit()) {
        return Err(Invalid::new("phone", "may hold only digits, spaces and dashes"));
    }
    if plain.len() == 11 && plain.starts_with('1') {
        return Ok(plain);
    }
    if plain.starts_with('0') && (10..=12).contains(&plain.len()) {
        return Ok(plain);
    }
    Err(Invalid::new("phone", "is not an 11-digit mobile number or a fixed line with area code"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses() {
        assert_eq!(phone("138 1234 5678").unwrap(), "13812345678");
        assert_eq!(phone("022-23456789").unwrap(), "02223456789");
        assert_eq!(phone("12345").unwrap_err().field, "phone");
        assert!(username("Admin").is_err());
        assert!(username("gw_120101").is_ok());
        assert!(password("password", "short", None).is_err());
        assert_eq!(name("name", "  张三 ", 10).unwrap(), "张三");
        assert!(name("name", " ", 10).is_err());
        assert_eq!(optional("note", " 已核实\n现场已清理 ").unwrap(), "已核实\n现场已清理");
        assert_eq!(optional("note", "").unwrap(), "");
        assert_eq!(optional("note", &"字".repeat(1001)).unwrap_err().field, "note");
        assert!(optional("note", &"字".repeat(1000)).is_ok());
        assert_eq!(limit("subject"), 100);
        assert_eq!(limit("anything else"), SHORT);
    }
}

/// Parses one of a closed set of words (English code or Chinese name) into its code.
pub fn one_of(field: &str, s: &str, set: &'static [(&'static str, &'static str)]) -> Result<&'static str, Invalid> {
    let s = s.trim();
    set.iter().find(|(code, zh)| *code == s || *zh == s).map(|(code, _)| *code).ok_or_else(|| {
        let names: Vec<&str> = set.iter().map(|t| t.0).collect();
        Invalid::new(field, format!("`{s}` is not one of {}", names.join(", ")))
    })
}
