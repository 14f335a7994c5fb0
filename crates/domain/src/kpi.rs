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

use serde::Serialize;

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
