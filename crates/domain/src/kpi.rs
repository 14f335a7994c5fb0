//! Performance indicators (绩效评价) by the digital city management standards' formulas,
//! computed from counts over a cohort of cases filed in a period:
//!
//! - 结案率 = 结案数 / 应结案数; 按期结案率 = 按期结案数 / 应结案数;
//!   超期结案率 = 超期结案数 / 应结案数; 返工率 = 返工数 / 应结案数;
//! - 按时立案率 = 按时立案数 / 立案数;
//! - 准确派遣率 = (派遣数 − 退回数) / 派遣数;
//! - 满意率 = (满意 + 基本满意) / 评价数;
//! - mean and 90th-percentile handling time (filing to closing) of closed cases.
//!
//! 应结案数 counts the filed cases that are closed or whose current stage is past due at
//! the end of the period; parked (挂账) cases are not due.

use crate::cases::{CaseState, Event, Satisfaction, Status};
use serde::Serialize;

/// A yes/no column of a case's projection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flag {
    FiledLate,
    ClosedLate,
}

/// A count column of a case's projection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tally {
    Reworks,
    Dispatches,
    TotalReturns,
}

/// A condition on one case's projection. Written once here and read two ways: the store
/// turns it into SQL for bulk sums and rebuilds, and evaluates it on a row for the roll-up
/// difference each write applies, so both always count the same thing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cond {
    Always,
    /// Filed (立案) at some time.
    Filed,
    StatusIs(Status),
    StatusIsNot(Status),
    Not(Flag),
    Is(Flag),
    Positive(Tally),
    /// Rated by the reporter.
    Rated,
    /// Rated satisfied or basically satisfied.
    Satisfied,
    And(&'static Cond, &'static Cond),
}

/// What a counter adds for a case that meets its condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Amount {
    One,
    Tally(Tally),
    /// Closing time − filing time.
    HandlingMs,
}

/// One counter of [`Counts`]: a case that meets `when` adds `amount`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counter {
    pub name: &'static str,
    pub when: Cond,
    pub amount: Amount,
}

/// The cases an evaluation counts: filed ones, except those merged into another (counted
/// once, as their main case).
pub const COHORT: Cond = Cond::And(&Cond::Filed, &Cond::StatusIsNot(Status::Merged));

const CLOSED: Cond = Cond::StatusIs(Status::Closed);

/// The counters summed over a cohort, in the order of the fields of [`Counts`] without
/// `should_close` (which depends on the end of the period: [`Status::awaiting_closure`]).
pub const COUNTERS: [Counter; 11] = [
    Counter { name: "filed", when: Cond::Always, amount: Amount::One },
    Counter { name: "filed_on_time", when: Cond::Not(Flag::FiledLate), amount: Amount::One },
    Counter { name: "closed", when: CLOSED, amount: Amount::One },
    Counter { name: "closed_on_time", when: Cond::And(&CLOSED, &Cond::Not(Flag::ClosedLate)), amount: Amount::One },
    Counter { name: "closed_late", when: Cond::And(&CLOSED, &Cond::Is(Flag::ClosedLate)), amount: Amount::One },
    Counter { name: "reworked", when: Cond::Positive(Tally::Reworks), amount: Amount::One },
    Counter { name: "dispatches", when: Cond::Always, amount: Amount::Tally(Tally::Dispatches) },
    Counter { name: "returns", when: Cond::Always, amount: Amount::Tally(Tally::TotalReturns) },
    Counter { name: "rated", when: Cond::Rated, amount: Amount::One },
    Counter { name: "satisfied", when: Cond::Satisfied, amount: Amount::One },
    Counter { name: "handling_ms", when: CLOSED, amount: Amount::HandlingMs },
];

impl Counts {
    /// The counts from the values of [`COUNTERS`], in their order.
    pub fn from_counters(v: [i64; 11]) -> Counts {
        Counts {
            filed: v[0],
            filed_on_time: v[1],
            should_close: 0,
            closed: v[2],
            closed_on_time: v[3],
            closed_late: v[4],
            reworked: v[5],
            dispatches: v[6],
            returns: v[7],
            rated: v[8],
            satisfied: v[9],
            handling_ms_total: v[10],
        }
    }
}

/// 准确派遣率 per unit: each dispatch counts for the unit the case was sent to, and each
/// return against the unit that returned it (not the case's owner at the end). The change
/// `event` makes to a case in state `before`: (unit, dispatches, returns).
pub fn unit_tally(before: &CaseState, event: &Event) -> Option<(i64, i64, i64)> {
    match event {
        Event::Dispatched { org, .. } | Event::Escalated { org, .. } => Some((*org, 1, 0)),
        Event::JointAssigned { lead, .. } => Some((*lead, 1, 0)),
        Event::Returned { .. } => before.owner_org.map(|o| (o, 0, 1)),
        _ => None,
    }
}

