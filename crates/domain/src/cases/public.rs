//! What the public sees of a case, decided here and nowhere else: the Open311 reads, the
//! public case page and the look-up of similar cases while a resident writes a report all
//! ask these functions. A case is public when its reporter or the rule made it so; public
//! views never show a reporter, and show personal data inside texts masked and locations
//! only to about a hundred metres, so no home is pinpointed.

use crate::mask;

/// Whether a new case is public: one reported through a public channel (the portal, a
/// patrol, a sensor, an Open311 client) is, unless its reporter said otherwise; an anonymous
/// report, a hotline call (the caller was not asked) and another system's history are not.
pub fn at_intake(channel: &str, anonymous: bool, reporters_choice: Option<bool>) -> bool {
    let public_channel = matches!(channel, "app" | "grid" | "sensor" | "open311");
    public_channel && !anonymous && reporters_choice != Some(false)
}

/// A coordinate as the public sees it: rounded to 0.001° (about 110 m north–south).
pub fn coarse(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

/// A free text as the public sees it: phones, identity numbers and e-mail addresses masked.
pub fn text(s: &str) -> String {
    mask::in_text(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rule() {
        assert!(at_intake("app", false, None));
        assert!(!at_intake("app", false, Some(false)), "the reporter's choice");
        assert!(!at_intake("app", true, Some(true)), "anonymous reports are not public");
        assert!(!at_intake("hotline", false, None));
        assert!(!at_intake("import", false, None));
        assert!(at_intake("open311", false, None));
        assert_eq!(coarse(117.201_234_5), 117.201);
        assert_eq!(coarse(39.123_56), 39.124);
    }
}
