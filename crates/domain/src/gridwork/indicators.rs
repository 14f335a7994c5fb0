//! The indicators of grid work (网格工作指标) for a territory and a period — outcomes, summed
//! over the territory, never per person:
//!
//! - 巡查覆盖率 = grids patrolled at least once / grids;
//! - 发现问题数 = cases reported from the grids by grid workers and stewards (the case hub's
//!   own count of their channel; a need a visit raised is counted as a need, not here), of
//!   which 自处率 = fixed on the spot / found;
//! - 走访完成率 = households visited in the period / households the plan made due in it;
//! - 重点工作按期完成率 = key-task shares done on time / shares due in the period or done in
//!   it early.

use serde::Serialize;

/// The counts the store sums for a territory and period.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub grids: i64,
    pub grids_patrolled: i64,
    pub patrols: i64,
    pub found: i64,
    pub fixed_on_spot: i64,
    pub households_due: i64,
    pub households_visited: i64,
    pub visits: i64,
    pub needs_raised: i64,
    pub notes: i64,
    pub shares_due: i64,
    pub shares_done_on_time: i64,
    pub shares_overdue: i64,
}

/// A share, or none when nothing was to be counted.
pub fn rate(num: i64, den: i64) -> Option<f64> {
    (den > 0).then(|| (num as f64 / den as f64 * 10_000.0).round() / 10_000.0)
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Rates {
    pub patrol_coverage: Option<f64>,
    pub self_fix_rate: Option<f64>,
    pub visit_rate: Option<f64>,
    pub key_task_on_time_rate: Option<f64>,
}

impl Counts {
    pub fn rates(&self) -> Rates {
        Rates {
            patrol_coverage: rate(self.grids_patrolled, self.grids),
            self_fix_rate: rate(self.fixed_on_spot, self.found),
            visit_rate: rate(self.households_visited.min(self.households_due), self.households_due),
            key_task_on_time_rate: rate(self.shares_done_on_time, self.shares_due),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_follow_their_formulas_and_say_nothing_of_nothing() {
        let c = Counts {
            grids: 4,
            grids_patrolled: 3,
            found: 8,
            fixed_on_spot: 2,
            households_due: 10,
            households_visited: 12,
            shares_due: 3,
            shares_done_on_time: 1,
            ..Default::default()
        };
        let r = c.rates();
        assert_eq!(r.patrol_coverage, Some(0.75));
        assert_eq!(r.self_fix_rate, Some(0.25));
        // Visiting more than the plan asked does not make more than all of it.
        assert_eq!(r.visit_rate, Some(1.0));
        assert_eq!(r.key_task_on_time_rate, Some(0.3333));
        assert_eq!(Counts::default().rates().patrol_coverage, None);
    }
}
