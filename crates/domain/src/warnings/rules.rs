//! The detectors' parameters as data. The city's set applies everywhere; a territory may have
//! its own (a whole set, copied from its parent's and edited), which then applies inside it:
//! the most specific territory's set wins. Each set has a version, written into the evidence
//! of every warning it raised, so a warning says which rule raised it.
//!
//! The lexicon of sensitive words is data too: each entry a phrase, its class and its level,
//! optionally confined to some categories (a phrase that means danger only in those).

use super::Level;
use crate::Invalid;
use serde::{Deserialize, Serialize};

/// Counts at which a warning rises to yellow, orange and red (it is raised blue).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Levels {
    pub yellow: u32,
    pub orange: u32,
    pub red: u32,
}

impl Levels {
    pub fn level(&self, count: u32) -> Level {
        if count >= self.red {
            Level::Red
        } else if count >= self.orange {
            Level::Orange
        } else if count >= self.yellow {
            Level::Yellow
        } else {
            Level::Blue
        }
    }
    fn check(&self, field: &str, min: u32) -> Result<(), Invalid> {
        if !(min <= self.yellow && self.yellow <= self.orange && self.orange <= self.red) {
            return Err(Invalid::new(
                format!("{field}.levels"),
                format!("needs {min} ≤ yellow ≤ orange ≤ red (got {}, {}, {})", self.yellow, self.orange, self.red),
            ));
        }
        Ok(())
    }
}

/// 突增: counts per territory (grid, community, township, district) × category (each level of
/// the tree, and all categories) in a one-hour and a one-day window, against a baseline that
/// knows the day type and the hour.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpikeParams {
    pub enabled: bool,
    /// Fewest reports in the window for a spike.
    pub min_count: u32,
    /// Observed at least this many times the expected count.
    pub min_ratio: f64,
    /// The chance of seeing as many under the baseline (Poisson) must be below this.
    pub max_p: f64,
    /// How fast the baseline forgets (an exponentially weighted daily rate).
    pub half_life_days: f64,
    /// The baseline's floor: no cell is expected to be quieter than this many reports a day.
    pub floor_per_day: f64,
    /// Days of history the detector needs before it raises spikes at all.
    pub min_history_days: u32,
    pub levels: Levels,
}

/// 重复诉求: the same person, phone, building or address raising the same matter (the same
/// top-level category) again within `days`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RepeatParams {
    pub enabled: bool,
    pub days: u32,
    /// Reports of the matter (this one included) that raise a warning.
    pub min_count: u32,
    pub levels: Levels,
}

/// 久拖未决: a case reopened this many times.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnsolvedParams {
    pub enabled: bool,
    pub reopenings: u32,
    pub level: Level,
}

/// 敏感事项: reports matching the lexicon, one warning per class and grid while it is open.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SensitiveParams {
    pub enabled: bool,
    /// Reports of one class in one grid within this window count together.
    pub window_minutes: u32,
    /// Matching reports in the window that raise the warning one level above its entry's.
    pub raise_after: u32,
}

/// 单位异常: overdue marks or returns at one unit within a day, against its usual level.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnitParams {
    pub enabled: bool,
    pub min_count: u32,
    pub min_ratio: f64,
    pub max_p: f64,
    pub levels: Levels,
}

/// 感知设备告警: device alarms in one community or township within the window.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StormParams {
    pub enabled: bool,
    pub window_minutes: u32,
    pub min_count: u32,
    pub levels: Levels,
}

/// Every detector's parameters for one territory.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    pub spike: SpikeParams,
    pub repeat: RepeatParams,
    pub unsolved: UnsolvedParams,
    pub sensitive: SensitiveParams,
    pub failing_unit: UnitParams,
    pub sensor_storm: StormParams,
}

impl Default for Params {
    /// The shipped set, chosen on the benchmark (`wuzhi bench warnings`, BENCHMARKS.md).
    fn default() -> Params {
        DEFAULT
    }
}

