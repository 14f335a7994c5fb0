//! Grid work and the last mile (网格工作): who works in each grid and when they are on duty,
//! patrols (每日巡) with a track kept only while they run, household visits (经常访) planned
//! from the care groups by editable rules, quick records (及时记), key tasks (重点工作) sent
//! down to every community or grid, and the indicators that judge outcomes — problems found
//! and fixed, households reached, tasks done on time — never pings or people's rankings.

pub mod indicators;
pub mod task;
pub mod track;

use crate::Invalid;
use crate::text::one_of;

/// How someone works in a grid: 小巷管家 (alley steward), 志愿者, 网格员, 楼门长 (building
/// head), 社区民警 (community police officer).
pub const MEMBER_KINDS: &[(&str, &str)] = &[
    ("steward", "小巷管家"),
    ("volunteer", "志愿者"),
    ("grid_worker", "网格员"),
    ("building_head", "楼门长"),
    ("police", "社区民警"),
];

pub fn member_kind(s: &str) -> Result<&'static str, Invalid> {
    one_of("kind", s, MEMBER_KINDS)
}

/// What a quick record (及时记) is about.
pub const NOTE_KINDS: &[(&str, &str)] =
    &[("worry", "居民关切"), ("hazard", "隐患观察"), ("need", "困难需求"), ("other", "其他")];

pub fn note_kind(s: &str) -> Result<&'static str, Invalid> {
    one_of("kind", s, NOTE_KINDS)
}

/// How a visit was made.
pub const VISIT_WAYS: &[(&str, &str)] = &[("home", "入户"), ("phone", "电话"), ("met", "偶遇/约见")];

pub fn visit_way(s: &str) -> Result<&'static str, Invalid> {
    one_of("way", s, VISIT_WAYS)
}

/// What a visit found of the household's situation.
pub const VISIT_OUTCOMES: &[(&str, &str)] =
    &[("well", "情况良好"), ("needs_help", "需要帮助"), ("not_home", "未遇"), ("moved", "已搬离")];

pub fn visit_outcome(s: &str) -> Result<&'static str, Invalid> {
    one_of("outcome", s, VISIT_OUTCOMES)
}

/// One visit rule: households with a member in care group `tag` (or every household, when
/// none) are visited at least every `every_days` days.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct VisitRule {
    pub tag: Option<String>,
    pub every_days: i64,
}

impl VisitRule {
    pub fn parse(tag: Option<&str>, every_days: i64) -> Result<VisitRule, Invalid> {
        let tag = match tag.map(str::trim).filter(|t| !t.is_empty()) {
            None => None,
            Some(t) => {
                let found = crate::classes::tag("tag", t)?;
                if found.2 == crate::classes::Class::Special {
                    // Special groups are followed by their own services, not by neighbourhood
                    // visits planned in the open.
                    return Err(Invalid::new("tag", format!("`{}` is a special group, not a care group", found.0)));
                }
                Some(found.0.to_owned())
            }
        };
        if !(1..=366).contains(&every_days) {
            return Err(Invalid::new("every_days", "must be 1 to 366 days"));
        }
        Ok(VisitRule { tag, every_days })
    }
}

/// The rules a territory starts with (a community edits its own): elderly living alone
/// weekly, empty nesters, the very old and left-behind children fortnightly, the disabled,
/// low-income and entitled households monthly, every household once a year.
pub fn default_rules() -> Vec<VisitRule> {
    [
        (Some("living_alone"), 7),
        (Some("empty_nest"), 14),
        (Some("very_old"), 14),
        (Some("left_behind_child"), 14),
        (Some("disabled"), 30),
        (Some("low_income"), 30),
        (Some("entitled"), 30),
        (None, 365),
    ]
    .into_iter()
    .map(|(t, d)| VisitRule { tag: t.map(str::to_owned), every_days: d })
    .collect()
}

/// How often a household with these care tags is to be visited: the shortest interval of
/// the rules that apply (none when no rule does).
pub fn visit_every(tags: &[String], rules: &[VisitRule]) -> Option<i64> {
    rules.iter().filter(|r| r.tag.as_ref().is_none_or(|t| tags.iter().any(|x| x == t))).map(|r| r.every_days).min()
}

pub const DAY_MS: i64 = 86_400_000;

/// When a household's next visit is due: `every_days` after its last visit, or, never
/// visited, `every_days` after the plan began (`since_ms`).
pub fn next_visit_due(last_visit_ms: Option<i64>, since_ms: i64, every_days: i64) -> i64 {
    last_visit_ms.unwrap_or(since_ms) + every_days * DAY_MS
}

/// A key task's checklist: 1 to 30 items, each a short unique text.
pub fn checklist(items: &[String]) -> Result<Vec<String>, Invalid> {
    if items.is_empty() || items.len() > 30 {
        return Err(Invalid::new("checklist", "must have 1 to 30 items"));
    }
    let mut out: Vec<String> = Vec::with_capacity(items.len());
    for (i, it) in items.iter().enumerate() {
        let t = crate::text::name(&format!("checklist[{i}]"), it, 100)?;
        if out.contains(&t) {
            return Err(Invalid::new(format!("checklist[{i}]"), format!("`{t}` is listed twice")));
        }
        out.push(t);
    }
    Ok(out)
}

/// How long a patrol's track is kept: 30 days, then it is deleted (the patrol's record —
/// when, where, what it found — stays).
pub const TRACK_KEPT_MS: i64 = 30 * DAY_MS;

/// A patrol that was never ended is ended by the system after this long (its track stops
/// being accepted at once).
pub const PATROL_MAX_MS: i64 = 12 * 3_600_000;

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(t: &[&str]) -> Vec<String> {
        t.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_shortest_applicable_rule_wins() {
        let r = default_rules();
        assert_eq!(visit_every(&tags(&["living_alone", "disabled"]), &r), Some(7));
        assert_eq!(visit_every(&tags(&["disabled"]), &r), Some(30));
        assert_eq!(visit_every(&[], &r), Some(365));
        let only_care = vec![VisitRule { tag: Some("disabled".into()), every_days: 30 }];
        assert_eq!(visit_every(&[], &only_care), None);
    }

    #[test]
    fn rules_refuse_special_groups_and_bad_intervals() {
        assert_eq!(VisitRule::parse(Some("独居老人"), 7).unwrap().tag.as_deref(), Some("living_alone"));
        assert_eq!(VisitRule::parse(Some("key_person"), 7).unwrap_err().field, "tag");
        assert_eq!(VisitRule::parse(None, 0).unwrap_err().field, "every_days");
        assert_eq!(VisitRule::parse(Some("nobody"), 7).unwrap_err().field, "tag");
    }

    #[test]
    fn next_visit_counts_from_the_last_one_or_the_plan() {
        assert_eq!(next_visit_due(None, 1_000, 7), 1_000 + 7 * DAY_MS);
        assert_eq!(next_visit_due(Some(5_000), 1_000, 7), 5_000 + 7 * DAY_MS);
    }

    #[test]
    fn checklists_are_short_and_unique() {
        assert!(checklist(&[]).is_err());
        assert_eq!(checklist(&tags(&["燃气表", "燃气表"])).unwrap_err().field, "checklist[1]");
        assert_eq!(checklist(&tags(&[" 燃气表 ", "软管"])).unwrap(), tags(&["燃气表", "软管"]));
    }
}
