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

/// A password of 10 to 128 characters (NIST SP 800-63B length rules; no composition rules).
pub fn password(field: &str, s: &str) -> Result<(), Invalid> {
    let n = s.chars().count();
    if n < 10 {
        return Err(Invalid::new(field, "must be at least 10 characters"));
    }
    if n > 128 {
        return Err(Invalid::new(field, "must be at most 128 characters"));
    }
    Ok(())
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
        assert!(password("password", "short").is_err());
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
