//! The user's-fault error every parser returns: it names the field and the reason.

/// A value that failed to parse. `field` is the input's name as the caller knows it
/// (a JSON field, a CSV column, a GeoJSON property), `reason` says what is wrong in words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct Invalid {
    pub field: String,
    pub reason: String,
}

impl Invalid {
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Invalid { field: clipped(field.into()), reason: clipped(reason.into()) }
    }
}

/// The most of an offending value a reason quotes (between backticks), in characters.
pub const QUOTE_MAX: usize = 40;

/// A reason as it may be shown: every value it quotes between backticks cut to
/// [`QUOTE_MAX`] characters, and the whole (with whatever a parser's message quotes in
/// other ways) to 500, so an error never sends back the megabytes it was given.
pub fn clipped(reason: String) -> String {
    if reason.chars().count() <= QUOTE_MAX && !reason.contains(['`', '"']) {
        return reason;
    }
    let mut out = String::new();
    let mut quoted = 0usize;
    // The quote that opened the span we are in (a backtick, or a parser's double quote).
    let mut inside: Option<char> = None;
    for c in reason.chars() {
        if c == '`' || c == '"' {
            match inside {
                Some(q) if q == c => {
                    if quoted > QUOTE_MAX {
                        out.push('…');
                    }
                    inside = None;
                }
                None => {
                    inside = Some(c);
                    quoted = 0;
                }
                Some(_) => {}
            }
            if inside.is_none() || inside == Some(c) {
                out.push(c);
                continue;
            }
        }
        if inside.is_some() {
            quoted += 1;
            if quoted > QUOTE_MAX {
                continue;
            }
        }
        out.push(c);
    }
    if out.chars().count() > 500 {
        out = out.chars().take(500).chain(std::iter::once('…')).collect();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_values_are_cut() {
        let huge = "x".repeat(10_000_000);
        let e = Invalid::new("kind", format!("`{huge}` is not one of request, complaint"));
        assert_eq!(e.reason, format!("`{}…` is not one of request, complaint", "x".repeat(QUOTE_MAX)));
        assert_eq!(Invalid::new("f", "`short` is fine").reason, "`short` is fine");
        assert!(Invalid::new("f", "y".repeat(100_000)).reason.chars().count() <= 501);
        assert_eq!(Invalid::new("f", "is empty").reason, "is empty");
        let serde = format!("invalid type: string \"{}\", expected f64", "x".repeat(1000));
        assert_eq!(clipped(serde), format!("invalid type: string \"{}…\", expected f64", "x".repeat(QUOTE_MAX)));
    }
}
