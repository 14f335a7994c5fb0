//! 向群众汇报: a street's or community's leader reports to the residents of a territory (a
//! meeting, or a series of home visits — 来家坐坐), publishes what was done and what is
//! promised; each promise is a commitment whose progress is tracked; the residents of that
//! territory rate the report and, once it is due or done, each commitment — one rating per
//! resident, anonymous by construction (the store keeps who rated apart from counts of each
//! score, never a row linking the two), shown only as aggregates with their count.

use crate::Invalid;

/// How the report reaches the residents.
pub const WAYS: &[(&str, &str)] = &[("meeting", "居民会议"), ("home_visits", "入户汇报（来家坐坐）")];

/// A rating: 1 (不满意) to 5 (非常满意).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Score(u8);

impl Score {
    pub fn parse(field: &str, v: i64) -> Result<Score, Invalid> {
        if (1..=5).contains(&v) {
            Ok(Score(v as u8))
        } else {
            Err(Invalid::new(field, format!("{v} is outside 1–5")))
        }
    }
    pub fn get(self) -> i64 {
        i64::from(self.0)
    }
}

/// What the public sees of the ratings: how many rated, the mean and the share satisfied
/// (4 or 5), from the counts of each score; nothing when too few rated to keep anyone's
/// rating from being told (`min_shown`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Aggregate {
    pub count: i64,
    pub mean: Option<f64>,
    pub satisfied_share: Option<f64>,
}

/// Fewer ratings than this show only their count.
pub const MIN_SHOWN: i64 = 3;

pub fn aggregate(counts: &[(i64, i64)]) -> Aggregate {
    let count: i64 = counts.iter().map(|(_, n)| n).sum();
    if count < MIN_SHOWN {
        return Aggregate { count, mean: None, satisfied_share: None };
    }
    let sum: i64 = counts.iter().map(|(s, n)| s * n).sum();
    let satisfied: i64 = counts.iter().filter(|(s, _)| *s >= 4).map(|(_, n)| n).sum();
    Aggregate {
        count,
        mean: Some((sum as f64 / count as f64 * 100.0).round() / 100.0),
        satisfied_share: Some((satisfied as f64 / count as f64 * 1000.0).round() / 1000.0),
    }
}

/// Progress of a commitment: 0–100 per cent.
pub fn progress(field: &str, v: i64) -> Result<i64, Invalid> {
    if (0..=100).contains(&v) { Ok(v) } else { Err(Invalid::new(field, format!("{v} is outside 0–100"))) }
}

/// A commitment is rated once it is done or due: residents judge what happened, not a plan.
pub fn commitment_ratable(progress: i64, due_ms: i64, now_ms: i64) -> bool {
    progress == 100 || now_ms >= due_ms
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_are_one_to_five() {
        assert!(Score::parse("score", 0).is_err());
        assert_eq!(Score::parse("score", 5).unwrap().get(), 5);
        assert_eq!(Score::parse("score", 6).unwrap_err().field, "score");
    }

    #[test]
    fn aggregates_hide_the_figures_until_enough_rated() {
        assert_eq!(aggregate(&[(5, 2)]), Aggregate { count: 2, mean: None, satisfied_share: None });
        let a = aggregate(&[(5, 2), (4, 1), (1, 1)]);
        assert_eq!((a.count, a.mean, a.satisfied_share), (4, Some(3.75), Some(0.75)));
    }

    #[test]
    fn a_commitment_is_rated_when_done_or_due() {
        assert!(!commitment_ratable(60, 100, 99));
        assert!(commitment_ratable(60, 100, 100));
        assert!(commitment_ratable(100, 100, 0));
        assert!(progress("progress", 101).is_err());
    }
}