impl Params {
    /// Checks every value, naming the first bad one by its path (`spike.max_p`).
    pub fn check(&self) -> Result<(), Invalid> {
        let s = &self.spike;
        let bad = |f: &str, why: &str| Err(Invalid::new(f.to_owned(), why.to_owned()));
        if s.min_count < 2 {
            return bad("spike.min_count", "must be at least 2");
        }
        if !(s.min_ratio >= 1.0 && s.min_ratio <= 1000.0) {
            return bad("spike.min_ratio", "must be between 1 and 1000");
        }
        if !(s.max_p > 0.0 && s.max_p < 0.5) {
            return bad("spike.max_p", "must be above 0 and below 0.5");
        }
        if !(s.half_life_days >= 1.0 && s.half_life_days <= 365.0) {
            return bad("spike.half_life_days", "must be between 1 and 365");
        }
        if !(s.floor_per_day > 0.0 && s.floor_per_day <= 100.0) {
            return bad("spike.floor_per_day", "must be above 0 and at most 100");
        }
        if s.min_history_days > 365 {
            return bad("spike.min_history_days", "must be at most 365");
        }
        s.levels.check("spike", s.min_count)?;
        let r = &self.repeat;
        if !(1..=365).contains(&r.days) {
            return bad("repeat.days", "must be between 1 and 365");
        }
        if r.min_count < 2 {
            return bad("repeat.min_count", "must be at least 2");
        }
        r.levels.check("repeat", r.min_count)?;
        if self.unsolved.reopenings < 1 {
            return bad("unsolved.reopenings", "must be at least 1");
        }
        let se = &self.sensitive;
        if !(1..=1440).contains(&se.window_minutes) {
            return bad("sensitive.window_minutes", "must be between 1 and 1440");
        }
        if se.raise_after < 2 {
            return bad("sensitive.raise_after", "must be at least 2");
        }
        let u = &self.failing_unit;
        if u.min_count < 2 {
            return bad("failing_unit.min_count", "must be at least 2");
        }
        if !(u.min_ratio >= 1.0 && u.min_ratio <= 1000.0) {
            return bad("failing_unit.min_ratio", "must be between 1 and 1000");
        }
        if !(u.max_p > 0.0 && u.max_p < 0.5) {
            return bad("failing_unit.max_p", "must be above 0 and below 0.5");
        }
        u.levels.check("failing_unit", u.min_count)?;
        let st = &self.sensor_storm;
        if !(5..=60).contains(&st.window_minutes) || !st.window_minutes.is_multiple_of(5) {
            return bad("sensor_storm.window_minutes", "must be 5, 10, … 60");
        }
        if st.min_count < 2 {
            return bad("sensor_storm.min_count", "must be at least 2");
        }
        st.levels.check("sensor_storm", st.min_count)?;
        Ok(())
    }
}

/// The parameters in force: the city's set and the territories' own, each with its version.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleSet {
    /// (territory code, its set, its version), the city's first; looked up by longest prefix.
    pub sets: Vec<(String, Params, i64)>,
}

impl Default for RuleSet {
    fn default() -> RuleSet {
        RuleSet { sets: vec![(String::new(), Params::default(), 0)] }
    }
}

impl RuleSet {
    /// The set that applies in `territory` and its version: the most specific territory's.
    pub fn for_territory(&self, territory: &str) -> (&Params, i64) {
        let mut best: Option<&(String, Params, i64)> = None;
        for s in &self.sets {
            if territory.starts_with(s.0.as_str()) && best.is_none_or(|b| s.0.len() > b.0.len()) {
                best = Some(s);
            }
        }
        match best {
            Some((_, p, v)) => (p, *v),
            None => (&DEFAULT, 0),
        }
    }
}

/// The shipped set, chosen on the benchmark (`wuzhi bench warnings`, BENCHMARKS.md).
static DEFAULT: Params = Params {
    spike: SpikeParams {
        enabled: true,
        min_count: 3,
        min_ratio: 4.0,
        // Every grid, community, street and district is tested every hour for every category
        // level: some 10⁷ tests a month in a city, so the chance must be far below 1e-6 for
        // the false alarms to stay few (BENCHMARKS.md).
        max_p: 1e-9,
        half_life_days: 14.0,
        floor_per_day: 1.0 / 30.0,
        min_history_days: 7,
        levels: Levels { yellow: 5, orange: 10, red: 20 },
    },
    repeat: RepeatParams { enabled: true, days: 30, min_count: 3, levels: Levels { yellow: 5, orange: 7, red: 9 } },
    unsolved: UnsolvedParams { enabled: true, reopenings: 2, level: Level::Yellow },
    sensitive: SensitiveParams { enabled: true, window_minutes: 60, raise_after: 3 },
    failing_unit: UnitParams {
        enabled: true,
        min_count: 5,
        min_ratio: 3.0,
        max_p: 1e-6,
        levels: Levels { yellow: 10, orange: 20, red: 40 },
    },
    sensor_storm: StormParams {
        enabled: true,
        window_minutes: 30,
        min_count: 5,
        levels: Levels { yellow: 8, orange: 15, red: 30 },
    },
};