impl Satisfaction {
    /// Counts towards 满意率.
    pub fn counts_as_satisfied(self) -> bool {
        matches!(self, Satisfaction::Satisfied | Satisfaction::BasicallySatisfied)
    }
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// 立案数
    pub filed: i64,
    pub filed_on_time: i64,
    /// 应结案数
    pub should_close: i64,
    /// 结案数
    pub closed: i64,
    pub closed_on_time: i64,
    pub closed_late: i64,
    /// Cases sent back for rework at least once.
    pub reworked: i64,
    pub dispatches: i64,
    pub returns: i64,
    pub rated: i64,
    /// Satisfied or basically satisfied.
    pub satisfied: i64,
    /// Sum over closed cases of closing time − filing time.
    pub handling_ms_total: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Indicators {
    #[serde(flatten)]
    pub counts: Counts,
    /// 结案率
    pub closing_rate: Option<f64>,
    /// 按期结案率
    pub on_time_closing_rate: Option<f64>,
    /// 超期结案率
    pub late_closing_rate: Option<f64>,
    /// 返工率
    pub rework_rate: Option<f64>,
    /// 按时立案率
    pub on_time_filing_rate: Option<f64>,
    /// 准确派遣率
    pub accurate_dispatch_rate: Option<f64>,
    /// 满意率
    pub satisfaction_rate: Option<f64>,
    pub mean_handling_hours: Option<f64>,
    pub p90_handling_hours: Option<f64>,
}

/// A share, rounded to four places; `None` when there is nothing to divide by.
pub fn ratio(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| (part as f64 / whole as f64 * 10_000.0).round() / 10_000.0)
}

fn hours(ms: f64) -> f64 {
    (ms / 3_600_000.0 * 100.0).round() / 100.0
}

pub fn indicators(c: Counts, p90_handling_ms: Option<i64>) -> Indicators {
    Indicators {
        counts: c,
        closing_rate: ratio(c.closed, c.should_close),
        on_time_closing_rate: ratio(c.closed_on_time, c.should_close),
        late_closing_rate: ratio(c.closed_late, c.should_close),
        rework_rate: ratio(c.reworked, c.should_close),
        on_time_filing_rate: ratio(c.filed_on_time, c.filed),
        accurate_dispatch_rate: ratio(c.dispatches - c.returns, c.dispatches),
        satisfaction_rate: ratio(c.satisfied, c.rated),
        mean_handling_hours: (c.closed > 0).then(|| hours(c.handling_ms_total as f64 / c.closed as f64)),
        p90_handling_hours: p90_handling_ms.map(|m| hours(m as f64)),
    }
}

/// The offset of the 90th percentile in `n` sorted values (nearest rank).
pub fn p90_offset(n: i64) -> Option<i64> {
    (n > 0).then(|| ((n as f64 * 0.9).ceil() as i64 - 1).max(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_by_hand() {
        let c = Counts {
            filed: 10,
            filed_on_time: 9,
            should_close: 8,
            closed: 6,
            closed_on_time: 5,
            closed_late: 1,
            reworked: 2,
            dispatches: 12,
            returns: 3,
            rated: 4,
            satisfied: 3,
            handling_ms_total: 6 * 2 * 3_600_000,
        };
        let i = indicators(c, Some(3 * 3_600_000));
        assert_eq!(i.closing_rate, Some(0.75));
        assert_eq!(i.on_time_closing_rate, Some(0.625));
        assert_eq!(i.late_closing_rate, Some(0.125));
        assert_eq!(i.rework_rate, Some(0.25));
        assert_eq!(i.on_time_filing_rate, Some(0.9));
        assert_eq!(i.accurate_dispatch_rate, Some(0.75));
        assert_eq!(i.satisfaction_rate, Some(0.75));
        assert_eq!(i.mean_handling_hours, Some(2.0));
        assert_eq!(i.p90_handling_hours, Some(3.0));
        let none = indicators(Counts::default(), None);
        assert_eq!((none.closing_rate, none.mean_handling_hours), (None, None));
        assert_eq!(ratio(1, 3), Some(0.3333));
    }

    #[test]
    fn p90_is_the_nearest_rank() {
        assert_eq!(p90_offset(0), None);
        assert_eq!(p90_offset(1), Some(0));
        assert_eq!(p90_offset(10), Some(8));
        assert_eq!(p90_offset(11), Some(9));
    }
}
