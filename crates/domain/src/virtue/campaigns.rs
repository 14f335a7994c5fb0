//! 文明评选: a campaign of a territory names an honour (文明家庭, 文明个人, 最美志愿者,
//! 文明社区 …), its criteria and how many places it has. It runs in stages, each opened by the
//! committee only once the one before has run its course:
//!
//! nominating → voting → publicity (公示) → awarded
//!
//! Nominations come from the nominee themselves, from a neighbour or from the committee, with
//! the deeds that earn it; a person named by someone else consents before their name is
//! shown. The committee reviews each (accepted or rejected, with its reason). The residents
//! of the territory vote, one vote each per campaign; the most voted take the places (a tie
//! at the last place takes it together). During the publicity period any resident may object
//! to a proposed winner; the committee answers every objection, and one upheld strikes the
//! nominee. The award is given when the period is over and every objection answered.

use crate::Invalid;

/// Who or what a campaign honours.
pub const KINDS: &[(&str, &str)] = &[("person", "个人"), ("household", "家庭"), ("community", "社区")];

/// Who put a nomination forward.
pub const BY: &[(&str, &str)] = &[("self", "自荐"), ("neighbour", "邻里推荐"), ("committee", "组织推荐")];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Nominating,
    Voting,
    Publicity,
    Awarded,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Nominating => "nominating",
            Stage::Voting => "voting",
            Stage::Publicity => "publicity",
            Stage::Awarded => "awarded",
        }
    }
    pub fn parse(s: &str) -> Option<Stage> {
        [Stage::Nominating, Stage::Voting, Stage::Publicity, Stage::Awarded].into_iter().find(|x| x.as_str() == s)
    }
    /// The stage that follows.
    pub fn next(self) -> Option<Stage> {
        match self {
            Stage::Nominating => Some(Stage::Voting),
            Stage::Voting => Some(Stage::Publicity),
            Stage::Publicity => Some(Stage::Awarded),
            Stage::Awarded => None,
        }
    }
}

/// A nomination's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// Named by someone else; waits for the nominee's consent.
    AwaitingConsent,
    /// Waits for the committee's review.
    Submitted,
    /// Stands in the vote.
    Accepted,
    Rejected,
    /// The nominee did not consent.
    Declined,
    /// Took a place in the vote; in publicity.
    Proposed,
    /// An objection to it was upheld.
    Struck,
    Awarded,
}

impl Standing {
    pub const ALL: [Standing; 8] = [
        Standing::AwaitingConsent,
        Standing::Submitted,
        Standing::Accepted,
        Standing::Rejected,
        Standing::Declined,
        Standing::Proposed,
        Standing::Struck,
        Standing::Awarded,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Standing::AwaitingConsent => "awaiting_consent",
            Standing::Submitted => "submitted",
            Standing::Accepted => "accepted",
            Standing::Rejected => "rejected",
            Standing::Declined => "declined",
            Standing::Proposed => "proposed",
            Standing::Struck => "struck",
            Standing::Awarded => "awarded",
        }
    }
    pub fn parse(s: &str) -> Option<Standing> {
        Standing::ALL.into_iter().find(|x| x.as_str() == s)
    }
    /// Whether the public sees it: the nominee consented and the committee accepted it.
    pub fn public(self) -> bool {
        matches!(self, Standing::Accepted | Standing::Proposed | Standing::Struck | Standing::Awarded)
    }
}

/// The winners of a vote: the `places` most voted among `(id, votes)`, none without a vote; a
/// tie at the last place takes it together, so nobody loses by the order rows were read in.
pub fn winners(votes: &[(i64, i64)], places: i64) -> Vec<i64> {
    let mut v: Vec<(i64, i64)> = votes.iter().copied().filter(|(_, n)| *n > 0).collect();
    v.sort_by_key(|(id, n)| (std::cmp::Reverse(*n), *id));
    let Some(cut) = usize::try_from(places).ok().filter(|p| *p > 0).and_then(|p| v.get(p - 1)).map(|(_, n)| *n) else {
        return v.into_iter().map(|(id, _)| id).collect();
    };
    v.into_iter().filter(|(_, n)| *n >= cut).map(|(id, _)| id).collect()
}

/// How many places: 1–100.
pub fn places(field: &str, v: i64) -> Result<i64, Invalid> {
    if (1..=100).contains(&v) { Ok(v) } else { Err(Invalid::new(field, format!("{v} is outside 1–100"))) }
}

/// Days of a stage: 1–30.
pub fn days(field: &str, v: i64) -> Result<i64, Invalid> {
    if (1..=30).contains(&v) { Ok(v) } else { Err(Invalid::new(field, format!("{v} is outside 1–30"))) }
}

/// How a winner is shown on the honours board: a person by name, a household as the family
/// of the person named (王建国家庭), a community by its name.
pub fn shown_name(kind: &str, name: &str) -> String {
    if kind == "household" { format!("{name}家庭") } else { name.to_owned() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_most_voted_take_the_places_and_a_tie_at_the_last_shares_it() {
        assert_eq!(winners(&[(1, 3), (2, 5), (3, 1), (4, 0)], 2), [2, 1]);
        assert_eq!(winners(&[(1, 3), (2, 5), (3, 3)], 2), [2, 1, 3], "a tie at the last place");
        assert_eq!(winners(&[(1, 0), (2, 0)], 1), Vec::<i64>::new(), "no vote, no place");
        assert_eq!(winners(&[(1, 2)], 5), [1], "fewer nominees than places");
    }

    #[test]
    fn stages_run_in_order_and_only_consented_accepted_nominations_are_public() {
        assert_eq!(Stage::Nominating.next(), Some(Stage::Voting));
        assert_eq!(Stage::Awarded.next(), None);
        assert_eq!(Stage::parse("publicity"), Some(Stage::Publicity));
        assert!(!Standing::AwaitingConsent.public() && !Standing::Submitted.public() && !Standing::Rejected.public());
        assert!(Standing::Proposed.public());
        assert!(Standing::ALL.iter().all(|s| Standing::parse(s.as_str()) == Some(*s)));
    }

    #[test]
    fn bounds_name_their_field() {
        assert_eq!(places("places", 0).unwrap_err().field, "places");
        assert!(days("publicity_days", 31).is_err());
        assert_eq!(shown_name("household", "王建国"), "王建国家庭");
        assert_eq!(shown_name("person", "王建国"), "王建国");
    }
}
