//! Risk early warning (风险隐患监测预警): detectors over the case stream that notice what no
//! person can — a burst of related reports in one place, the same caller again and again, a
//! word that signals danger to life, a unit whose overdue cases pile up, a storm of sensor
//! alarms — and the warning each raises, a work item with its own lifecycle.
//!
//! - [`rules`]: every detector's parameters as data, per territory, and the sensitive-word
//!   lexicon's entries;
//! - [`detect`]: the detectors themselves, one pure engine fed observations in time order
//!   (live from the outbox, or from a CSV in a replay) that emits signals with their evidence;
//! - [`flow`]: the warning's workflow (new → acknowledged → assigned → resolved or false alarm).

pub mod detect;
pub mod flow;
pub mod rules;

use crate::Invalid;
use serde::{Deserialize, Serialize};

/// The four warning levels of Chinese emergency practice, lowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// 蓝色: worth a look.
    Blue,
    /// 黄色
    Yellow,
    /// 橙色: leaders are told at once.
    Orange,
    /// 红色: leaders are told at once, up to the city.
    Red,
}

impl Level {
    pub const ALL: [Level; 4] = [Level::Blue, Level::Yellow, Level::Orange, Level::Red];
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Blue => "blue",
            Level::Yellow => "yellow",
            Level::Orange => "orange",
            Level::Red => "red",
        }
    }
    pub fn parse(field: &str, s: &str) -> Result<Level, Invalid> {
        Level::ALL
            .into_iter()
            .find(|l| l.as_str() == s.trim())
            .ok_or_else(|| Invalid::new(field, format!("`{s}` is not one of blue, yellow, orange, red")))
    }
    /// Whether the territory's leaders are told at once (else in the daily digest).
    pub fn urgent(self) -> bool {
        self >= Level::Orange
    }
    /// One level up (red stays red).
    pub fn up(self) -> Level {
        match self {
            Level::Blue => Level::Yellow,
            Level::Yellow => Level::Orange,
            _ => Level::Red,
        }
    }
}

/// The detectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// 突增: more reports of a kind in a territory than its history leads one to expect.
    Spike,
    /// 重复诉求: the same person, phone, building or address raising the same matter again.
    Repeat,
    /// 久拖未决: a case reopened again and again.
    Unsolved,
    /// 敏感事项: words that signal danger to life, a group incident, a safety hazard.
    Sensitive,
    /// 单位异常: overdue cases or returns piling up at one unit.
    FailingUnit,
    /// 感知设备告警: many device alarms in one area in a short time.
    SensorStorm,
}

impl Rule {
    pub const ALL: [Rule; 6] =
        [Rule::Spike, Rule::Repeat, Rule::Unsolved, Rule::Sensitive, Rule::FailingUnit, Rule::SensorStorm];
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::Spike => "spike",
            Rule::Repeat => "repeat",
            Rule::Unsolved => "unsolved",
            Rule::Sensitive => "sensitive",
            Rule::FailingUnit => "failing_unit",
            Rule::SensorStorm => "sensor_storm",
        }
    }
    pub fn parse(field: &str, s: &str) -> Result<Rule, Invalid> {
        Rule::ALL.into_iter().find(|r| r.as_str() == s.trim()).ok_or_else(|| {
            Invalid::new(
                field,
                format!("`{s}` is not one of spike, repeat, unsolved, sensitive, failing_unit, sensor_storm"),
            )
        })
    }
}