/// One entry of the sensitive-word lexicon.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LexiconEntry {
    pub phrase: String,
    /// Its class: `life` (danger to life), `group` (group incidents), `safety` (production,
    /// gas and fire safety), or one an administrator adds.
    pub class: String,
    pub level: Level,
    /// Category codes the phrase counts in (it and their subtrees); empty: every category.
    pub categories: Vec<String>,
}

impl LexiconEntry {
    pub fn new(phrase: &str, class: &str, level: Level, categories: Vec<String>) -> Result<LexiconEntry, Invalid> {
        let phrase = phrase.trim();
        let n = phrase.chars().count();
        if !(2..=20).contains(&n) {
            return Err(Invalid::new("phrase", "must be 2–20 characters"));
        }
        let class = class.trim();
        if class.is_empty() || class.len() > 32 || !class.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
            return Err(Invalid::new("class", "must be 1–32 lower-case letters or _"));
        }
        Ok(LexiconEntry { phrase: phrase.to_owned(), class: class.to_owned(), level, categories })
    }
}

/// The lexicon a new database starts with: phrases of the three classes the city names (danger
/// to life, group incidents, production and gas safety), as residents write them.
pub const DEFAULT_LEXICON: &[(&str, &str, Level)] = &[
    ("自杀", "life", Level::Red),
    ("轻生", "life", Level::Red),
    ("跳楼", "life", Level::Red),
    ("不想活", "life", Level::Red),
    ("寻短见", "life", Level::Red),
    ("割腕", "life", Level::Red),
    ("喝农药", "life", Level::Red),
    ("同归于尽", "life", Level::Red),
    ("家暴", "life", Level::Orange),
    ("持刀", "life", Level::Red),
    ("人员聚集", "group", Level::Orange),
    ("群众聚集", "group", Level::Orange),
    ("聚集维权", "group", Level::Orange),
    ("聚众", "group", Level::Yellow),
    ("集体上访", "group", Level::Red),
    ("群体上访", "group", Level::Red),
    ("讨薪", "group", Level::Yellow),
    ("拖欠工资", "group", Level::Yellow),
    ("拉横幅", "group", Level::Orange),
    ("堵路", "group", Level::Yellow),
    ("围堵", "group", Level::Yellow),
    ("静坐", "group", Level::Orange),
    ("爆炸", "safety", Level::Yellow),
    ("燃气泄漏", "safety", Level::Red),
    ("煤气泄漏", "safety", Level::Red),
    ("天然气泄漏", "safety", Level::Red),
    ("燃气味", "safety", Level::Orange),
    ("煤气味", "safety", Level::Orange),
    ("火灾", "safety", Level::Yellow),
    ("着火", "safety", Level::Red),
    ("起火", "safety", Level::Yellow),
    ("冒烟", "safety", Level::Yellow),
    ("坍塌", "safety", Level::Yellow),
    ("塌陷", "safety", Level::Orange),
    ("触电", "safety", Level::Orange),
    ("漏电", "safety", Level::Orange),
    ("危险化学品", "safety", Level::Orange),
    ("电梯困人", "safety", Level::Orange),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_most_specific_territory_set_applies_and_bad_values_are_named() {
        let mut quiet = Params::default();
        quiet.spike.min_count = 6;
        let set = RuleSet { sets: vec![(String::new(), Params::default(), 1), ("120101001".into(), quiet, 4)] };
        assert_eq!(set.for_territory("120101001002003").0.spike.min_count, 6);
        assert_eq!(set.for_territory("120101001002003").1, 4);
        assert_eq!(set.for_territory("120101002001001").0.spike.min_count, 3);
        assert!(Params::default().check().is_ok());
        let mut bad = Params::default();
        bad.spike.max_p = 0.0;
        assert_eq!(bad.check().unwrap_err().field, "spike.max_p");
        let mut bad = Params::default();
        bad.repeat.levels.yellow = 1;
        assert_eq!(bad.check().unwrap_err().field, "repeat.levels");
        assert_eq!(Levels { yellow: 5, orange: 10, red: 20 }.level(10), Level::Orange);
        assert!(LexiconEntry::new("火", "safety", Level::Red, vec![]).is_err());
        assert!(LexiconEntry::new("火灾", "Safety!", Level::Red, vec![]).is_err());
    }
}
